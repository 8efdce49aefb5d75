import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_TYPES } from '../../../src/core/errors.js';
import { METRIC_FAMILIES, METRIC_PREFIX, type MetricType } from '../../../src/runtime/metric-catalog.js';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';

/**
 * The families the alert rules, the dashboard and the status page are written against
 * (metrics-spec): name → type and labels. A change here is a change of that contract.
 */
const CONTRACT: Record<string, [MetricType, string[]]> = {
  mw_enrich_records_read_total: ['counter', []],
  mw_enrich_outcomes_total: ['counter', ['outcome', 'page_change_kind']],
  mw_enrich_outcome_reasons_total: ['counter', ['outcome', 'reason']],
  mw_enrich_error_events_total: ['counter', ['error_type']],
  mw_enrich_event_latency_seconds: ['histogram', []],
  mw_enrich_processing_duration_seconds: ['histogram', ['outcome']],
  mw_enrich_records_in_flight: ['gauge', []],
  mw_enrich_in_flight_bytes: ['gauge', []],
  mw_enrich_in_flight_limit: ['gauge', []],
  mw_enrich_oversize_outputs_total: ['counter', []],
  mw_enrich_hidden_content_total: ['counter', ['reason']],
  mw_enrich_input_fields_dropped_total: ['counter', []],
  mw_enrich_mediawiki_requests_total: ['counter', ['status', 'error_type']],
  mw_enrich_mediawiki_request_duration_seconds: ['histogram', ['status']],
  mw_enrich_mediawiki_retries_total: ['counter', ['reason']],
  mw_enrich_mediawiki_batch_revisions: ['histogram', []],
  mw_enrich_mediawiki_revisions_requested_total: ['counter', []],
  mw_enrich_kafka_consumer_lag_records: ['gauge', ['topic', 'partition']],
  mw_enrich_kafka_consumer_lag_seconds: ['gauge', ['topic', 'partition']],
  mw_enrich_kafka_committed_offset: ['gauge', ['topic', 'partition']],
  mw_enrich_kafka_high_watermark_offset: ['gauge', ['topic', 'partition']],
  mw_enrich_kafka_commits_total: ['counter', ['outcome']],
  mw_enrich_kafka_rebalances_total: ['counter', ['kind']],
  mw_enrich_kafka_client_errors_total: ['counter', ['client', 'code']],
  mw_enrich_kafka_produced_records_total: ['counter', ['topic']],
  mw_enrich_kafka_produce_failures_total: ['counter', ['topic', 'code']],
  mw_enrich_kafka_transactions_total: ['counter', ['outcome']],
  mw_enrich_kafka_source_buffered_records: ['gauge', []],
  mw_enrich_kafka_source_buffered_bytes: ['gauge', []],
  mw_enrich_kafka_consumer_restarts_total: ['counter', ['reason']],
  mw_enrich_sse_reconnects_total: ['counter', ['reason']],
  mw_enrich_sse_skipped_events_total: ['counter', []],
  mw_enrich_build_info: ['gauge', ['version', 'job_name']],
  mw_enrich_ready: ['gauge', []],
};

/** Declared beyond the contract: counted before it was written, kept. */
const BEYOND_CONTRACT = ['mw_enrich_output_fields_dropped_total'];

const metrics = () => new PrometheusMetrics({ defaultMetrics: false, strict: true });

test('the catalogue declares every family of the contract, with its type and labels, and nothing else', () => {
  const declared = Object.fromEntries(METRIC_FAMILIES.map((f) => [f.name, [f.type, [...f.labels]]]));
  assert.deepEqual(declared, {
    ...CONTRACT,
    ...Object.fromEntries(BEYOND_CONTRACT.map((name) => [name, declared[name]])),
  });
  assert.equal(new Set(METRIC_FAMILIES.map((f) => f.name)).size, METRIC_FAMILIES.length, 'names are unique');
});

test('names follow the Prometheus conventions: prefix, counters end in _total once, units as suffixes', () => {
  for (const { name, type, labels, buckets, values, help } of METRIC_FAMILIES) {
    assert.match(name, /^mw_enrich_[a-z][a-z0-9_]*[a-z0-9]$/, name);
    assert.ok(name.startsWith(METRIC_PREFIX), name);
    assert.doesNotMatch(name, /_total_total|__/, name);
    assert.equal(name.endsWith('_total'), type === 'counter', `${name}: only counters end in _total`);
    // A unit is a base unit, and it ends the name (before _total).
    assert.doesNotMatch(
      name,
      /_(ms|milliseconds|minutes|hours|kb|mb|kilobytes|megabytes|percent)(_|$)/,
      name,
    );
    const unit = /_(seconds|bytes)(_|$)/.exec(name);
    if (unit) assert.match(name, new RegExp(`_${unit[1]}(_total)?$`), `${name}: the unit is its suffix`);
    assert.equal(buckets !== undefined, type === 'histogram', `${name}: buckets for histograms only`);
    if (buckets) {
      assert.ok(buckets.length > 0, name);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! > buckets[i - 1]!, `${name} ascending`);
    }
    for (const label of labels) {
      assert.match(label, /^[a-z][a-z0-9_]*$/, `${name}: ${label}`);
      assert.ok(!['le', 'quantile', 'instance'].includes(label), `${name}: ${label} is reserved`);
    }
    for (const label of Object.keys(values ?? {})) assert.ok(labels.includes(label), `${name}: ${label}`);
    assert.match(help, /^[A-Z0-9].*\.$/, `${name}: help is a sentence`);
  }
});

test('a new PrometheusMetrics shows every declared family and only those, with the catalogue help', async () => {
  const shown = await metrics().registry.getMetricsAsJSON();
  assert.deepEqual(shown.map((m) => m.name).sort(), METRIC_FAMILIES.map((f) => f.name).sort());
  for (const family of METRIC_FAMILIES) {
    const metric = shown.find((m) => m.name === family.name)!;
    assert.equal(metric.help, family.help, family.name);
    assert.equal(String(metric.type), family.type, family.name);
  }
});

test('series of closed label sets exist at 0 from the start; label-less families too', async () => {
  const text = await metrics().registry.metrics();
  const lines = (name: string) =>
    text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const outcomes = lines('mw_enrich_outcomes_total');
  assert.equal(outcomes.length, 4 * 7);
  assert.ok(outcomes.includes('mw_enrich_outcomes_total{outcome="enriched",page_change_kind="edit"} 0'));
  assert.ok(outcomes.includes('mw_enrich_outcomes_total{outcome="failed",page_change_kind="unknown"} 0'));
  assert.ok(outcomes.every((l) => l.endsWith(' 0')));
  assert.deepEqual(
    lines('mw_enrich_error_events_total'),
    ERROR_TYPES.map((type) => `mw_enrich_error_events_total{error_type="${type}"} 0`),
  );
  assert.deepEqual(lines('mw_enrich_kafka_rebalances_total'), [
    'mw_enrich_kafka_rebalances_total{kind="assign"} 0',
    'mw_enrich_kafka_rebalances_total{kind="revoke"} 0',
    'mw_enrich_kafka_rebalances_total{kind="lost"} 0',
  ]);
  assert.deepEqual(lines('mw_enrich_records_read_total'), ['mw_enrich_records_read_total 0']);
  assert.deepEqual(lines('mw_enrich_processing_duration_seconds_count'), [
    'mw_enrich_processing_duration_seconds_count{outcome="enriched"} 0',
    'mw_enrich_processing_duration_seconds_count{outcome="passed"} 0',
    'mw_enrich_processing_duration_seconds_count{outcome="dropped"} 0',
    'mw_enrich_processing_duration_seconds_count{outcome="failed"} 0',
  ]);
  // Per partition: no series before a partition is assigned.
  assert.deepEqual(lines('mw_enrich_kafka_consumer_lag_records'), []);
});

test('build_info carries the version and job; ready is asked at every scrape', async () => {
  let ready = false;
  const m = new PrometheusMetrics({
    defaultMetrics: false,
    strict: true,
    job: 'page-content-change',
    version: '1.2.3',
    ready: () => ready,
  });
  const text = () => m.registry.metrics();
  assert.match(await text(), /^mw_enrich_build_info\{version="1\.2\.3",job_name="page-content-change"\} 1$/m);
  assert.match(await text(), /^mw_enrich_ready 0$/m);
  ready = true;
  assert.match(await text(), /^mw_enrich_ready 1$/m);
  ready = false;
  assert.match(await text(), /^mw_enrich_ready 0$/m);
});

test('strict: an undeclared name, another label set, a value outside a closed set or the wrong kind of write throws', () => {
  const m = metrics();
  assert.throws(() => m.count('outcomes_totally'), /mw_enrich_outcomes_totally refused: not declared/);
  assert.throws(() => m.count('outcomes_total', { outcome: 'enriched' }), /labels \{outcome\}, declared/);
  assert.throws(
    () => m.count('outcomes_total', { outcome: 'enriched', page_change_kind: 'edit', extra: 1 }),
    /labels/,
  );
  assert.throws(
    () => m.count('outcomes_total', { outcome: 'enriched', page_change_kind: 'rename' }),
    /page_change_kind="rename" is not declared/,
  );
  assert.throws(() => m.gauge('outcomes_total', 1), /a counter, written with gauge\(\)/);
  assert.throws(() => m.observe('records_in_flight', 1), /a gauge, written with observe\(\)/);
  assert.throws(() => m.count('records_read_total', {}, -1), /counter increment -1/);
  // The counter's suffix may be left out; a gauge's or histogram's name is exact.
  assert.doesNotThrow(() => m.count('records_read'));
  assert.throws(() => m.gauge('records_in_flight_total', 1), /not declared/);
});

test('not strict: a refused write changes nothing on /metrics and is logged once per name and problem', async () => {
  const warnings: string[] = [];
  const m = new PrometheusMetrics({
    defaultMetrics: false,
    logger: { warn: (obj) => warnings.push(JSON.stringify(obj)) },
  });
  const before = await m.registry.metrics();
  for (let i = 0; i < 3; i++) {
    m.count('made_up_total');
    m.count('outcomes_total', { outcome: 'enriched' });
    m.count('outcomes_total', { outcome: 'enriched', page_change_kind: `kind${i}` });
    m.gauge('made_up', i);
  }
  assert.equal(await m.registry.metrics(), before);
  assert.deepEqual(
    warnings.map((w) => (JSON.parse(w) as { metric: string }).metric),
    ['mw_enrich_made_up_total', 'mw_enrich_outcomes_total', 'mw_enrich_outcomes_total', 'mw_enrich_made_up'],
  );
});

/** `metrics.count('name'` and the like, as written in the source. */
const CALL = /\.(count|observe|gauge|remove)\(\s*'([a-z_]+)'/g;
const TYPE_OF_CALL: Record<string, MetricType> = {
  count: 'counter',
  observe: 'histogram',
  gauge: 'gauge',
  remove: 'gauge',
};

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

test('every metric the source writes by name is declared, with the type its call writes', async () => {
  const src = fileURLToPath(new URL('../../../src', import.meta.url));
  const byName = new Map(METRIC_FAMILIES.map((f) => [f.name, f]));
  const written = new Set<string>();
  for (const file of await sourceFiles(src)) {
    const text = await readFile(file, 'utf8');
    for (const [, call, name] of text.matchAll(CALL)) {
      const family =
        byName.get(`${METRIC_PREFIX}${name}`) ??
        (call === 'count' ? byName.get(`${METRIC_PREFIX}${name}_total`) : undefined);
      assert.ok(family, `${file}: ${call}('${name}') is not declared`);
      assert.equal(family.type, TYPE_OF_CALL[call!], `${file}: ${call}('${name}')`);
      written.add(family.name);
    }
  }
  // The scan sees the call sites: most families are written by name somewhere.
  assert.ok(written.size >= 20, `${written.size} families found written`);
});
