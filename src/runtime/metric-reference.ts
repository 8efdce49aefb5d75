import { METRIC_FAMILIES, type MetricFamily } from './metric-catalog.js';

/**
 * README's table of metric families, made from the catalogue: `npm run docs:config` writes it
 * between its markers, and a test fails when README and catalogue disagree.
 */
export function metricTable(families: readonly MetricFamily[] = METRIC_FAMILIES): string {
  const rows = families.map(
    (f) => `| \`${f.name}\` | ${f.type} | ${cell(labelsOf(f))} | ${cell(meaningOf(f))} |`,
  );
  return ['| name | type | labels | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function labelsOf(family: MetricFamily): string {
  if (family.labels.length === 0) return '';
  return family.labels
    .map((label) => {
      const values = family.values?.[label];
      return values ? `\`${label}\` (${values.join(', ')})` : `\`${label}\``;
    })
    .join(', ');
}

function meaningOf(family: MetricFamily): string {
  return family.buckets ? `${family.help} Buckets: ${family.buckets.join(', ')}.` : family.help;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

const START = '<!-- metrics:families -->';
const END = '<!-- /metrics -->';

/** README with its metric table replaced by the catalogue's; `found` is false without the markers. */
export function withMetricReference(readme: string): { text: string; found: boolean } {
  const start = readme.indexOf(START);
  const end = start === -1 ? -1 : readme.indexOf(END, start);
  if (start === -1 || end === -1) return { text: readme, found: false };
  return { text: `${readme.slice(0, start)}${START}\n${metricTable()}\n${readme.slice(end)}`, found: true };
}
