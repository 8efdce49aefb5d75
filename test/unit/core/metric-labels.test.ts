import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DroppedFieldReporter } from '../../../src/core/dropped-fields.js';
import { recordingMetrics } from '../../../src/core/metrics.js';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';

function recordingLogger() {
  const lines: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  return {
    lines,
    warn: (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg }),
  };
}

test('dropped fields are counted without labels and each distinct one is named once in the logs', () => {
  const metrics = recordingMetrics();
  const logger = recordingLogger();
  const reporter = new DroppedFieldReporter(metrics, logger, 3);
  reporter.report('input_fields_dropped_total', ['a', 'b']);
  reporter.report('input_fields_dropped_total', ['a', 'c']);
  reporter.report('output_fields_dropped_total', ['a']);
  assert.deepEqual(
    [...metrics.counts],
    [
      ['input_fields_dropped_total', 4],
      ['output_fields_dropped_total', 1],
    ],
  );
  assert.deepEqual(
    logger.lines.map((l) => `${String(l.obj.metric)}:${String(l.obj.field)}`),
    [
      'input_fields_dropped_total:a',
      'input_fields_dropped_total:b',
      'input_fields_dropped_total:c',
      'output_fields_dropped_total:a',
    ],
  );
});

test('past the bound, new field names are only counted, and one line says so', () => {
  const metrics = recordingMetrics();
  const logger = recordingLogger();
  const reporter = new DroppedFieldReporter(metrics, logger, 5);
  for (let i = 0; i < 1000; i++) reporter.report('input_fields_dropped_total', [`field_${i}`]);
  assert.equal(metrics.counts.get('input_fields_dropped_total'), 1000);
  assert.equal(logger.lines.length, 6);
  assert.match(logger.lines[5]!.msg ?? '', /later ones are only counted/);
});

test('50,000 distinct dropped field names make one series on /metrics, not 50,000', async () => {
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  const reporter = new DroppedFieldReporter(metrics, { warn() {} });
  for (let i = 0; i < 50_000; i++) reporter.report('input_fields_dropped_total', [`revision.new_field_${i}`]);
  const text = await metrics.registry.metrics();
  const series = text.split('\n').filter((l) => l.startsWith('mw_enrich_input_fields_dropped'));
  assert.deepEqual(series, ['mw_enrich_input_fields_dropped_total 50000']);
  const before = (await new PrometheusMetrics(false).registry.metrics()).length;
  assert.ok(text.length - before < 10, `/metrics grew by ${text.length - before} bytes`);
});

test('HTTP status labels come from a closed set whatever status the server sends', async () => {
  const { statusLabel } = await import('../../../src/mediawiki/fetcher.js');
  const labels = new Set<string>();
  for (let status = 0; status < 1000; status++) labels.add(statusLabel(status));
  assert.deepEqual([...labels].sort(), [
    '1xx',
    '200',
    '204',
    '2xx',
    '301',
    '302',
    '304',
    '3xx',
    '400',
    '403',
    '404',
    '408',
    '429',
    '4xx',
    '500',
    '501',
    '502',
    '503',
    '504',
    '5xx',
    'other',
  ]);
});
