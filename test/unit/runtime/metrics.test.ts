import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import { startOpsServer } from '../../../src/runtime/ops-server.js';
import { Readiness } from '../../../src/runtime/readiness.js';

test('counts, observations and gauges appear on /metrics under the service prefix; /healthz follows liveness', async (t) => {
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  metrics.count('outcomes_total', { outcome: 'enriched', page_change_kind: 'edit' });
  metrics.count('outcomes_total', { outcome: 'enriched', page_change_kind: 'edit' }, 2);
  metrics.count('outcomes_total', { outcome: 'failed', page_change_kind: 'unknown' });
  metrics.observe('mediawiki_request_duration_seconds', 0.02, { status: '200' });
  metrics.gauge('records_in_flight', 7);
  const readiness = new Readiness();
  const server = await startOpsServer({
    port: 0,
    host: '127.0.0.1',
    metrics,
    readiness,
    info: { jobName: 'job', startedAt: 0, source: 's', sink: 's', errorSink: 'e', config: {} },
  });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;

  const body = await (await fetch(`${base}/metrics`)).text();
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="enriched",page_change_kind="edit"\} 3$/m);
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="failed",page_change_kind="unknown"\} 1$/m);
  assert.match(body, /^mw_enrich_mediawiki_request_duration_seconds_bucket\{le="0.025",status="200"\} 1$/m);
  assert.match(body, /^mw_enrich_mediawiki_request_duration_seconds_bucket\{le="0.01",status="200"\} 0$/m);
  assert.match(body, /^mw_enrich_records_in_flight 7$/m);

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  readiness.markStopping();
  assert.equal((await fetch(`${base}/healthz`)).status, 503);
  assert.equal((await fetch(`${base}/other`)).status, 404);
});

test('a counter may be named with or without its _total, and the family gets it once', async () => {
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  metrics.count('kafka_commits_total', { outcome: 'ok' });
  metrics.count('kafka_commits', { outcome: 'ok' });
  metrics.count('outcomes', { outcome: 'enriched', page_change_kind: 'move' });
  const body = await metrics.registry.metrics();
  assert.match(body, /^mw_enrich_kafka_commits_total\{outcome="ok"\} 2$/m);
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="enriched",page_change_kind="move"\} 1$/m);
  assert.doesNotMatch(body, /_total_total/);
});

test('a gauge from a reader is read at every collection; a write resolved once still follows its labels', async () => {
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  let inFlight = 3;
  metrics.gaugeFrom('records_in_flight', () => inFlight);
  assert.match(await metrics.registry.metrics(), /^mw_enrich_records_in_flight 3$/m);
  inFlight = 11;
  assert.match(await metrics.registry.metrics(), /^mw_enrich_records_in_flight 11$/m);
  assert.throws(() => metrics.gaugeFrom('records_in_flight_total', () => 1), /not declared/);

  // The second write of the same labels takes the resolved series; other labels get their own.
  for (const kind of ['edit', 'edit', 'move'])
    metrics.count('outcomes_total', { outcome: 'passed', page_change_kind: kind });
  const body = await metrics.registry.metrics();
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="passed",page_change_kind="edit"\} 2$/m);
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="passed",page_change_kind="move"\} 1$/m);
  // A refused label set is refused every time, not only the first.
  assert.throws(() => metrics.count('outcomes_total', { outcome: 'passed' }), /labels/);
  assert.throws(() => metrics.count('outcomes_total', { outcome: 'passed' }), /labels/);
});

test('a label value holding NUL is refused, hit or miss; a first write of 0 makes the series', async () => {
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  metrics.count('mediawiki_requests', { status: '200', error_type: 'none' });
  assert.throws(
    () => metrics.count('mediawiki_requests', { status: '200\u0000error_type\u0000none' }),
    /NUL/,
  );
  metrics.count('outcome_reasons', { outcome: 'dropped', reason: 'zero' }, 0);
  const body = await metrics.registry.metrics();
  assert.match(body, /^mw_enrich_mediawiki_requests_total\{status="200",error_type="none"\} 1$/m);
  assert.match(body, /^mw_enrich_outcome_reasons_total\{outcome="dropped",reason="zero"\} 0$/m);
});
