import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnrichmentError } from '../../../src/core/errors.js';
import {
  apiError,
  connectionError,
  httpStatusError,
  missingRevisionError,
  responseFormatError,
  timeoutError,
} from '../../../src/mediawiki/errors.js';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  decide,
  parseRetryAfter,
  type RetryPolicy,
} from '../../../src/mediawiki/retry-policy.js';

const policy: RetryPolicy = DEFAULT_RETRY_POLICY;
const fresh = { nowMs: 1_000_000, ingestedAtMs: 1_000_000 };
const middle = () => 0.5; // no jitter

describe('decide', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(
      { ...DEFAULT_RETRY_POLICY },
      {
        maxRetries: 3,
        initialDelayMs: 1000,
        multiplier: 2,
        maxDelayMs: 8000,
        jitter: 0.2,
        retryAfterCapMs: 30_000,
        recentEventWindowMs: 10_000,
      },
    );
  });

  it('retries timeouts, connection failures, 408, 429, 500, 502, 503, 504, maxlag and readonly', () => {
    const retried = [
      timeoutError('connect', 5000),
      timeoutError('headers', 30000),
      timeoutError('body', 30000),
      connectionError('ECONNRESET', 'reset'),
      connectionError('ECONNREFUSED', 'refused'),
      connectionError('UND_ERR_SOCKET', 'other side closed'),
      ...[408, 429, 500, 502, 503, 504].map((s) => httpStatusError(s)),
      apiError('maxlag', 'lagged'),
      apiError('readonly', 'read-only'),
    ];
    for (const error of retried) {
      assert.deepEqual(
        decide(error, 1, policy, fresh, middle),
        { retry: true, delayMs: 1000 },
        error.message,
      );
    }
  });

  it('does not retry 204, 3xx, other 4xx, other 5xx, bad bodies, other API errors, unknown names or bugs', () => {
    const final = [
      ...[204, 301, 302, 304, 400, 401, 403, 404, 410, 501, 505, 599].map((s) => httpStatusError(s)),
      responseFormatError('body is not JSON'),
      apiError('toomanyvalues', 'limit 50'),
      apiError('internal_api_error_DBQueryError', 'db'),
      connectionError('ENOTFOUND', 'no such host'),
      new TypeError('a bug'),
      new EnrichmentError('DomainNotAllowedError', 'no'),
    ];
    for (const error of final)
      assert.deepEqual(decide(error, 1, policy, fresh, middle), { retry: false }, String(error));
  });

  it('gives up after maxRetries retries', () => {
    const error = httpStatusError(503);
    assert.equal(decide(error, 3, policy, fresh, middle).retry, true);
    assert.deepEqual(decide(error, 4, policy, fresh, middle), { retry: false });
    assert.deepEqual(decide(error, 1, { ...policy, maxRetries: 0 }, fresh, middle), { retry: false });
  });

  it('retries a missing revision only while the event is recent', () => {
    const error = missingRevisionError(5, 'badrevids');
    assert.equal(decide(error, 1, policy, { nowMs: 10_000, ingestedAtMs: 1 }, middle).retry, true);
    assert.deepEqual(decide(error, 1, policy, { nowMs: 10_000, ingestedAtMs: 0 }, middle), { retry: false });
    assert.deepEqual(decide(error, 1, policy, { nowMs: 100_000, ingestedAtMs: 0 }, middle), { retry: false });
    assert.deepEqual(decide(error, 4, policy, fresh, middle), { retry: false });
  });

  it('honours Retry-After as a lower bound, capped', () => {
    assert.deepEqual(decide(apiError('maxlag', 'x', 5000), 1, policy, fresh, middle), {
      retry: true,
      delayMs: 5000,
    });
    assert.deepEqual(decide(httpStatusError(429, 120_000), 1, policy, fresh, middle), {
      retry: true,
      delayMs: 30_000,
    });
    // A Retry-After shorter than the backoff does not shorten it.
    assert.deepEqual(decide(httpStatusError(503, 0), 3, policy, fresh, middle), {
      retry: true,
      delayMs: 4000,
    });
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially up to maxDelayMs', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((a) => backoffDelayMs(a, policy, middle)),
      [1000, 2000, 4000, 8000, 8000, 8000],
    );
  });

  it('stays within ±jitter of the base delay', () => {
    for (const attempt of [1, 2, 3, 4]) {
      const base = Math.min(1000 * 2 ** (attempt - 1), 8000);
      assert.equal(
        backoffDelayMs(attempt, policy, () => 0),
        Math.round(base * 0.8),
      );
      assert.equal(
        backoffDelayMs(attempt, policy, () => 0.999999),
        Math.round(base * 1.1999996),
      );
      for (let i = 0; i < 200; i += 1) {
        const delay = backoffDelayMs(attempt, policy);
        assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `${delay} outside ${base} ±20 %`);
      }
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now), 7000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-3', now), undefined);
  });
});
