import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { SinkRecord, SourceRecord } from '../../../src/connectors/types.js';
import { recordingMetrics } from '../../../src/core/metrics.js';
import type { Outcome, RecordHandler } from '../../../src/jobs/contract.js';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import { cut, MAX_REASONS_PER_OUTCOME, OutcomeMetrics } from '../../../src/runtime/outcome-metrics.js';
import { Pipeline, type PipelineOptions } from '../../../src/runtime/pipeline.js';
import { MemorySink, MemorySource, record } from '../../helpers/memory-connectors.js';

const logger = pino({ level: 'silent' });
const HOUR_MS = 3_600_000;

/** Each variant of Outcome without its record (distributes over the union). */
type WithoutRecord<O> = O extends unknown ? Omit<O, 'output' | 'errorEvent'> : never;
/** Each input value is the outcome to give, with `big` making an output over the sink's limit. */
type Given = WithoutRecord<Outcome> & { big?: boolean };

function handler(): RecordHandler {
  const out = (value: object): SinkRecord => ({ key: null, value: Buffer.from(JSON.stringify(value)) });
  return {
    handle(rec: SourceRecord) {
      const given = JSON.parse(rec.value.toString()) as Given;
      const { big, ...facts } = given;
      const payload = out(big ? { pad: 'x'.repeat(500) } : { offset: rec.offset });
      const outcome =
        facts.kind === 'failed'
          ? ({ ...facts, errorEvent: payload } as Outcome)
          : facts.kind === 'dropped'
            ? (facts as Outcome)
            : ({ ...facts, output: payload } as Outcome);
      return { key: undefined, outcome: Promise.resolve(outcome) };
    },
    oversize: (rec) => out({ oversize: rec.offset }),
  };
}

function run(input: Given[], metrics: PipelineOptions['metrics']) {
  const source = new MemorySource(input.map((given, i) => record('topic/0', i, given)));
  return new Pipeline({
    source,
    handler: handler(),
    sink: new MemorySink({ maxRecordBytes: 200 }),
    errorSink: new MemorySink(),
    maxInFlight: 8,
    commitIntervalMs: 5,
    drainTimeoutMs: 5_000,
    oversizePolicy: 'error_event',
    logger,
    metrics,
  }).run();
}

/** The value of each series of a family, by its labels as `k=v,k=v`. */
async function series(metrics: PrometheusMetrics, name: string): Promise<Record<string, number>> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, name);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const labels = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${String(l)}`)
      .join(',');
    const key =
      ((v as { metricName?: string }).metricName ?? name).replace(name, '') + (labels ? `{${labels}}` : '');
    if (v.value !== 0) out[key] = v.value;
  }
  return out;
}

test('a known input is counted by outcome and page_change_kind, by reason and error type, with latency and duration', async () => {
  const now = Date.now();
  const input: Given[] = [
    { kind: 'enriched', reason: 'edit', pageChangeKind: 'edit', eventTime: now - HOUR_MS },
    { kind: 'enriched', reason: 'edit', pageChangeKind: 'edit', eventTime: now - HOUR_MS },
    { kind: 'enriched', reason: 'create', pageChangeKind: 'create', eventTime: now - HOUR_MS },
    { kind: 'passed', reason: 'delete', pageChangeKind: 'delete', eventTime: now - HOUR_MS },
    { kind: 'dropped', reason: 'canary', pageChangeKind: 'edit' },
    { kind: 'failed', reason: 'InvalidEventError', message: 'input is not JSON' },
    {
      kind: 'failed',
      reason: 'MissingRevisionError',
      pageChangeKind: 'move',
      eventTime: now - HOUR_MS,
      message: `revision 7 is missing ${'x'.repeat(400)}`,
    },
    // Over the sink's limit of 200 bytes: an OversizeEventError error event, still a move.
    { kind: 'enriched', reason: 'move', pageChangeKind: 'move', eventTime: now - HOUR_MS, big: true },
  ];
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  const summary = await run(input, metrics);
  assert.equal(summary.failure, undefined);

  assert.deepEqual(await series(metrics, 'mw_enrich_records_read_total'), { '': 8 });
  assert.deepEqual(await series(metrics, 'mw_enrich_outcomes_total'), {
    '{outcome=enriched,page_change_kind=edit}': 2,
    '{outcome=enriched,page_change_kind=create}': 1,
    '{outcome=passed,page_change_kind=delete}': 1,
    '{outcome=dropped,page_change_kind=edit}': 1,
    '{outcome=failed,page_change_kind=unknown}': 1,
    '{outcome=failed,page_change_kind=move}': 2,
  });
  assert.deepEqual(await series(metrics, 'mw_enrich_outcome_reasons_total'), {
    '{outcome=enriched,reason=edit}': 2,
    '{outcome=enriched,reason=create}': 1,
    '{outcome=passed,reason=delete}': 1,
    '{outcome=dropped,reason=canary}': 1,
    '{outcome=failed,reason=InvalidEventError}': 1,
    '{outcome=failed,reason=MissingRevisionError}': 1,
    '{outcome=failed,reason=OversizeEventError}': 1,
  });
  assert.deepEqual(await series(metrics, 'mw_enrich_error_events_total'), {
    '{error_type=InvalidEventError}': 1,
    '{error_type=MissingRevisionError}': 1,
    '{error_type=OversizeEventError}': 1,
  });
  assert.deepEqual(await series(metrics, 'mw_enrich_oversize_outputs_total'), { '': 1 });

  // Six inputs have a meta.dt an hour ago: each latency is at least that, and not a day.
  const latency = await series(metrics, 'mw_enrich_event_latency_seconds');
  assert.equal(latency['_count'], 6);
  assert.ok(latency['_sum']! >= 6 * 3600 && latency['_sum']! < 6 * 3600 + 600, String(latency['_sum']));
  assert.equal(latency['_bucket{le=1800}'], undefined);
  assert.equal(latency['_bucket{le=7200}'], 6);
  const durations = await series(metrics, 'mw_enrich_processing_duration_seconds');
  assert.equal(durations['_count{outcome=enriched}'], 3);
  assert.equal(durations['_count{outcome=passed}'], 1);
  assert.equal(durations['_count{outcome=dropped}'], 1);
  assert.equal(durations['_count{outcome=failed}'], 3);

  // Nothing is in flight once the run is over, and the gauges say so.
  assert.deepEqual(await series(metrics, 'mw_enrich_records_in_flight'), {});
  assert.deepEqual(await series(metrics, 'mw_enrich_in_flight_bytes'), {});

  // Each error event is in the journal, newest first, its message cut to 300 characters.
  const events = metrics.journal.latest('error_event').map((e) => e.fields);
  assert.deepEqual(
    events.map(({ message, ...rest }) => ({ ...rest, length: String(message).length })),
    [
      {
        error_type: 'OversizeEventError',
        page_change_kind: 'move',
        partition: 'topic/0',
        offset: 7,
        length: 67,
      },
      {
        error_type: 'MissingRevisionError',
        page_change_kind: 'move',
        partition: 'topic/0',
        offset: 6,
        length: 300,
      },
      {
        error_type: 'InvalidEventError',
        page_change_kind: 'unknown',
        partition: 'topic/0',
        offset: 5,
        length: 17,
      },
    ],
  );
  const bytes = Buffer.byteLength(JSON.stringify({ pad: 'x'.repeat(500) }));
  assert.equal(
    events[0]!.message,
    `the enriched event is ${bytes} bytes, over the sink's limit of 200 bytes`,
  );
  assert.match(String(events[1]!.message), /^revision 7 is missing x+…$/);
});

test('records in flight are read whenever the metrics are collected, not only at commits', async () => {
  const metrics = recordingMetrics();
  let release!: () => void;
  const held = new Promise<Outcome>((resolve) => {
    release = () => resolve({ kind: 'dropped', reason: 'canary' });
  });
  const source = new MemorySource([record('p', 0, 'a'), record('p', 1, 'bb')]);
  const pipeline = new Pipeline({
    source,
    handler: {
      handle: () => ({ key: undefined, outcome: held }),
      oversize: () => ({ key: null, value: Buffer.alloc(0) }),
    },
    sink: new MemorySink(),
    errorSink: new MemorySink(),
    maxInFlight: 8,
    commitIntervalMs: 60_000,
    drainTimeoutMs: 5_000,
    oversizePolicy: 'error_event',
    logger,
    metrics,
  });
  const done = pipeline.run();
  // Read when looked at: whenever that is, the gauges say what is in flight then.
  while (metrics.total('records_in_flight') !== 2) await new Promise((r) => setTimeout(r, 1));
  assert.equal(metrics.total('in_flight_bytes'), 3);
  release();
  await done;
  assert.equal(metrics.total('records_in_flight'), 0);
  assert.equal(metrics.total('in_flight_bytes'), 0);
});

test('reasons outside a closed set are bounded: at most 50 distinct per outcome, odd ones are other', () => {
  const metrics = recordingMetrics();
  const measure = new OutcomeMetrics(metrics);
  const rec = record('p', 0, '');
  for (let i = 0; i < MAX_REASONS_PER_OUTCOME + 10; i++) {
    measure.acknowledged(rec, { kind: 'dropped', reason: `reason_${i}` }, 0);
  }
  measure.acknowledged(rec, { kind: 'dropped', reason: 'has spaces {and} "quotes"' }, 0);
  measure.acknowledged(rec, { kind: 'dropped', reason: 'reason_0' }, 0);
  const reasons = [...metrics.counts].filter(([k]) => k.startsWith('outcome_reasons_total'));
  assert.equal(reasons.length, MAX_REASONS_PER_OUTCOME + 1);
  assert.equal(metrics.counts.get('outcome_reasons_total{outcome=dropped,reason=other}'), 11);
  assert.equal(metrics.counts.get('outcome_reasons_total{outcome=dropped,reason=reason_0}'), 2);
  // An outcome without a page_change_kind counts as unknown.
  assert.equal(metrics.counts.get('outcomes_total{outcome=dropped,page_change_kind=unknown}'), 62);
});

test('a cut message stays within its length and never splits a character', () => {
  assert.equal(cut('short', 300), 'short');
  assert.equal(cut('x'.repeat(301), 300), `${'x'.repeat(299)}…`);
  const emoji = `${'x'.repeat(298)}😀😀`;
  assert.equal(cut(emoji, 300), `${'x'.repeat(298)}…`);
  assert.ok(cut(emoji, 300).length <= 300);
});
