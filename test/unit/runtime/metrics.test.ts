import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import { serveMetrics } from '../../../src/runtime/ops-server.js';

test('counts, observations and gauges appear on /metrics under the service prefix; /healthz follows the health check', async (t) => {
  const metrics = new PrometheusMetrics(false);
  metrics.count('outcomes', { outcome: 'enriched' });
  metrics.count('outcomes', { outcome: 'enriched' }, 2);
  metrics.count('outcomes', { outcome: 'failed' });
  metrics.observe('mediawiki_request_seconds', 0.02);
  metrics.gauge('in_flight', 7);
  let healthy = true;
  const server = await serveMetrics(metrics, 0, () => healthy, '127.0.0.1');
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const body = await (await fetch(`${base}/metrics`)).text();
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="enriched"\} 3$/m);
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="failed"\} 1$/m);
  assert.match(body, /^mw_enrich_mediawiki_request_seconds_bucket\{le="0.025"\} 1$/m);
  assert.match(body, /^mw_enrich_mediawiki_request_seconds_bucket\{le="0.01"\} 0$/m);
  assert.match(body, /^mw_enrich_in_flight 7$/m);

  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  healthy = false;
  assert.equal((await fetch(`${base}/healthz`)).status, 503);
  assert.equal((await fetch(`${base}/other`)).status, 404);
});

test('a counter named with _total gets the suffix once', async () => {
  const metrics = new PrometheusMetrics(false);
  metrics.count('kafka_commits_total', { outcome: 'ok' });
  metrics.count('outcomes', { outcome: 'enriched' });
  const body = await metrics.registry.metrics();
  assert.match(body, /^mw_enrich_kafka_commits_total\{outcome="ok"\} 1$/m);
  assert.match(body, /^mw_enrich_outcomes_total\{outcome="enriched"\} 1$/m);
  assert.doesNotMatch(body, /_total_total/);
});
