/**
 * The metrics interface the inner layers write to. The runtime backs it with prom-client; tests can
 * use `recordingMetrics()` to assert on counts. Names are snake_case without the service prefix.
 */
export type Labels = Readonly<Record<string, string | number>>;

export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: string, labels?: Labels, value?: number): void;
  /** Records one observation of a histogram (seconds for durations, bytes for sizes). */
  observe(name: string, value: number, labels?: Labels): void;
  /** Sets a gauge. */
  gauge(name: string, value: number, labels?: Labels): void;
  /**
   * Notes an event an operator wants to see by itself, not only counted (an error event, a
   * rebalance, a restart of a client): the runtime keeps the latest few of each name for the status
   * page. Field values are shown as given, so they must not carry secrets.
   */
  event(name: EventName, fields: Labels): void;
}

/** The notable events the status page lists. */
export type EventName = 'error_event' | 'rebalance' | 'restart' | 'waiting';

export const noopMetrics: Metrics = {
  count() {},
  observe() {},
  gauge() {},
  event() {},
};

function labelKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/** In-memory metrics for tests: `counts.get('name{label=value}')`. */
export function recordingMetrics(): Metrics & {
  counts: Map<string, number>;
  events: { name: EventName; fields: Labels }[];
  total(name: string): number;
} {
  const counts = new Map<string, number>();
  const events: { name: EventName; fields: Labels }[] = [];
  return {
    counts,
    events,
    event(name, fields) {
      events.push({ name, fields });
    },
    count(name, labels, value = 1) {
      const key = labelKey(name, labels);
      counts.set(key, (counts.get(key) ?? 0) + value);
    },
    observe() {},
    gauge(name, value, labels) {
      counts.set(labelKey(name, labels), value);
    },
    total(name) {
      let sum = 0;
      for (const [key, value] of counts) if (key === name || key.startsWith(`${name}{`)) sum += value;
      return sum;
    },
  };
}
