/**
 * The failure table of spec.md, row by row, through the real fetcher (undici, timers, batching)
 * against a local API that misbehaves on purpose.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConfigError, EnrichmentError } from '../../src/core/errors.js';
import { recordingMetrics } from '../../src/core/metrics.js';
import { FetcherClosedError } from '../../src/mediawiki/errors.js';
import {
  DEFAULT_MEDIAWIKI_OPTIONS,
  createRevisionFetcher,
  type MediaWikiClientOptions,
} from '../../src/mediawiki/fetcher.js';
import { DEFAULT_RETRY_POLICY } from '../../src/mediawiki/retry-policy.js';
import type { RevisionContent, RevisionFetcher } from '../../src/mediawiki/types.js';
import {
  MisbehavingApi,
  startUnacceptingListener,
  type MisbehavingApiOptions,
} from '../helpers/misbehaving-api.js';
import { fetchFailure } from '../helpers/fetch-failure.js';

const DOMAIN = 'en.wikipedia.org';
const USER_AGENT = 'mediawiki-event-enrichment-tests/1.0 (https://example.org/tests; tests@example.org)';
const MAX_RETRIES = 3;

type Overrides = Partial<Omit<MediaWikiClientOptions, 'retry'>> & {
  retry?: Partial<MediaWikiClientOptions['retry']>;
};

async function setup(t: TestContext, overrides: Overrides = {}, apiOptions: MisbehavingApiOptions = {}) {
  const api = await MisbehavingApi.start(apiOptions);
  t.after(() => api.close());
  for (let revId = 1; revId <= 200; revId += 1) {
    api.addRevision({
      revId,
      pageId: 1000 + revId,
      title: `Page ${revId}`,
      slots: { main: { content: `Text of ${revId}` } },
    });
  }
  const { fetcher, metrics } = makeFetcher(t, { endpointTemplate: api.url, ...overrides });
  return { api, fetcher, metrics };
}

function makeFetcher(t: TestContext, overrides: Overrides & { endpointTemplate: string }) {
  const metrics = recordingMetrics();
  const fetcher = createRevisionFetcher(
    {
      ...DEFAULT_MEDIAWIKI_OPTIONS,
      allowedDomains: ['*.wikipedia.org'],
      userAgent: USER_AGENT,
      connectTimeoutMs: 300,
      readTimeoutMs: 300,
      ...overrides,
      // Small, jitter-free delays keep the suite quick; the policy itself is unit-tested.
      retry: {
        ...DEFAULT_RETRY_POLICY,
        initialDelayMs: 10,
        maxDelayMs: 40,
        jitter: 0,
        maxRetries: MAX_RETRIES,
        ...overrides.retry,
      },
    },
    { metrics },
  );
  t.after(() => fetcher.close());
  return { fetcher, metrics };
}

/** A fetch for an event ingested now (recent) or a minute ago (old). */
function fetchRev(fetcher: RevisionFetcher, revId: number, age: 'recent' | 'old' = 'old', domain = DOMAIN) {
  return fetcher.fetch({ domain, revId, ingestedAtMs: Date.now() - (age === 'old' ? 60_000 : 0) });
}

function mainText(revision: RevisionContent): string | undefined {
  return revision.slots.main?.content;
}

describe('mediawiki fetcher: requests', () => {
  it('sends the revisions query with the configured headers to a fixed endpoint with Host', async (t) => {
    const { api, fetcher } = await setup(t);
    const revision = await fetchRev(fetcher, 7);
    assert.equal(mainText(revision), 'Text of 7');
    assert.equal(revision.pageId, 1007);
    assert.equal(api.requests.length, 1);
    const [request] = api.requests;
    assert.ok(request);
    assert.equal(request.method, 'GET');
    assert.equal(request.path, '/w/api.php');
    assert.deepEqual(Object.fromEntries(request.query), {
      action: 'query',
      format: 'json',
      formatversion: '2',
      prop: 'revisions',
      revids: '7',
      rvprop: 'ids|timestamp|content|contentmodel|sha1|size',
      rvslots: '*',
      // Wikimedia's etiquette for non-interactive clients, the fetcher's default.
      maxlag: '5',
    });
    assert.equal(request.headers['user-agent'], USER_AGENT);
    assert.equal(request.headers['accept-encoding'], 'gzip');
    assert.equal(request.headers.accept, 'application/json');
    assert.equal(request.headers.host, DOMAIN);
  });

  it('puts the domain into the template, routes it, keeps its Host, and sends maxlag', async (t) => {
    const api = await MisbehavingApi.start();
    t.after(() => api.close());
    api.addRevision({
      revId: 3,
      pageId: 1,
      title: 'A',
      slots: { main: { content: 'routed' } },
      domain: 'de.wikipedia.org',
    });
    const { fetcher } = makeFetcher(t, {
      endpointTemplate: 'https://{domain}/w/api.php',
      httpRoutes: { 'https://de.wikipedia.org': api.origin },
      maxlag: 5,
    });
    const revision = await fetchRev(fetcher, 3, 'old', 'de.wikipedia.org');
    assert.equal(mainText(revision), 'routed');
    assert.equal(api.requests.length, 1);
    assert.equal(api.requests[0]?.headers.host, 'de.wikipedia.org');
    assert.equal(api.requests[0]?.path, '/w/api.php');
    assert.equal(api.requests[0]?.query.get('maxlag'), '5');
  });

  it('reads gzip bodies', async (t) => {
    const { api, fetcher } = await setup(t, {}, { gzip: true });
    api.addRevision({
      revId: 500,
      pageId: 5,
      title: 'Z',
      slots: { main: { content: 'ünïcödé ✓ '.repeat(1000) } },
    });
    assert.equal(mainText(await fetchRev(fetcher, 500)), 'ünïcödé ✓ '.repeat(1000));
    api.script({
      kind: 'raw',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(
        JSON.stringify({
          query: {
            pages: [{ pageid: 1, revisions: [{ revid: 9, slots: { main: { content: 'zipped' } } }] }],
          },
        }),
      ),
    });
    assert.equal(mainText(await fetchRev(fetcher, 9)), 'zipped');
    assert.equal(api.requests.length, 2);
  });

  it('refuses a domain outside the allowlist without any request', async (t) => {
    const { api, fetcher } = await setup(t);
    for (const domain of ['evil.example.org', 'canary', '127.0.0.1', 'en.wikipedia.org.evil.com']) {
      const error = await fetchFailure(fetchRev(fetcher, 1, 'old', domain));
      assert.equal(error.type, 'DomainNotAllowedError');
      assert.equal(error.details.domain, domain);
    }
    assert.equal(api.requests.length, 0);
  });

  it('rejects a batch size above the API limit at construction', () => {
    assert.throws(
      () =>
        createRevisionFetcher({
          ...DEFAULT_MEDIAWIKI_OPTIONS,
          endpointTemplate: 'http://127.0.0.1:1/api.php',
          batchSize: 51,
        }),
      (error: unknown) => error instanceof ConfigError && error.key === 'batchSize',
    );
  });
});

describe('mediawiki fetcher: timeouts and connections', () => {
  it('hang: a read timeout is retried, then TimeoutError after 1 + maxRetries requests', async (t) => {
    const { api, fetcher, metrics } = await setup(t, {}, { fallback: { kind: 'hang' } });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'TimeoutError');
    assert.equal(error.details.phase, 'headers');
    assert.equal(api.requests.length, 1 + MAX_RETRIES);
    assert.deepEqual(api.requestedRevIds(), [1, 1, 1, 1]);
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=TimeoutError,status=none}'), 4);
    assert.equal(metrics.counts.get('mediawiki_retries_total{reason=TimeoutError}'), 3);
  });

  it('hang, then recovery: the third request answers', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'hang' }, { kind: 'hang' });
    assert.equal(mainText(await fetchRev(fetcher, 4)), 'Text of 4');
    assert.deepEqual(
      api.requests.map((r) => r.behaviour),
      ['hang', 'hang', 'serve'],
    );
  });

  it('connect timeout: retried, then TimeoutError (phase connect) after 1 + maxRetries attempts', async (t) => {
    const listener = await startUnacceptingListener();
    t.after(() => listener.close());
    const { fetcher, metrics } = makeFetcher(t, {
      endpointTemplate: `http://127.0.0.1:${listener.port}/w/api.php`,
    });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'TimeoutError');
    assert.equal(error.details.phase, 'connect');
    assert.equal(
      metrics.counts.get('mediawiki_requests_total{error_type=TimeoutError,status=none}'),
      1 + MAX_RETRIES,
    );
  });

  it('slow body: headers then a stall is a read timeout, retried', async (t) => {
    const { api, fetcher } = await setup(t, {}, { fallback: { kind: 'slow-body' } });
    const error = await fetchFailure(fetchRev(fetcher, 2));
    assert.equal(error.type, 'TimeoutError');
    assert.equal(error.details.phase, 'body');
    assert.equal(api.requests.length, 1 + MAX_RETRIES);
  });

  it('a body trickling a byte at a time ends at the deadline of the whole exchange, retried', async (t) => {
    // connect 100 + 2 × read 200 + 2,000 ms of allowance for undici's coarse timers: 2.5 s a request.
    const { api, fetcher } = await setup(
      t,
      { connectTimeoutMs: 100, readTimeoutMs: 200, retry: { maxRetries: 1 } },
      { fallback: { kind: 'trickle', everyMs: 20 } },
    );
    const started = Date.now();
    const error = await fetchFailure(fetchRev(fetcher, 2));
    assert.equal(error.type, 'TimeoutError');
    assert.equal(error.details.phase, 'total');
    assert.equal(error.details.timeout_ms, 2_500);
    assert.equal(api.requests.length, 2);
    // A lower bound only: each of the two requests ran until its deadline.
    assert.ok(Date.now() - started >= 2 * 2_500 - 100, `${Date.now() - started} ms`);
  });

  it('connection reset: retried, and the next answer is used', async (t) => {
    const { api, fetcher, metrics } = await setup(t);
    api.script({ kind: 'reset' }, { kind: 'reset' });
    assert.equal(mainText(await fetchRev(fetcher, 3)), 'Text of 3');
    assert.deepEqual(
      api.requests.map((r) => r.behaviour),
      ['reset', 'reset', 'serve'],
    );
    assert.equal(metrics.counts.get('mediawiki_retries_total{reason=ConnectionError}'), 2);
  });

  it('connection reset every time: ConnectionError after 1 + maxRetries requests', async (t) => {
    const { api, fetcher } = await setup(t, {}, { fallback: { kind: 'reset' } });
    const error = await fetchFailure(fetchRev(fetcher, 3));
    assert.equal(error.type, 'ConnectionError');
    assert.equal(typeof error.details.code, 'string');
    assert.equal(api.requests.length, 1 + MAX_RETRIES);
  });

  it('connection refused: ConnectionError ECONNREFUSED after its retries', async (t) => {
    const api = await MisbehavingApi.start();
    const url = api.url;
    await api.close();
    const { fetcher, metrics } = makeFetcher(t, { endpointTemplate: url });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'ConnectionError');
    assert.equal(error.details.code, 'ECONNREFUSED');
    assert.equal(
      metrics.counts.get('mediawiki_requests_total{error_type=ConnectionError,status=none}'),
      1 + MAX_RETRIES,
    );
  });
});

describe('mediawiki fetcher: HTTP statuses', () => {
  for (const [status, headers] of [
    [204, {}],
    [301, { location: 'https://elsewhere.example/api.php' }],
    [404, {}],
    [400, {}],
    [501, {}],
    [505, {}],
  ] as const) {
    it(`${status}: HttpStatusError at once, one request`, async (t) => {
      const { api, fetcher } = await setup(t, {}, { fallback: { kind: 'status', status, headers } });
      const error = await fetchFailure(fetchRev(fetcher, 5));
      assert.equal(error.type, 'HttpStatusError');
      assert.equal(error.details.status, status);
      assert.equal(api.requests.length, 1);
    });
  }

  for (const status of [408, 429, 500, 502, 503, 504]) {
    it(`${status}: retried, and the third request succeeds`, async (t) => {
      const { api, fetcher, metrics } = await setup(t);
      api.script({ kind: 'status', status }, { kind: 'status', status });
      assert.equal(mainText(await fetchRev(fetcher, 6)), 'Text of 6');
      assert.equal(api.requests.length, 3);
      assert.equal(
        metrics.counts.get(`mediawiki_requests_total{error_type=HttpStatusError,status=${status}}`),
        2,
      );
      assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=none,status=200}'), 1);
    });
  }

  for (const status of [429, 503]) {
    it(`${status} every time: HttpStatusError after 1 + maxRetries requests`, async (t) => {
      const { api, fetcher } = await setup(t, {}, { fallback: { kind: 'status', status } });
      const error = await fetchFailure(fetchRev(fetcher, 6));
      assert.equal(error.type, 'HttpStatusError');
      assert.equal(error.details.status, status);
      assert.equal(api.requests.length, 1 + MAX_RETRIES);
    });
  }
});

describe('mediawiki fetcher: API answers', () => {
  it('maxlag: waits at least Retry-After before retrying', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'maxlag', retryAfterSeconds: 1 });
    assert.equal(mainText(await fetchRev(fetcher, 8)), 'Text of 8');
    assert.equal(api.requests.length, 2);
    const [first, second] = api.requests;
    assert.ok(first && second);
    const gap = second.receivedAt - first.receivedAt;
    assert.ok(gap >= 1000, `retried after ${gap} ms, before Retry-After`);
  });

  it('maxlag: a long Retry-After is capped, and the error comes after the retries', async (t) => {
    const { api, fetcher } = await setup(
      t,
      { retry: { retryAfterCapMs: 50 } },
      {
        fallback: { kind: 'maxlag', retryAfterSeconds: 3600 },
      },
    );
    const error = await fetchFailure(fetchRev(fetcher, 8));
    assert.equal(error.type, 'MaxlagError');
    assert.equal(error.details.api_code, 'maxlag');
    assert.equal(error.retryAfterMs, 3_600_000);
    assert.equal(api.requests.length, 1 + MAX_RETRIES);
    const gaps = api.requests.slice(1).map((r, i) => r.receivedAt - (api.requests[i]?.receivedAt ?? 0));
    for (const gap of gaps) assert.ok(gap >= 50, `retried after ${gap} ms, before the capped Retry-After`);
  });

  it('readonly: retried, then served', async (t) => {
    const { api, fetcher, metrics } = await setup(t);
    api.script({ kind: 'readonly' });
    assert.equal(mainText(await fetchRev(fetcher, 9)), 'Text of 9');
    assert.equal(api.requests.length, 2);
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=ReadonlyError,status=200}'), 1);
  });

  it('other API errors: ApiError at once', async (t) => {
    const { api, fetcher } = await setup(
      t,
      {},
      { fallback: { kind: 'api-error', code: 'internal_api_error_DBQueryError' } },
    );
    const error = await fetchFailure(fetchRev(fetcher, 9));
    assert.equal(error.type, 'ApiError');
    assert.equal(error.details.api_code, 'internal_api_error_DBQueryError');
    assert.equal(api.requests.length, 1);
  });

  it('a body that is not JSON, or of the wrong shape: ResponseFormatError at once', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script(
      { kind: 'raw', body: '<html>upstream error</html>' },
      { kind: 'raw', body: '{"query":{"pages":{"1":{}}}}' },
    );
    const notJson = await fetchFailure(fetchRev(fetcher, 10));
    assert.equal(notJson.type, 'ResponseFormatError');
    assert.equal(notJson.details.reason, 'body is not JSON');
    const wrongShape = await fetchFailure(fetchRev(fetcher, 10));
    assert.equal(wrongShape.type, 'ResponseFormatError');
    assert.equal(wrongShape.details.reason, 'query.pages is not an array');
    assert.equal(api.requests.length, 2);
  });

  it('badrevids for an old event: MissingRevisionError after one request', async (t) => {
    const { api, fetcher } = await setup(t);
    const error = await fetchFailure(fetchRev(fetcher, 99_999, 'old'));
    assert.equal(error.type, 'MissingRevisionError');
    assert.deepEqual(error.details, { rev_id: 99_999, reason: 'badrevids' });
    assert.equal(api.requests.length, 1);
  });

  it('badrevids for a recent event: retried until the revision appears', async (t) => {
    const { api, fetcher } = await setup(t);
    api.setFallback((request) => {
      // The replica catches up after the first request.
      if (api.requests.length === 1) {
        api.addRevision({
          revId: 7777,
          pageId: 77,
          title: 'Late',
          slots: { main: { content: 'replicated' } },
        });
      }
      return request.revIds.length > 0 ? { kind: 'serve' } : { kind: 'status', status: 400 };
    });
    assert.equal(mainText(await fetchRev(fetcher, 7777, 'recent')), 'replicated');
    assert.equal(api.requests.length, 2);
  });

  it('badrevids for a recent event that never appears: MissingRevisionError after 1 + maxRetries requests', async (t) => {
    const { api, fetcher } = await setup(t);
    const error = await fetchFailure(fetchRev(fetcher, 88_888, 'recent'));
    assert.equal(error.type, 'MissingRevisionError');
    assert.equal(api.requests.length, 1 + MAX_RETRIES);
  });

  it('texthidden: the slot is marked hidden and has no content', async (t) => {
    const { api, fetcher } = await setup(t);
    api.addRevision({
      revId: 600,
      pageId: 6,
      title: 'Hidden',
      slots: {
        main: { content: 'secret', hidden: true },
        mediainfo: { content: '{}', model: 'json', format: 'application/json' },
      },
    });
    const revision = await fetchRev(fetcher, 600);
    assert.deepEqual(revision.slots.main, {
      role: 'main',
      contentModel: 'wikitext',
      contentFormat: undefined,
      content: undefined,
      textHidden: true,
    });
    assert.equal(revision.slots.mediainfo?.content, '{}');
    assert.equal(revision.slots.mediainfo?.textHidden, false);
    assert.equal(api.requests.length, 1);
  });

  it('the deletedhistory shape (a missing page, no badrevids): missing, batch-mates unaffected', async (t) => {
    const { api, fetcher } = await setup(t, {}, { deletedPageShape: 'missing-page' });
    api.addRevision({
      revId: 700,
      pageId: 7,
      title: 'Deleted',
      slots: { main: { content: 'gone' } },
      deleted: true,
    });
    const [deleted, kept] = await Promise.allSettled([fetchRev(fetcher, 700), fetchRev(fetcher, 11)]);
    assert.equal(deleted.status, 'rejected');
    const error = (deleted as PromiseRejectedResult).reason as EnrichmentError;
    assert.equal(error.type, 'MissingRevisionError');
    assert.equal(error.details.reason, 'page_missing');
    assert.equal(kept.status === 'fulfilled' && mainText(kept.value), 'Text of 11');
    assert.equal(api.requests.length, 1);
    assert.deepEqual(api.requests[0]?.revIds, [700, 11]);
  });
});

describe('mediawiki fetcher: batches', () => {
  it('a batch with bad ids: good ones succeed, bad ones fail, one request', async (t) => {
    const { api, fetcher } = await setup(t);
    const ids = [12, 90_001, 13, 90_002, 14];
    const results = await Promise.allSettled(ids.map((id) => fetchRev(fetcher, id, 'old')));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? mainText(r.value) : (r.reason as EnrichmentError).type)),
      ['Text of 12', 'MissingRevisionError', 'Text of 13', 'MissingRevisionError', 'Text of 14'],
    );
    assert.equal(api.requests.length, 1);
    assert.deepEqual(api.requests[0]?.revIds, ids);
  });

  it('a continued batch: two requests, the second with the continue params, all results', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'serve', maxRevisions: 3 });
    const ids = [21, 22, 23, 24, 25];
    const texts = await Promise.all(ids.map(async (id) => mainText(await fetchRev(fetcher, id))));
    assert.deepEqual(
      texts,
      ids.map((id) => `Text of ${id}`),
    );
    assert.equal(api.requests.length, 2);
    assert.equal(api.requests[0]?.query.get('rvcontinue'), null);
    assert.equal(api.requests[1]?.query.get('rvcontinue'), '24');
    assert.equal(api.requests[1]?.query.get('continue'), '||');
    assert.deepEqual(api.requests[1]?.revIds, ids);
  });

  it('a continued batch whose second request fails keeps the first part and retries only the rest', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'serve', maxRevisions: 2 }, { kind: 'status', status: 503 });
    const ids = [31, 32, 33];
    const texts = await Promise.all(ids.map(async (id) => mainText(await fetchRev(fetcher, id))));
    assert.deepEqual(texts, ['Text of 31', 'Text of 32', 'Text of 33']);
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [ids, ids, [33]],
    );
  });

  it('120 ids: three requests of at most 50, every id answered once', async (t) => {
    const { api, fetcher, metrics } = await setup(t);
    const ids = Array.from({ length: 120 }, (_, i) => i + 1);
    const texts = await Promise.all(ids.map(async (id) => mainText(await fetchRev(fetcher, id))));
    assert.deepEqual(
      texts,
      ids.map((id) => `Text of ${id}`),
    );
    assert.equal(api.requests.length, 3);
    assert.deepEqual(
      api.requests.map((r) => r.revIds.length).sort((a, b) => b - a),
      [50, 50, 20],
    );
    assert.deepEqual(
      api.requestedRevIds().sort((a, b) => a - b),
      ids,
    );
    assert.equal(metrics.total('mediawiki_revisions_requested_total'), 120);
  });

  it('a failed batch retries each revision; they rejoin one batch', async (t) => {
    const { api, fetcher, metrics } = await setup(t);
    api.script({ kind: 'status', status: 502 });
    const ids = [41, 42, 43];
    const texts = await Promise.all(ids.map(async (id) => mainText(await fetchRev(fetcher, id))));
    assert.deepEqual(texts, ['Text of 41', 'Text of 42', 'Text of 43']);
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [ids, ids],
    );
    assert.equal(metrics.counts.get('mediawiki_retries_total{reason=HttpStatusError}'), 3);
  });

  it('one recent missing revision is retried alone; its batch-mates are answered at once', async (t) => {
    const { api, fetcher } = await setup(t);
    const [missing, found] = await Promise.allSettled([
      fetchRev(fetcher, 95_000, 'recent'),
      fetchRev(fetcher, 51),
    ]);
    assert.equal(found.status === 'fulfilled' && mainText(found.value), 'Text of 51');
    assert.equal(missing.status, 'rejected');
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [[95_000, 51], [95_000], [95_000], [95_000]],
    );
  });

  it('the same id wanted twice is asked once', async (t) => {
    const { api, fetcher } = await setup(t);
    const [a, b] = await Promise.all([fetchRev(fetcher, 61), fetchRev(fetcher, 61)]);
    assert.equal(mainText(a), 'Text of 61');
    assert.equal(a, b);
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [[61]],
    );
  });

  it('keeps to the global concurrency budget across wikis', async (t) => {
    const { api, fetcher } = await setup(
      t,
      { maxConcurrentRequests: 2 },
      { fallback: { kind: 'serve', delayMs: 200 } },
    );
    const domains = ['en', 'de', 'fr', 'es', 'it', 'ja'].map((lang) => `${lang}.wikipedia.org`);
    const texts = await Promise.all(
      domains.map(async (domain) => mainText(await fetchRev(fetcher, 71, 'old', domain))),
    );
    assert.deepEqual(
      texts,
      domains.map(() => 'Text of 71'),
    );
    assert.equal(api.requests.length, 6);
    assert.deepEqual(api.requests.map((r) => r.headers.host).sort(), [...domains].sort());
    assert.equal(api.maxConcurrent, 2);
  });
});

describe('mediawiki fetcher: close', () => {
  it('rejects fetches in flight, waiting or lingering with FetcherClosedError, and later ones too', async (t) => {
    const { api, fetcher } = await setup(
      t,
      { lingerMs: 60_000, batchSize: 1 },
      { fallback: { kind: 'hang' } },
    );
    const inFlight = assert.rejects(fetchRev(fetcher, 1), FetcherClosedError);
    while (api.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await fetcher.close();
    await inFlight;
    await assert.rejects(fetchRev(fetcher, 2), FetcherClosedError);
    assert.equal(api.requests.length, 1);
  });
});
