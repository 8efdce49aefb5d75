/**
 * The service scraped by a real Prometheus: the built CLI on a real broker with `runtime.metrics_port`,
 * a known mix of inputs (every page_change_kind, deletes, a hidden revision, a canary, revisions the
 * API does not have, inputs that are not events), and a Prometheus (scripts/prometheus.sh) scraping
 * it every second with deploy/prometheus/rules.yaml loaded. Everything is read back with `promtool
 * query instant`: the SLI (recording rule and raw ratio), outcomes per kind (counts, and `increase()`
 * exact because every series starts at 0), error events per type, consumer lag per partition (the
 * inputs of a second batch while a gate in front of the API holds every request, then 0 once all is
 * committed), the alert the SLI puts in pending, every dashboard query answered by this Prometheus,
 * every rule evaluated without error; and `promtool check metrics` on the scrape.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { ERROR_TYPES } from '../../src/core/errors.js';
import { OUTCOME_KINDS, PAGE_CHANGE_KINDS } from '../../src/jobs/contract.js';
import { REPO_ROOT, type CliRun } from '../helpers/cli.js';
import { e2eRun, type E2eRun } from '../helpers/kafka-e2e.js';
import { readInputs } from '../helpers/kafka-e2e-books.js';
import {
  addRevisions,
  editEvent,
  messageKey,
  produceInputs,
  type Input,
} from '../helpers/kafka-e2e-inputs.js';
import { endOffsets } from '../helpers/kafka.js';
import {
  parseQueryAnswer,
  promtool,
  runTool,
  SCRAPE_JOB,
  startPrometheus,
  type PrometheusServer,
  type Sample,
} from '../helpers/prometheus.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';

/** A pass-through proxy in front of the test API that holds every request while closed. */
interface Gate {
  readonly url: string;
  /** Requests held right now. */
  held(): number;
  close(): void;
  open(): void;
}

async function gate(t: TestContext, targetUrl: string): Promise<Gate> {
  const target = new URL(targetUrl);
  let open = true;
  let waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    const forward = () => {
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (err) => res.destroy(err));
      req.pipe(upstream);
    };
    if (open) forward();
    else waiting.push(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`,
    held: () => waiting.length,
    close: () => void (open = false),
    open() {
      open = true;
      const release = waiting;
      waiting = [];
      for (const forward of release) forward();
    },
  };
}

/** `{labelValue: value}` of samples keyed by the given labels (joined with '/'). */
function byLabels(samples: readonly Sample[], ...labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) out[labels.map((l) => s.labels[l]).join('/')] = s.value;
  return out;
}

/** Every `outcome/kind` cell at 0, then the given counts. */
function outcomeTable(counts: Record<string, number>): Record<string, number> {
  const table: Record<string, number> = {};
  for (const outcome of OUTCOME_KINDS) for (const kind of PAGE_CHANGE_KINDS) table[`${outcome}/${kind}`] = 0;
  return { ...table, ...counts };
}

/** Inputs of a kind: edits with `page_change_kind` set, ids `<prefix>-<n>`, their own pages and revisions. */
function ofKind(prefix: string, kind: string, count: number, firstRev: number, overrides = {}): Input[] {
  return Array.from({ length: count }, (_, i) =>
    editEvent(`${prefix}-${i}`, 100 + ((firstRev + i) % 37), firstRev + i, {
      page_change_kind: kind,
      ...overrides,
    }),
  );
}

function notAnEvent(id: string, pageId: number): Input {
  return { id, pageId, revId: 0, key: messageKey(pageId), value: `not an event: ${id}`, dtMs: 0 };
}

const J = `job="${SCRAPE_JOB}"`;

describe('prometheus-scrape: the service scraped by a real Prometheus', { timeout: 300_000 }, () => {
  it('SLI, outcomes per kind, error events, lag per partition and the pending SLO alert, read with promtool; the scrape passes promtool check metrics', async (t) => {
    const started = Date.now();
    const run = await e2eRun(t, 'prom-scrape', {
      partitions: { input: 2 },
      api: { seed: 41, minMs: 1, maxMs: 5 },
    });
    const { api } = run;
    const apiGate = await gate(t, api.url);

    // The first batch: a known mix. 28 enriched, 6 passed, 1 dropped, 7 failed.
    const missing = ofKind('missing', 'edit', 4, 3000);
    const first: Input[] = [
      ...ofKind('create', 'create', 3, 1000),
      ...ofKind('edit', 'edit', 20, 1100),
      ...missing,
      ...ofKind('move', 'move', 2, 1200),
      ...ofKind('delete', 'delete', 5, 1300),
      ...ofKind('undelete', 'undelete', 1, 1400),
      ...ofKind('visibility', 'visibility_change', 2, 1500),
      // Content hidden by the event itself: passed through without a request.
      ...ofKind('hidden', 'visibility_change', 1, 1600, { revision: { is_content_visible: false } }),
      editEvent('canary', 90, 1700, { meta: { domain: 'canary' } }),
      notAnEvent('bad-json-0', 91),
      notAnEvent('bad-json-1', 92),
      // A kind the schema does not know: a SchemaValidationError, counted as kind "unknown".
      ...ofKind('bad-kind', 'explode', 1, 1800),
    ];
    // The second batch, produced while the gate holds every request: 10 edits.
    const second = ofKind('late', 'edit', 10, 2000);
    addRevisions(api, [...first, ...second], { missing: new Set(missing.map((m) => m.revId)) });

    const metricsPort = await freePort();
    const config = await run.config({
      endpoint: apiGate.url,
      // Requests held by the gate must not time out and be retried: that would change the counts.
      enrich: { request_timeout: 120 },
      runtime: { metrics_port: metricsPort },
    });
    const service = run.start(config);
    const prometheus = await startPrometheus(t, { targets: [`127.0.0.1:${metricsPort}`] });

    // Every outcome × kind series has been scraped at 0 before any input exists, so that rate() and
    // increase() count from 0.
    const zeros = await prometheus.waitFor(`mw_enrich_outcomes_total{${J}}`, (s) => s.length > 0);
    assert.deepEqual(
      byLabels(zeros, 'outcome', 'page_change_kind'),
      outcomeTable({}),
      'all 28 outcome × kind series exist at 0 before the first input',
    );

    const a = await run.produce(first);
    assert.equal(a.ends.size, 2, 'the first batch is on both partitions');
    await waitCommitted(run, a.ends, service);
    await prometheus.waitFor(`sum(mw_enrich_outcomes_total{${J}})`, (s) => s[0]?.value === first.length);
    await prometheus.waitFor(
      `mw_enrich_kafka_consumer_lag_records{${J}}`,
      (s) => s.length === 2 && s.every((x) => x.value === 0),
    );

    // Pause: the gate holds every request; the second batch is read but none of it can finish.
    apiGate.close();
    await produceInputs(run.bootstrap, run.topics.input, second);
    const ends = endOffsets(
      [...(await readInputs(run.bootstrap, run.topics.input, [...first, ...second])).values()],
      run.topics.input,
    );
    const lagWanted = Object.fromEntries(
      [...ends].map(([partition, end]) => [partitionNumber(partition), end - a.ends.get(partition)!]),
    );
    assert.equal(
      Object.values(lagWanted).reduce((x, y) => x + y, 0),
      second.length,
    );
    await waitUntil('the gate to hold requests', () => apiGate.held() > 0, {
      timeoutMs: 30_000,
      watch: [service],
    });
    // Statistics bring the new high watermarks every statistics.interval.ms (5 s).
    const lagSeen = await prometheus.waitFor(
      `mw_enrich_kafka_consumer_lag_records{${J}}`,
      (s) => isDeepStrictEqual(byLabels(s, 'partition'), lagWanted),
      30_000,
    );
    const lagSecondsSeen = await prometheus.waitFor(
      `mw_enrich_kafka_consumer_lag_seconds{${J}}`,
      (s) =>
        s.length === 2 && s.every((x) => (lagWanted[x.labels.partition!]! > 0 ? x.value > 0 : x.value === 0)),
    );
    await prometheus.waitFor(`mw_enrich_records_in_flight{${J}}`, (s) => s[0]?.value === second.length);

    // Release: everything finishes and is committed; the lag goes back to 0 on every partition.
    apiGate.open();
    await waitCommitted(run, ends, service);
    const total = first.length + second.length;
    await prometheus.waitFor(`sum(mw_enrich_outcomes_total{${J}})`, (s) => s[0]?.value === total);
    await prometheus.waitFor(
      `mw_enrich_kafka_consumer_lag_records{${J}}`,
      (s) => s.length === 2 && s.every((x) => x.value === 0),
    );
    await prometheus.waitFor(
      `mw_enrich_kafka_consumer_lag_seconds{${J}}`,
      (s) => s.length === 2 && s.every((x) => x.value === 0),
    );

    const outcomes = outcomeTable({
      'enriched/create': 3,
      'enriched/edit': 20 + second.length,
      'enriched/move': 2,
      'enriched/undelete': 1,
      'enriched/visibility_change': 2,
      'passed/delete': 5,
      'passed/visibility_change': 1,
      'dropped/edit': 1,
      'failed/edit': missing.length,
      'failed/unknown': 3,
    });
    assert.deepEqual(
      byLabels(await prometheus.query(`mw_enrich_outcomes_total{${J}}`), 'outcome', 'page_change_kind'),
      outcomes,
      'outcomes by outcome and kind',
    );
    const enriched = 28 + second.length;
    const failed = missing.length + 3;

    // The SLI: the raw ratio exactly, and the recording rule (a ratio of two rates over the same
    // samples) equal to it but for rounding.
    const rawSli = await prometheus.value(
      `sum(mw_enrich_outcomes_total{${J},outcome="enriched"}) / sum(mw_enrich_outcomes_total{${J},outcome=~"enriched|failed"})`,
    );
    assert.equal(rawSli, enriched / (enriched + failed));
    const [recorded] = await prometheus.waitFor(
      `mw_enrich:enriched_ratio:rate5m{${J}}`,
      (s) => s.length === 1 && Math.abs(s[0]!.value - enriched / (enriched + failed)) < 1e-12,
    );
    assert.equal(await prometheus.value('mw_enrich:enriched_ratio:objective'), 0.99);

    // increase() over the whole run, evaluated at the last scrape, is the count itself: every series
    // started at 0, so nothing is extrapolated.
    const lastScrape = await prometheus.value(`max(timestamp(mw_enrich_outcomes_total{${J}}))`);
    const increase = await queryAt(
      prometheus,
      `sum by (page_change_kind) (increase(mw_enrich_outcomes_total{${J}}[5m]))`,
      lastScrape!,
    );
    assert.deepEqual(byLabels(increase, 'page_change_kind'), {
      create: 3,
      edit: 20 + second.length + 1 + missing.length,
      move: 2,
      delete: 5,
      undelete: 1,
      visibility_change: 3,
      unknown: 3,
    });

    const errorTypes = Object.fromEntries(ERROR_TYPES.map((e) => [e, 0]));
    assert.deepEqual(
      byLabels(await prometheus.query(`mw_enrich_error_events_total{${J}}`), 'error_type'),
      { ...errorTypes, MissingRevisionError: 4, InvalidEventError: 2, SchemaValidationError: 1 },
      'error events by type, every known type at 0 from the start',
    );
    assert.deepEqual(
      byLabels(
        await prometheus.query(`sum by (outcome, reason) (mw_enrich_outcome_reasons_total{${J}})`),
        'outcome',
        'reason',
      ),
      {
        'enriched/create': 3,
        'enriched/edit': 20 + second.length,
        'enriched/move': 2,
        'enriched/undelete': 1,
        'enriched/visibility_change': 2,
        'passed/delete': 5,
        'passed/hidden': 1,
        'dropped/canary': 1,
        'failed/MissingRevisionError': 4,
        'failed/InvalidEventError': 2,
        'failed/SchemaValidationError': 1,
      },
      'outcome reasons',
    );
    assert.deepEqual(
      byLabels(
        await prometheus.query(`sum by (outcome) (mw_enrich_processing_duration_seconds_count{${J}})`),
        'outcome',
      ),
      { enriched, passed: 6, dropped: 1, failed },
      'one processing duration per outcome',
    );
    assert.equal(await prometheus.value(`mw_enrich_records_read_total{${J}}`), total);
    // Every revision of an enriched kind once: no retries.
    assert.equal(
      await prometheus.value(`mw_enrich_mediawiki_revisions_requested_total{${J}}`),
      enriched + missing.length,
    );
    assert.equal(await prometheus.value(`sum(mw_enrich_mediawiki_retries_total{${J}}) or vector(0)`), 0);
    const committed = byLabels(await prometheus.query(`mw_enrich_kafka_committed_offset{${J}}`), 'partition');
    const highWatermark = byLabels(
      await prometheus.query(`mw_enrich_kafka_high_watermark_offset{${J}}`),
      'partition',
    );
    const endsByPartition = Object.fromEntries([...ends].map(([p, end]) => [partitionNumber(p), end]));
    assert.deepEqual(committed, endsByPartition, 'committed offsets');
    assert.deepEqual(highWatermark, endsByPartition, 'high watermarks');
    assert.equal(await prometheus.value(`mw_enrich_ready{${J}}`), 1);

    // The SLI is below the objective: its alert is pending (it fires after 15 minutes); nothing else.
    const alerts = await prometheus.waitFor('ALERTS', (s) => s.length > 0);
    assert.deepEqual(
      alerts.map((s) => s.labels),
      [
        {
          __name__: 'ALERTS',
          alertname: 'MwEnrichEnrichedRatioBelowObjective',
          alertstate: 'pending',
          job: SCRAPE_JOB,
          severity: 'critical',
        },
      ],
    );

    // promtool check metrics on the scrape: not a word to say (every family carries the prefix,
    // prom-client's process and Node.js metrics included).
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(body, /^mw_enrich_outcomes_total\{/m);
    const lint = await promtool(['check', 'metrics'], { input: body });
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() !== '');
    assert.deepEqual(problems, [], 'promtool check metrics');
    assert.equal(lint.code, 0);

    // The dashboard's queries on the real series: each is valid PromQL for this Prometheus, and each
    // answers, but for what did not happen in this run.
    const empty: string[] = [];
    for (const { title, refId, expr } of await dashboardQueries()) {
      const answer = await promtool(['query', 'instant', '-o', 'json', prometheus.url, expr]);
      assert.equal(answer.code, 0, `panel "${title}" ${refId}: ${expr}\n${answer.stderr}`);
      if (parseQueryAnswer(answer.stdout).length === 0) empty.push(`${title} ${refId}`);
    }
    assert.deepEqual(
      empty,
      [
        // No consumer was replaced, no record failed to be produced, librdkafka reported no error,
        // no request failed and none was retried: those series do not exist yet.
        'Rebalances and consumer restarts B',
        'Produced records, produce failures and client errors B',
        'Produced records, produce failures and client errors C',
        'Action API requests per second by status B',
        'Retries by reason A',
      ],
      'dashboard queries without an answer',
    );
    // Every rule evaluates on them without an error.
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const evaluated = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(evaluated.length, 13);
    assert.deepEqual(
      evaluated.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );

    assert.deepEqual(await service.stop(), { code: 0, signal: null }, service.report());
    console.log(
      `prometheus-scrape: SLI ${rawSli} (${enriched}/${enriched + failed}), recorded ${recorded!.value}; ` +
        `lag while paused ${JSON.stringify(byLabels(lagSeen, 'partition'))} records, ` +
        `${JSON.stringify(byLabels(lagSecondsSeen, 'partition'))} s; ` +
        `promtool check metrics: no remark; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it('scripts/prometheus.sh: start prints the URL and reports status; stop ends its own process and removes its storage', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'prometheus-script-'));
    const env = { PROMETHEUS_STATE_DIR: dir };
    const script = join(REPO_ROOT, 'scripts', 'prometheus.sh');
    t.after(async () => {
      await runTool('bash', [script, 'stop'], { env });
      await rm(dir, { recursive: true, force: true });
    });
    const config = join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.yml');

    const start = await runTool('bash', [script, 'start', join(REPO_ROOT, 'deploy', 'prometheus')], { env });
    assert.equal(start.code, 0, start.stderr);
    const url = /^PROMETHEUS_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(start.stdout)?.[1];
    assert.ok(url, start.stdout);
    const pid = Number(await readFile(join(dir, 'prometheus.pid'), 'utf8'));
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(cmdline.includes(`--config.file=${config}`), cmdline.join(' '));
    const storage = (await readFile(join(dir, 'storage'), 'utf8')).trim();
    assert.ok((await stat(storage)).isDirectory());

    // It loaded the project's rules (the objective is a recording rule without inputs).
    await waitForValue(url, 'mw_enrich:enriched_ratio:objective', '0.99');

    // Started again on the same config: it says where it runs and starts nothing.
    const again = await runTool('bash', [script, 'start', config], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stdout.includes(`PROMETHEUS_URL=${url}`));
    assert.equal(Number(await readFile(join(dir, 'prometheus.pid'), 'utf8')), pid);
    const status = await runTool('bash', [script, 'status'], { env });
    assert.equal(status.code, 0);

    const stop = await runTool('bash', [script, 'stop'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    await waitUntil(`pid ${pid} to be gone`, () => gone(pid), { timeoutMs: 10_000, intervalMs: 50 });
    await assert.rejects(stat(storage), 'its storage is removed');
    assert.notEqual((await runTool('bash', [script, 'status'], { env })).code, 0);
  });
});

/** The dashboard's panel queries, its variables replaced as Grafana would for this run. */
async function dashboardQueries(): Promise<{ title: string; refId: string; expr: string }[]> {
  const file = join(REPO_ROOT, 'deploy', 'grafana', 'mediawiki-event-enrichment.json');
  const dashboard = JSON.parse(await readFile(file, 'utf8')) as {
    panels: { title: string; targets?: { refId: string; expr: string }[] }[];
  };
  return dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      title: p.title,
      refId: t.refId,
      expr: t.expr
        .replaceAll('$job', SCRAPE_JOB)
        .replaceAll('$instance', '.*')
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '5m'),
    })),
  );
}

/** No such process, or one that has exited and waits for its parent to reap it. */
async function gone(pid: number): Promise<boolean> {
  const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return state === undefined || / Z /.test(state.slice(state.lastIndexOf(')')));
}

/** `topic/3` → '3', the partition label. */
function partitionNumber(partition: string): string {
  return partition.slice(partition.lastIndexOf('/') + 1);
}

/** Waits until the group committed `ends`, the service still running. */
async function waitCommitted(run: E2eRun, ends: ReadonlyMap<string, number>, service: CliRun): Promise<void> {
  await waitUntil('the committed offsets to reach the end of the input', () => run.offsets.reached(ends), {
    timeoutMs: 60_000,
    intervalMs: 200,
    watch: [service],
  });
}

/** An instant query evaluated at `time` (Unix seconds). */
async function queryAt(prometheus: PrometheusServer, expr: string, time: number): Promise<Sample[]> {
  const run = await promtool(['query', 'instant', '-o', 'json', `--time=${time}`, prometheus.url, expr]);
  assert.equal(run.code, 0, run.stderr);
  return parseQueryAnswer(run.stdout);
}

async function waitForValue(url: string, expr: string, value: string): Promise<void> {
  await waitUntil(
    `${expr} to be ${value}`,
    async () => {
      const run = await promtool(['query', 'instant', url, expr]);
      return run.stdout.includes(`=> ${value} @`);
    },
    { timeoutMs: 20_000, intervalMs: 250 },
  );
}
