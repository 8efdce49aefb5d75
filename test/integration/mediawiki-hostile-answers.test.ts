/**
 * Answers no Action API should give and wiki names no event should carry, through the real fetcher
 * (undici, batching, retries) against a local server on 127.0.0.1: each ends in a classified
 * `EnrichmentError` with the number of requests the failure policy allows, never in an exception
 * that would stop the job, and the fetcher goes on serving the next revision.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { EnrichmentError } from '../../src/core/errors.js';
import { recordingMetrics } from '../../src/core/metrics.js';
import {
  DEFAULT_MEDIAWIKI_OPTIONS,
  createRevisionFetcher,
  type MediaWikiClientOptions,
} from '../../src/mediawiki/fetcher.js';
import { DEFAULT_RETRY_POLICY } from '../../src/mediawiki/retry-policy.js';
import type { RevisionFetcher } from '../../src/mediawiki/types.js';
import { MisbehavingApi } from '../helpers/misbehaving-api.js';
import { fetchFailure } from '../helpers/fetch-failure.js';

const DOMAIN = 'en.wikipedia.org';
const MAX_RETRIES = 3;
const MIB = 1024 * 1024;

type Overrides = Partial<Omit<MediaWikiClientOptions, 'retry'>>;

async function setup(t: TestContext, overrides: Overrides = {}) {
  const api = await MisbehavingApi.start();
  t.after(() => api.close());
  for (let revId = 1; revId <= 20; revId += 1) {
    api.addRevision({
      revId,
      pageId: revId,
      title: `P${revId}`,
      slots: { main: { content: `Text of ${revId}` } },
    });
  }
  const fetcher = makeFetcher(t, { endpointTemplate: api.url, ...overrides });
  return { api, fetcher };
}

function makeFetcher(t: TestContext, overrides: Overrides & { endpointTemplate: string }): RevisionFetcher {
  const fetcher = createRevisionFetcher(
    {
      ...DEFAULT_MEDIAWIKI_OPTIONS,
      allowedDomains: ['*.wikipedia.org'],
      connectTimeoutMs: 2000,
      readTimeoutMs: 2000,
      ...overrides,
      retry: {
        ...DEFAULT_RETRY_POLICY,
        initialDelayMs: 5,
        maxDelayMs: 20,
        jitter: 0,
        maxRetries: MAX_RETRIES,
      },
    },
    { metrics: recordingMetrics() },
  );
  t.after(() => fetcher.close());
  return fetcher;
}

function fetchRev(fetcher: RevisionFetcher, revId: number, domain = DOMAIN) {
  return fetcher.fetch({ domain, revId, ingestedAtMs: Date.now() - 60_000 });
}

const deep = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);

describe('malformed HTTP answers: classified, with the retries the policy allows', () => {
  const cases: Array<{
    name: string;
    bytes: string;
    type: string;
    detail: Record<string, unknown> | RegExp;
    requests: number;
  }> = [
    {
      name: 'garbage instead of a response',
      bytes: 'this is not HTTP at all\r\n\r\n',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'a bad status line',
      bytes: 'HTTP/1.1 abc OK\r\ncontent-length: 2\r\n\r\n{}',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'a bad header',
      bytes: 'HTTP/1.1 200 OK\r\nno colon in this header\r\ncontent-length: 2\r\n\r\n{}',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'a header value with a control character',
      bytes: 'HTTP/1.1 200 OK\r\nx-a: \u0001\r\ncontent-length: 2\r\n\r\n{}',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'a bad chunk size',
      bytes: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'an HTTP/0.9 answer (a body without status line)',
      bytes: '{"batchcomplete":true,"query":{"pages":[]}}',
      type: 'ResponseFormatError',
      detail: { reason: 'invalid HTTP response' },
      requests: 1,
    },
    {
      name: 'headers larger than the client accepts',
      bytes: `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(100_000)}\r\ncontent-length: 2\r\n\r\n{}`,
      type: 'ResponseFormatError',
      detail: { reason: 'response headers too large' },
      requests: 1,
    },
    {
      name: 'a body cut short of its content-length',
      bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"query"',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_SOCKET' },
      requests: 1 + MAX_RETRIES,
    },
    {
      name: 'a chunked body cut short',
      bytes: 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"qu',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_SOCKET' },
      requests: 1 + MAX_RETRIES,
    },
    {
      name: 'two content-lengths that disagree',
      bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' },
      requests: 1 + MAX_RETRIES,
    },
    {
      name: 'a body longer than its content-length (the cut body is read)',
      bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{"query":{"pages":[]}}',
      type: 'ResponseFormatError',
      detail: { reason: 'body is not JSON' },
      requests: 1,
    },
    {
      name: 'the connection closed without a byte',
      bytes: '',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_SOCKET' },
      requests: 1 + MAX_RETRIES,
    },
    {
      name: 'an interim 1xx answer and no final one',
      bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_SOCKET' },
      requests: 1 + MAX_RETRIES,
    },
    {
      name: 'an unasked-for protocol upgrade',
      bytes: 'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n',
      type: 'ConnectionError',
      detail: { code: 'UND_ERR_SOCKET' },
      requests: 1 + MAX_RETRIES,
    },
  ];

  for (const { name, bytes, type, detail, requests } of cases) {
    it(`${name} → ${type} after ${requests} request(s); the next revision is served`, async (t) => {
      const { api, fetcher } = await setup(t);
      api.setFallback({ kind: 'raw-bytes', bytes });
      const error = await fetchFailure(fetchRev(fetcher, 1));
      assert.equal(error.type, type);
      for (const [key, value] of Object.entries(detail)) assert.equal(error.details[key], value, key);
      assert.deepEqual(api.requestedRevIds(), Array<number>(requests).fill(1));
      api.setFallback({ kind: 'serve' });
      assert.equal((await fetchRev(fetcher, 2)).slots.main?.content, 'Text of 2');
      assert.equal(api.requests.length, requests + 1);
    });
  }

  it('a malformed answer once, then a good one: the retried kinds recover, the others do not', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'raw-bytes', bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{' });
    assert.equal((await fetchRev(fetcher, 3)).slots.main?.content, 'Text of 3');
    assert.deepEqual(
      api.requests.map((r) => r.behaviour),
      ['raw-bytes', 'serve'],
    );
    api.script({ kind: 'raw-bytes', bytes: 'garbage\r\n\r\n' });
    assert.equal((await fetchFailure(fetchRev(fetcher, 4))).type, 'ResponseFormatError');
    assert.equal(api.requests.length, 3);
  });

  it('a batch that gets a malformed answer fails every revision in it, and only those', async (t) => {
    const { api, fetcher } = await setup(t, { lingerMs: 50 });
    api.script({ kind: 'raw-bytes', bytes: 'HTTP/1.1 abc\r\n\r\n' });
    const results = await Promise.allSettled([fetchRev(fetcher, 5), fetchRev(fetcher, 6)]);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as EnrichmentError).type : 'ok')),
      ['ResponseFormatError', 'ResponseFormatError'],
    );
    assert.deepEqual(
      api.requests.map((r) => r.revIds),
      [[5, 6]],
    );
  });
});

describe('answers with hostile JSON', () => {
  it('100 000 levels of nesting as the whole body: ResponseFormatError, one request', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'raw', body: deep(100_000) });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'ResponseFormatError');
    assert.equal(error.details.reason, 'body is not a JSON object');
    assert.equal(api.requests.length, 1);
  });

  it('100 000 levels in place of the content: ResponseFormatError for that revision', async (t) => {
    const { api, fetcher } = await setup(t);
    const body = `{"query":{"pages":[{"pageid":1,"revisions":[{"revid":1,"slots":{"main":{"content":${deep(100_000)}}}}]}]}}`;
    api.script({ kind: 'raw', body });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'ResponseFormatError');
    assert.equal(error.details.reason, 'slot has no content');
  });

  it('100 000 levels in fields the parser ignores: the revision is read', async (t) => {
    const { api, fetcher } = await setup(t);
    const body = `{"deep":${deep(100_000)},"query":{"pages":[{"pageid":1,"x":${deep(100_000)},"revisions":[{"revid":1,"slots":{"main":{"content":"ok","y":${deep(100_000)}}}}]}]}}`;
    api.script({ kind: 'raw', body });
    assert.equal((await fetchRev(fetcher, 1)).slots.main?.content, 'ok');
  });

  it('an error object nested 100 000 levels deep: ApiError without info, one request', async (t) => {
    const { api, fetcher } = await setup(t);
    api.script({ kind: 'raw', body: `{"error":{"code":"internal","info":${deep(100_000)}}}` });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(error.type, 'ApiError');
    assert.equal(error.details.api_info, '');
    assert.equal(api.requests.length, 1);
  });
});

describe('answer size: bounded on the wire and after decompression', () => {
  const LIMIT = MIB;

  it('an answer of exactly max_response_bytes is read; one byte more is not', async (t) => {
    const { api, fetcher } = await setup(t, { maxResponseBytes: LIMIT });
    const head = '{"query":{"pages":[{"pageid":1,"revisions":[{"revid":1,"slots":{"main":{"content":"';
    const tail = '"}}}]}]}}';
    const fill = (n: number) => head + 'x'.repeat(n - head.length - tail.length) + tail;
    const withLength = (body: string) => ({ 'content-length': String(Buffer.byteLength(body)) });
    api.script(
      { kind: 'raw', body: fill(LIMIT) },
      { kind: 'raw', body: fill(LIMIT), headers: withLength(fill(LIMIT)) },
      { kind: 'raw', body: fill(LIMIT + 1) },
      { kind: 'raw', body: fill(LIMIT + 1), headers: withLength(fill(LIMIT + 1)) },
    );
    for (let i = 0; i < 2; i += 1) {
      assert.equal(
        (await fetchRev(fetcher, 1)).slots.main?.content?.length,
        LIMIT - head.length - tail.length,
      );
    }
    const chunked = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(chunked.type, 'ResponseFormatError');
    assert.deepEqual(chunked.details, {
      reason: 'answer too large',
      counted: 'received',
      limit_bytes: LIMIT,
    });
    assert.match(chunked.message, /answer too large .*1048576 bytes, enrich\.max_response_bytes/);
    const declared = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(declared.details, {
      reason: 'answer too large',
      counted: 'declared',
      limit_bytes: LIMIT,
    });
    assert.equal(api.requests.length, 4);
  });

  it('a declared length over the limit is refused before the body is read, not retried', async (t) => {
    const { api, fetcher } = await setup(t, { maxResponseBytes: LIMIT });
    api.script({ kind: 'huge', bytes: 600 * MIB, declareLength: true });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(error.details, { reason: 'answer too large', counted: 'declared', limit_bytes: LIMIT });
    assert.equal(api.requests.length, 1);
    assert.ok(api.hugeBytesWritten < 64 * MIB, `the server wrote ${api.hugeBytesWritten} bytes`);
    assert.equal((await fetchRev(fetcher, 2)).slots.main?.content, 'Text of 2');
  });

  it('a chunked body is counted as it arrives and abandoned past the limit', async (t) => {
    const { api, fetcher } = await setup(t, { maxResponseBytes: LIMIT });
    api.script({ kind: 'huge', bytes: 600 * MIB });
    const error = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(error.details, { reason: 'answer too large', counted: 'received', limit_bytes: LIMIT });
    assert.equal(api.requests.length, 1);
    assert.ok(api.hugeBytesWritten < 64 * MIB, `the server wrote ${api.hugeBytesWritten} bytes`);
    assert.equal((await fetchRev(fetcher, 2)).slots.main?.content, 'Text of 2');
  });

  it('a gzip body is bounded after decompression, and compressed bytes by the same limit', async (t) => {
    const { api, fetcher } = await setup(t, { maxResponseBytes: LIMIT });
    const inflatesPast = gzipSync(Buffer.alloc(LIMIT + 1, ' '));
    assert.ok(inflatesPast.length < LIMIT);
    // Random bytes do not compress: their gzip form is larger than they are.
    const largerCompressed = gzipSync(randomBytes(LIMIT));
    assert.ok(largerCompressed.length > LIMIT);
    api.script(
      { kind: 'raw', body: inflatesPast, headers: { 'content-encoding': 'gzip' } },
      { kind: 'raw', body: largerCompressed, headers: { 'content-encoding': 'gzip' } },
      { kind: 'raw', body: Buffer.from('not gzip'), headers: { 'content-encoding': 'gzip' } },
      { kind: 'raw', body: '{}', headers: { 'content-encoding': 'br' } },
    );
    const inflated = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(inflated.details, {
      reason: 'answer too large',
      counted: 'decompressed',
      limit_bytes: LIMIT,
    });
    const compressed = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(compressed.details, {
      reason: 'answer too large',
      counted: 'received',
      limit_bytes: LIMIT,
    });
    const broken = await fetchFailure(fetchRev(fetcher, 1));
    assert.equal(broken.details.reason, 'gzip body does not decompress');
    const unknown = await fetchFailure(fetchRev(fetcher, 1));
    assert.deepEqual(unknown.details, { reason: 'unexpected content-encoding', encoding: 'br' });
    assert.equal(api.requests.length, 4);
  });
});

describe('wiki names through the fetcher', () => {
  it('a name that is not a plain host name is refused before any request, saying so', async (t) => {
    const { api, fetcher } = await setup(t);
    for (const domain of [
      'en.wikipedia.org\n',
      'en.wikipedia.org\r\n',
      'en.wikipedia.org\u2028',
      'en.wikipedia.org\u3000',
      'en.wikipedia.org\ufeff',
      ' en.wikipedia.org',
      'en.wikipedia.org\u00a0',
      'en.wikipedia.org.',
      'en.wikipedia.org:80',
    ]) {
      const error = await fetchFailure(fetchRev(fetcher, 1, domain));
      assert.equal(error.type, 'DomainNotAllowedError', JSON.stringify(domain));
      assert.match(error.message, /is not a plain host name/);
      assert.deepEqual(error.details, { domain, reason: 'not_host_name' });
    }
    assert.equal(api.requests.length, 0);
  });

  it('a name in capitals is the same wiki: one batch, the canonical Host header', async (t) => {
    const { api, fetcher } = await setup(t, { lingerMs: 50 });
    const [a, b] = await Promise.all([
      fetchRev(fetcher, 1, 'EN.Wikipedia.ORG'),
      fetchRev(fetcher, 2, DOMAIN),
    ]);
    assert.deepEqual([a.slots.main?.content, b.slots.main?.content], ['Text of 1', 'Text of 2']);
    assert.equal(api.requests.length, 1);
    assert.deepEqual(api.requests[0]?.revIds, [1, 2]);
    assert.equal(api.requests[0]?.headers.host, DOMAIN);
  });

  it('LOCALHOST goes through the route for localhost; localhost. is refused (the proxy is never bypassed)', async (t) => {
    const api = await MisbehavingApi.start();
    t.after(() => api.close());
    api.addRevision({ revId: 1, pageId: 1, title: 'A', slots: { main: { content: 'routed' } } });
    // Port 1 refuses connections: a request that skipped the route would end in ECONNREFUSED.
    const fetcher = makeFetcher(t, {
      endpointTemplate: 'http://{domain}:1/w/api.php',
      httpRoutes: { 'http://localhost:1': api.origin },
      allowedDomains: ['localhost'],
    });
    assert.equal((await fetchRev(fetcher, 1, 'LOCALHOST')).slots.main?.content, 'routed');
    assert.equal(api.requests[0]?.headers.host, 'localhost:1');
    const refused = await fetchFailure(fetchRev(fetcher, 1, 'localhost.'));
    assert.equal(refused.type, 'DomainNotAllowedError');
    assert.equal(api.requests.length, 1);
  });

  it('en.wikipedia.org. with a route is refused instead of building host "127.0.0.1:port."', async (t) => {
    const api = await MisbehavingApi.start();
    t.after(() => api.close());
    api.addRevision({ revId: 1, pageId: 1, title: 'A', slots: { main: { content: 'routed' } } });
    const fetcher = makeFetcher(t, {
      endpointTemplate: 'https://{domain}/w/api.php',
      httpRoutes: { 'https://en.wikipedia.org': api.origin },
    });
    const refused = await fetchFailure(fetchRev(fetcher, 1, 'en.wikipedia.org.'));
    assert.deepEqual(refused.details, { domain: 'en.wikipedia.org.', reason: 'not_host_name' });
    assert.equal(api.requests.length, 0);
    assert.equal((await fetchRev(fetcher, 1, 'EN.WIKIPEDIA.ORG')).slots.main?.content, 'routed');
    assert.equal(api.requests[0]?.headers.host, DOMAIN);
  });
});
