import type { Registry } from 'prom-client';

/** One series of a metric family: its labels and current value. */
export interface Series {
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly value: number;
}

/**
 * The series of the family `name` as they stand, or `undefined` when no code path has created the
 * family yet (metrics are created on first use), so the page can tell "absent" from "zero".
 */
export async function readFamily(registry: Registry, name: string): Promise<Series[] | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels, value: v.value }));
}

/** The sum of all series, or `undefined` for an absent family. */
export function sumAll(series: readonly Series[] | undefined): number | undefined {
  return series?.reduce((sum, s) => sum + s.value, 0);
}

/** The series summed per value of `label` (a series without it counts under `fallback`). */
export function sumBy(series: readonly Series[], label: string, fallback = 'unknown'): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of series) {
    const key = String(s.labels[label] ?? fallback);
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}
