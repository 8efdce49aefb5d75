/**
 * The failure table of spec.md and README, row by row, through the whole job: one input line in,
 * the Action API misbehaving in one way, and exactly one outcome out (an enriched event or an error
 * event), with the number of requests the failure policy allows.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertErrorEventFor,
  assertValidOutput,
  ONE_ENRICHED,
  outcomeCounts,
  runJob,
  startApi,
  type ExpectedError,
  type Json,
  type JobRun,
} from '../helpers/job-harness.js';
import { startUnacceptingListener, type Behaviour, type MisbehavingApi } from '../helpers/misbehaving-api.js';

/** The harness allows 3 retries: a retried failure makes 1 + 3 requests before it is given up. */
const MAX_ATTEMPTS = 4;
const REV = 7;

function edit(revId: number, overrides: Json = {}): Json {
  return pageChangeEvent({
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    ...overrides,
  });
}

function contentOf(revId: number): string {
  return `== Revision ${revId} ==\ncontent of ${revId}`;
}

function store(api: MisbehavingApi, ...revIds: number[]): void {
  for (const revId of revIds)
    api.addRevision({ revId, pageId: 1, title: 'Main_Page', slots: { main: { content: contentOf(revId) } } });
}

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000).toISOString();

/** One edit of revision REV (stored), the API scripted by `setup`, the job run once. */
async function runOne(
  t: TestContext,
  setup: (api: MisbehavingApi) => void,
  overrides: Json = {},
  event: Json = edit(REV),
): Promise<JobRun> {
  const api = await startApi(t);
  store(api, REV);
  setup(api);
  return runJob(t, api, [event], overrides);
}

/** One error event, after `requests` requests for revision `revId` (default REV). */
async function assertFailed(
  run: JobRun,
  expected: ExpectedError & { requests: number; revId?: number },
): Promise<void> {
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 1,
    enriched: 0,
    passed: 0,
    dropped: 0,
    failed: 1,
    unfinished: 0,
    errors: { [expected.errorType]: 1 },
  });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(
    run.api.requestedRevIds(),
    Array<number>(expected.requests).fill(expected.revId ?? REV),
    'one request per attempt, each for the revision',
  );
  assert.deepEqual(run.outputs, []);
  assert.equal(run.errors.length, 1);
  await assertErrorEventFor(run.errors[0]!, run.lines[0]!, expected);
}

async function assertEnriched(run: JobRun, requests: number): Promise<void> {
  assert.deepEqual(outcomeCounts(run.summary), ONE_ENRICHED);
  assert.deepEqual(run.api.requestedRevIds(), Array<number>(requests).fill(REV));
  assert.deepEqual(run.errors, []);
  assert.equal(run.outputs.length, 1);
  const output = run.outputs[0]!;
  await assertValidOutput(output);
  assert.equal(
    (output.revision as { content_slots: { main: Json } }).content_slots.main.content_body,
    contentOf(REV),
  );
}

const repeat = (n: number, b: Behaviour): Behaviour[] => Array<Behaviour>(n).fill(b);
const SHORT_READ_TIMEOUT = { enrich: { request_timeout: 0.2 } };

describe('retried failures: error event after 1 + max_retries requests', () => {
  test('hang (read timeout waiting for headers) → TimeoutError', async (t) => {
    const run = await runOne(t, (api) => api.setFallback({ kind: 'hang' }), SHORT_READ_TIMEOUT);
    await assertFailed(run, {
      errorType: 'TimeoutError',
      message: /timed out \(headers, 200 ms\)/,
      requests: MAX_ATTEMPTS,
    });
  });

  test('slow body (headers, then the body stalls) → TimeoutError', async (t) => {
    const run = await runOne(
      t,
      (api) => api.setFallback({ kind: 'slow-body', bytes: 10 }),
      SHORT_READ_TIMEOUT,
    );
    await assertFailed(run, {
      errorType: 'TimeoutError',
      message: /timed out \(body, 200 ms\)/,
      requests: MAX_ATTEMPTS,
    });
  });

  test('connection reset → ConnectionError', async (t) => {
    const run = await runOne(t, (api) => api.setFallback({ kind: 'reset' }));
    await assertFailed(run, {
      errorType: 'ConnectionError',
      message: /connection failed/,
      requests: MAX_ATTEMPTS,
    });
  });

  for (const status of [408, 429, 500, 502, 503, 504]) {
    test(`HTTP ${status} → HttpStatusError`, async (t) => {
      const run = await runOne(t, (api) => api.setFallback({ kind: 'status', status }));
      await assertFailed(run, {
        errorType: 'HttpStatusError',
        message: new RegExp(`HTTP ${status}\\b`),
        requests: MAX_ATTEMPTS,
      });
    });
  }

  test('maxlag (Retry-After: 0) → MaxlagError', async (t) => {
    const run = await runOne(t, (api) => api.setFallback({ kind: 'maxlag', retryAfterSeconds: 0 }));
    await assertFailed(run, {
      errorType: 'MaxlagError',
      message: /maxlag: Waiting for a database server/,
      requests: MAX_ATTEMPTS,
    });
  });

  test('readonly → ReadonlyError', async (t) => {
    const run = await runOne(t, (api) => api.setFallback({ kind: 'readonly' }));
    await assertFailed(run, {
      errorType: 'ReadonlyError',
      message: /readonly: The wiki is currently in read-only mode/,
      requests: MAX_ATTEMPTS,
    });
  });

  test('badrevids for a recent event (replicas may not have it yet) → MissingRevisionError', async (t) => {
    const event = edit(REV + 1, { meta: { dt: new Date().toISOString() } });
    const run = await runOne(t, () => undefined, {}, event);
    await assertFailed(run, {
      errorType: 'MissingRevisionError',
      message: /Revision 8 is missing or deleted/,
      requests: MAX_ATTEMPTS,
      revId: REV + 1,
    });
  });

  test('connect timeout (nothing accepts the connection) → TimeoutError, no request reaches a server', async (t) => {
    const CONNECT_TIMEOUT_MS = 1000;
    const listener = await startUnacceptingListener();
    t.after(() => listener.close());
    const run = await runOne(t, () => undefined, {
      enrich: {
        mediawiki_api_endpoint_template: `http://127.0.0.1:${listener.port}/w/api.php`,
        connect_timeout_ms: CONNECT_TIMEOUT_MS,
      },
    });
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 1,
      enriched: 0,
      passed: 0,
      dropped: 0,
      failed: 1,
      unfinished: 0,
      errors: { TimeoutError: 1 },
    });
    assert.equal(run.api.requests.length, 0);
    // The listener cannot count connection attempts, but their time shows: each lasts at least the
    // connect timeout. A lower bound cannot fail on a slow machine. (undici's connect timer ticks at
    // about 500 ms, so with a shorter timeout a single attempt would take as long as four.)
    assert.ok(
      run.endedAt.getTime() - run.startedAt.getTime() >= MAX_ATTEMPTS * CONNECT_TIMEOUT_MS,
      'the connect timeout was retried',
    );
    await assertErrorEventFor(run.errors[0]!, run.lines[0]!, {
      errorType: 'TimeoutError',
      message: /timed out \(connect, 1000 ms\)/,
    });
  });
});

describe('failures that are not retried: error event after one request', () => {
  const cases: Array<{ name: string; behaviour: Behaviour; expected: ExpectedError }> = [
    {
      name: 'HTTP 204',
      behaviour: { kind: 'status', status: 204 },
      expected: { errorType: 'HttpStatusError', message: /HTTP 204\b/ },
    },
    {
      name: 'HTTP 301 (redirects are not followed)',
      behaviour: { kind: 'status', status: 301, headers: { location: '/w/moved/api.php' } },
      expected: { errorType: 'HttpStatusError', message: /HTTP 301\b/ },
    },
    {
      name: 'HTTP 404',
      behaviour: { kind: 'status', status: 404 },
      expected: { errorType: 'HttpStatusError', message: /HTTP 404\b/ },
    },
    {
      name: 'HTTP 501 (a 5xx that is not retried)',
      behaviour: { kind: 'status', status: 501 },
      expected: { errorType: 'HttpStatusError', message: /HTTP 501\b/ },
    },
    {
      name: 'a body that is not JSON',
      behaviour: { kind: 'raw', body: '<html>Service unavailable</html>' },
      expected: { errorType: 'ResponseFormatError', message: /body is not JSON/ },
    },
    {
      name: 'JSON of the wrong shape',
      behaviour: { kind: 'raw', body: '{"query":{"pages":"none"}}' },
      expected: { errorType: 'ResponseFormatError', message: /query\.pages is not an array/ },
    },
    {
      name: 'another API error code',
      behaviour: { kind: 'api-error', code: 'badvalue', info: 'nope' },
      expected: { errorType: 'ApiError', message: /badvalue: nope/ },
    },
  ];
  for (const { name, behaviour, expected } of cases) {
    test(`${name} → ${expected.errorType}`, async (t) => {
      const run = await runOne(t, (api) => api.setFallback(behaviour));
      await assertFailed(run, { ...expected, requests: 1 });
    });
  }

  test('badrevids for an event ingested an hour ago (deleted since) → MissingRevisionError', async (t) => {
    // `dt` is recent on purpose: recency is measured from meta.dt (ingestion), not dt.
    const event = edit(REV + 1, { dt: new Date().toISOString(), meta: { dt: minutesAgo(60) } });
    const run = await runOne(t, () => undefined, {}, event);
    await assertFailed(run, {
      errorType: 'MissingRevisionError',
      message: /Revision 8 is missing or deleted/,
      requests: 1,
      revId: REV + 1,
    });
  });
});

describe('retried failures that recover: enriched', () => {
  for (const status of [429, 500, 502, 503, 504]) {
    test(`HTTP ${status} twice, then the answer`, async (t) => {
      const run = await runOne(t, (api) => api.script(...repeat(2, { kind: 'status', status })));
      await assertEnriched(run, 3);
    });
  }

  test('a hang, then the answer', async (t) => {
    const run = await runOne(t, (api) => api.script({ kind: 'hang' }), SHORT_READ_TIMEOUT);
    await assertEnriched(run, 2);
  });

  test('maxlag with Retry-After: 1 is honoured, then the answer', async (t) => {
    const run = await runOne(t, (api) => api.script({ kind: 'maxlag', retryAfterSeconds: 1 }));
    await assertEnriched(run, 2);
    const [first, second] = run.api.requests;
    // The backoff alone would be 20 ms; only the header explains a second's wait. A lower bound
    // cannot fail on a slow machine (the 5 ms are timer granularity).
    assert.ok(
      second!.receivedAt - first!.receivedAt >= 995,
      `retried after ${second!.receivedAt - first!.receivedAt} ms`,
    );
    assert.deepEqual(
      run.api.requests.map((r) => r.behaviour),
      ['maxlag', 'serve'],
    );
  });

  test('HTTP 503 with Retry-After: 1 is honoured, then the answer', async (t) => {
    const run = await runOne(t, (api) =>
      api.script({ kind: 'status', status: 503, headers: { 'retry-after': '1' } }),
    );
    await assertEnriched(run, 2);
    const [first, second] = run.api.requests;
    assert.ok(
      second!.receivedAt - first!.receivedAt >= 995,
      `retried after ${second!.receivedAt - first!.receivedAt} ms`,
    );
  });

  test('a Retry-After of an hour is capped (retry_after_cap_ms), then the answer', async (t) => {
    const run = await runOne(t, (api) => api.script({ kind: 'maxlag', retryAfterSeconds: 3600 }), {
      enrich: { retry: { retry_after_cap_ms: 300 } },
    });
    await assertEnriched(run, 2);
    const [first, second] = run.api.requests;
    assert.ok(
      second!.receivedAt - first!.receivedAt >= 295,
      `retried after ${second!.receivedAt - first!.receivedAt} ms`,
    );
  });
});

describe('answers about several revisions', () => {
  test('texthidden: enriched without content_body for the hidden slot, and counted', async (t) => {
    const api = await startApi(t);
    api.addRevision({ revId: REV, pageId: 1, title: 'Main_Page', slots: { main: { hidden: true } } });
    const run = await runJob(t, api, [edit(REV)]);
    assert.deepEqual(outcomeCounts(run.summary), ONE_ENRICHED);
    assert.equal(run.summary.job?.hidden_slots, 1);
    assert.deepEqual(api.requestedRevIds(), [REV]);
    const output = run.outputs[0]!;
    await assertValidOutput(output);
    const main = (output.revision as { content_slots: { main: Json } }).content_slots.main;
    assert.equal('content_body' in main, false);
    assert.equal(main.content_model, 'wikitext');
  });

  test('a batch with some bad ids: one request, good ones enriched in order, bad ones error events', async (t) => {
    const api = await startApi(t);
    store(api, 10, 12, 14);
    const events = [10, 11, 12, 13, 14].map((r) => edit(r));
    const run = await runJob(t, api, events, { enrich: { batch_linger_ms: 200 } });
    assert.equal(api.requests.length, 1);
    assert.deepEqual(api.requests[0]!.revIds, [10, 11, 12, 13, 14]);
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 5,
      enriched: 3,
      passed: 0,
      dropped: 0,
      failed: 2,
      unfinished: 0,
      errors: { MissingRevisionError: 2 },
    });
    assert.deepEqual(
      run.outputs.map((o) => (o.revision as Json).rev_id),
      [10, 12, 14],
    );
    for (const output of run.outputs) {
      await assertValidOutput(output);
      const rev = (output.revision as Json).rev_id as number;
      assert.equal(
        (output.revision as { content_slots: { main: Json } }).content_slots.main.content_body,
        contentOf(rev),
      );
    }
    assert.deepEqual(
      run.errors.map((e) => e.raw_event),
      [run.lines[1], run.lines[3]],
    );
    for (const [i, error] of run.errors.entries()) {
      await assertErrorEventFor(error, run.lines[i === 0 ? 1 : 3]!, {
        errorType: 'MissingRevisionError',
        message: new RegExp(`Revision ${i === 0 ? 11 : 13} is missing`),
      });
    }
  });

  test('the same revision twice in one batch: asked for once, both events enriched', async (t) => {
    const api = await startApi(t);
    store(api, 30);
    const run = await runJob(t, api, [edit(30), edit(30, { meta: { request_id: 'redelivered' } })], {
      enrich: { batch_linger_ms: 200 },
    });
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [[30]],
    );
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 2,
      enriched: 2,
      passed: 0,
      dropped: 0,
      failed: 0,
      unfinished: 0,
      errors: {},
    });
    assert.deepEqual(
      run.outputs.map((o) => (o.meta as Json).request_id),
      ['c0ffee00-0000-4000-8000-000000000001', 'redelivered'],
    );
    for (const output of run.outputs)
      assert.equal(
        (output.revision as { content_slots: { main: Json } }).content_slots.main.content_body,
        contentOf(30),
      );
  });

  test('a continued batch: the request is repeated with rvcontinue until the answer is complete', async (t) => {
    const api = await startApi(t, { fallback: { kind: 'serve', maxRevisions: 2 } });
    store(api, 20, 21, 22, 23, 24);
    const events = [20, 21, 22, 23, 24].map((r) => edit(r));
    const run = await runJob(t, api, events, { enrich: { batch_linger_ms: 200 } });
    assert.deepEqual(
      api.requests.map((r) => [r.revIds, r.query.get('rvcontinue')]),
      [
        [[20, 21, 22, 23, 24], null],
        [[20, 21, 22, 23, 24], '22'],
        [[20, 21, 22, 23, 24], '24'],
      ],
    );
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 5,
      enriched: 5,
      passed: 0,
      dropped: 0,
      failed: 0,
      unfinished: 0,
      errors: {},
    });
    assert.deepEqual(
      run.outputs.map(
        (o) => (o.revision as { content_slots: { main: Json } }).content_slots.main.content_body,
      ),
      [20, 21, 22, 23, 24].map(contentOf),
    );
    for (const output of run.outputs) await assertValidOutput(output);
  });
});
