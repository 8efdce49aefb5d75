import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { EventJournal } from '../../../src/runtime/event-journal.js';
import { METRIC_FAMILIES } from '../../../src/runtime/metric-catalog.js';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import { Readiness } from '../../../src/runtime/readiness.js';
import {
  STATUS_FAMILIES,
  StatusModel,
  type StatusInfo,
  type StatusModelOptions,
} from '../../../src/runtime/status/status-model.js';
import { waitUntil } from '../../helpers/wait.js';

const INFO: StatusInfo = {
  jobName: 'mw-page-content-change-enrich',
  version: '1.2.3',
  instanceId: 'pod-0',
  startedAt: Date.parse('2025-01-01T00:00:00Z'),
  source: 'kafka:mediawiki.page_change.v1',
  sink: 'kafka:mediawiki.page_content_change.v1',
  errorSink: 'kafka:mw-page-content-change-enrich.error',
  config: { stream_manager: { job_name: 'x', sink: { options: { password: '***' } } } },
};

/** Refuses any write the catalogue does not declare, so these tests write what the service writes. */
const testMetrics = () => new PrometheusMetrics({ defaultMetrics: false, strict: true });

/** A registry with no family at all (one that creates families on first use, before any use). */
const bareMetrics = () => ({ registry: new Registry(), journal: new EventJournal() });

function model(
  metrics: StatusModelOptions['metrics'],
  readiness = new Readiness(),
  now = () => INFO.startedAt + 90_000,
) {
  return new StatusModel({ metrics, readiness, info: INFO, now });
}

test('every family the page reads is one the catalogue declares', () => {
  const declared = new Set(METRIC_FAMILIES.map((f) => f.name));
  assert.deepEqual(
    Object.values(STATUS_FAMILIES).filter((name) => !declared.has(name)),
    [],
  );
});

test('with no metric family in the registry, every figure is absent (null), not zero, and nothing throws', async () => {
  const status = await model(bareMetrics()).document();
  assert.deepEqual(status.records, { read: null, readPerSecond: null });
  assert.deepEqual(status.inFlight, { records: null, bytes: null, limit: null });
  assert.equal(status.outcomes, null);
  assert.equal(status.partitions, null, 'no Kafka gauges: no partitions table');
  assert.equal(status.rateWindowSeconds, null);
  assert.deepEqual(status.errorEvents, { byType: null, latest: [] });
  assert.deepEqual(status.rebalances, { byKind: null, latest: [] });
  assert.deepEqual(status.restarts, { byReason: null, latest: [] });
  assert.deepEqual(status.waits, { latest: [] });
  assert.deepEqual(status.job, {
    name: INFO.jobName,
    version: '1.2.3',
    instance: 'pod-0',
    host: hostname(),
    startedAt: '2025-01-01T00:00:00.000Z',
    uptimeSeconds: 90,
    source: INFO.source,
    sink: INFO.sink,
    errorSink: INFO.errorSink,
  });
  assert.deepEqual(status.readiness, { ready: false, alive: true, reasons: ['starting'] });
  assert.equal(status.generatedAt, '2025-01-01T00:01:30.000Z');
  assert.equal(
    status.config,
    'stream_manager:\n  job_name: x\n  sink:\n    options:\n      password: "***"\n',
    'the masked config as YAML',
  );
});

test('a service that has done nothing yet: every outcome and kind at 0, no error type, no partition', async () => {
  const status = await model(testMetrics()).document();
  assert.deepEqual(status.records, { read: 0, readPerSecond: null });
  assert.deepEqual(status.inFlight, { records: 0, bytes: 0, limit: 0 });
  assert.deepEqual(
    status.outcomes?.byOutcome.map((o) => [o.outcome, o.count]),
    [
      ['enriched', 0],
      ['passed', 0],
      ['dropped', 0],
      ['failed', 0],
    ],
  );
  assert.deepEqual(
    status.outcomes?.byKind?.map((k) => [k.kind, k.total]),
    ['create', 'edit', 'move', 'delete', 'undelete', 'visibility_change', 'unknown'].map((k) => [k, 0]),
  );
  assert.deepEqual(status.errorEvents.byType, [], 'types at 0 are not listed');
  assert.equal(status.partitions, null);
});

test('outcomes by outcome and by page_change_kind, error events by type, in flight, from the spec families', async () => {
  const metrics = testMetrics();
  metrics.count('outcomes', { outcome: 'enriched', page_change_kind: 'edit' }, 7);
  metrics.count('outcomes', { outcome: 'enriched', page_change_kind: 'create' }, 2);
  metrics.count('outcomes', { outcome: 'passed', page_change_kind: 'delete' }, 3);
  metrics.count('outcomes', { outcome: 'failed', page_change_kind: 'unknown' }, 1);
  metrics.count('outcomes', { outcome: 'failed', page_change_kind: 'edit' }, 1);
  metrics.count('records_read', {}, 14);
  metrics.count('error_events', { error_type: 'InvalidEventError' }, 1);
  metrics.count('error_events', { error_type: 'MissingRevisionError' }, 1);
  metrics.count('error_events', { error_type: 'TimeoutError' }, 0);
  metrics.gauge('records_in_flight', 3);
  metrics.gauge('in_flight_bytes', 4096);
  metrics.gauge('in_flight_limit', 256);
  const status = await model(metrics).document();

  assert.deepEqual(status.outcomes, {
    total: 14,
    byOutcome: [
      { outcome: 'enriched', count: 9, perSecond: null },
      { outcome: 'passed', count: 3, perSecond: null },
      { outcome: 'dropped', count: 0, perSecond: null },
      { outcome: 'failed', count: 2, perSecond: null },
    ],
    byKind: [
      { kind: 'create', total: 2, counts: { enriched: 2, passed: 0, dropped: 0, failed: 0 } },
      { kind: 'edit', total: 8, counts: { enriched: 7, passed: 0, dropped: 0, failed: 1 } },
      { kind: 'move', total: 0, counts: { enriched: 0, passed: 0, dropped: 0, failed: 0 } },
      { kind: 'delete', total: 3, counts: { enriched: 0, passed: 3, dropped: 0, failed: 0 } },
      { kind: 'undelete', total: 0, counts: { enriched: 0, passed: 0, dropped: 0, failed: 0 } },
      { kind: 'visibility_change', total: 0, counts: { enriched: 0, passed: 0, dropped: 0, failed: 0 } },
      { kind: 'unknown', total: 1, counts: { enriched: 0, passed: 0, dropped: 0, failed: 1 } },
    ],
  });
  assert.deepEqual(status.records, { read: 14, readPerSecond: null });
  assert.deepEqual(status.inFlight, { records: 3, bytes: 4096, limit: 256 });
  assert.deepEqual(status.errorEvents.byType, [
    { errorType: 'InvalidEventError', count: 1 },
    { errorType: 'MissingRevisionError', count: 1 },
  ]);
});

test('outcomes counted without a page_change_kind label: no by-kind table', async () => {
  const metrics = bareMetrics();
  new Counter({
    name: 'mw_enrich_outcomes_total',
    help: 'outcomes',
    labelNames: ['outcome'],
    registers: [metrics.registry],
  }).inc({ outcome: 'enriched' }, 5);
  const status = await model(metrics).document();
  assert.equal(status.outcomes?.byKind, null);
  assert.deepEqual(
    status.outcomes?.byOutcome.map((o) => [o.outcome, o.count]),
    [
      ['enriched', 5],
      ['passed', 0],
      ['dropped', 0],
      ['failed', 0],
    ],
  );
});

test('one row per topic-partition from the four Kafka gauges, in numeric partition order; a missing gauge is null', async () => {
  const metrics = testMetrics();
  const at = (topic: string, partition: number) => ({ topic, partition });
  for (const [p, committed, high] of [
    [10, 50, 50],
    [2, 40, 45],
    [0, 7, 7],
  ] as const) {
    metrics.gauge('kafka_committed_offset', committed, at('in', p));
    metrics.gauge('kafka_high_watermark_offset', high, at('in', p));
    metrics.gauge('kafka_consumer_lag_records', high - committed, at('in', p));
  }
  metrics.gauge('kafka_consumer_lag_seconds', 12.5, at('in', 2));
  metrics.gauge('kafka_high_watermark_offset', 3, at('another', 1));
  const status = await model(metrics).document();
  assert.deepEqual(status.partitions, [
    {
      topic: 'another',
      partition: '1',
      committedOffset: null,
      highWatermark: 3,
      lagRecords: null,
      lagSeconds: null,
    },
    { topic: 'in', partition: '0', committedOffset: 7, highWatermark: 7, lagRecords: 0, lagSeconds: null },
    { topic: 'in', partition: '2', committedOffset: 40, highWatermark: 45, lagRecords: 5, lagSeconds: 12.5 },
    { topic: 'in', partition: '10', committedOffset: 50, highWatermark: 50, lagRecords: 0, lagSeconds: null },
  ]);
});

test('the journal: latest error events, rebalances, restarts and waits, newest first, fields as text', async () => {
  const metrics = testMetrics();
  const hostile = '<img src=x onerror=alert(1)>';
  metrics.event('error_event', {
    error_type: 'InvalidEventError',
    message: hostile,
    page_change_kind: 'unknown',
    partition: 'in/3',
    offset: 17,
  });
  metrics.event('error_event', { error_type: 'MissingRevisionError', message: 'rev 5 missing' });
  metrics.event('rebalance', { kind: 'assign', partitions: 'in/0,in/1' });
  metrics.event('restart', { part: 'kafka consumer', reason: 'fenced' });
  metrics.event('waiting', { part: 'kafka source', reason: 'broker unreachable' });
  metrics.count('kafka_rebalances_total', { kind: 'assign' }, 2);
  metrics.count('kafka_rebalances_total', { kind: 'revoke' }, 1);
  metrics.count('kafka_consumer_restarts_total', { reason: 'fenced' }, 1);
  const status = await model(metrics).document();

  assert.deepEqual(
    status.errorEvents.latest.map(({ time, ...rest }) => (assert.match(time, /^\d{4}-\d\d-\d\dT/), rest)),
    [
      {
        errorType: 'MissingRevisionError',
        message: 'rev 5 missing',
        pageChangeKind: '',
        partition: '',
        offset: '',
      },
      {
        errorType: 'InvalidEventError',
        message: hostile,
        pageChangeKind: 'unknown',
        partition: 'in/3',
        offset: '17',
      },
    ],
  );
  assert.deepEqual(
    status.rebalances.latest.map(({ kind, partitions }) => [kind, partitions]),
    [['assign', 'in/0,in/1']],
  );
  assert.deepEqual(status.rebalances.byKind, [
    { kind: 'assign', count: 2 },
    { kind: 'revoke', count: 1 },
    { kind: 'lost', count: 0 },
  ]);
  assert.deepEqual(
    status.restarts.latest.map(({ part, reason }) => [part, reason]),
    [['kafka consumer', 'fenced']],
  );
  assert.deepEqual(status.restarts.byReason, [{ reason: 'fenced', count: 1 }]);
  assert.deepEqual(
    status.waits.latest.map(({ part, reason }) => [part, reason]),
    [['kafka source', 'broker unreachable']],
  );
});

test('readiness and its reasons as the model says', async () => {
  const readiness = new Readiness();
  readiness.markRunning();
  readiness.wait('kafka source', 'broker 127.0.0.1:1 unreachable');
  const metrics = testMetrics();
  assert.deepEqual((await model(metrics, readiness).document()).readiness, {
    ready: false,
    alive: true,
    reasons: ['kafka source: broker 127.0.0.1:1 unreachable'],
  });
  readiness.clear('kafka source');
  assert.deepEqual((await model(metrics, readiness).document()).readiness, {
    ready: true,
    alive: true,
    reasons: [],
  });
  readiness.markStopping();
  assert.deepEqual((await model(metrics, readiness).document()).readiness, {
    ready: false,
    alive: false,
    reasons: ['stopping'],
  });
});

test('rates per second over the last minute from the samples the model takes', async () => {
  const metrics = testMetrics();
  let now = INFO.startedAt;
  const status = new StatusModel({ metrics, readiness: new Readiness(), info: INFO, now: () => now });
  metrics.count('records_read', {}, 100);
  metrics.count('outcomes', { outcome: 'enriched', page_change_kind: 'edit' }, 100);
  await status.sample();
  now += 20_000;
  metrics.count('records_read', {}, 400);
  metrics.count('outcomes', { outcome: 'enriched', page_change_kind: 'edit' }, 300);
  metrics.count('outcomes', { outcome: 'failed', page_change_kind: 'edit' }, 40);
  const doc = await status.document();
  assert.equal(doc.rateWindowSeconds, 20);
  assert.equal(doc.records.readPerSecond, 20);
  assert.deepEqual(
    doc.outcomes?.byOutcome.map((o) => [o.outcome, o.perSecond]),
    [
      ['enriched', 15],
      ['passed', 0],
      ['dropped', 0],
      ['failed', 2],
    ],
  );
});

test('start() samples every interval on a timer that does not hold the process; stop() ends the sampling', async () => {
  const keepingAlive = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const status = new StatusModel({
    metrics: testMetrics(),
    readiness: new Readiness(),
    info: INFO,
    sampleIntervalMs: 10,
  });
  const before = keepingAlive();
  status.start();
  assert.equal(keepingAlive(), before, 'the sampling timer is unref’d');
  await waitUntil('three samples', () => status.samples >= 3, { timeoutMs: 10_000, intervalMs: 5 });
  status.stop();
  const taken = status.samples;
  await sleep(100);
  assert.equal(status.samples, taken, 'no sample after stop()');
});
