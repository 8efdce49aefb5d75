import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { DEFAULT_MEDIAWIKI_OPTIONS, resolveMediaWikiOptions } from '../../../src/mediawiki/options.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/mediawiki/retry-policy.js';

const endpointTemplate = 'https://{domain}/w/api.php';

function configErrorKey(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.key;
  }
  assert.fail('no ConfigError');
}

describe('resolveMediaWikiOptions', () => {
  it('fills the documented defaults', () => {
    const options = resolveMediaWikiOptions({ endpointTemplate });
    assert.equal(options.batchSize, 50);
    assert.equal(options.lingerMs, 5);
    assert.equal(options.apiHighLimits, false);
    assert.equal(options.maxConcurrentRequests, 8);
    assert.equal(options.connectTimeoutMs, 5000);
    assert.equal(options.readTimeoutMs, 30_000);
    assert.equal(options.maxlag, 5);
    assert.deepEqual(options.retry, DEFAULT_RETRY_POLICY);
    assert.deepEqual(options.allowedDomains, DEFAULT_MEDIAWIKI_OPTIONS.allowedDomains);
    assert.ok(Object.isFrozen(options));
  });

  it('never mutates its input and merges a partial retry policy', () => {
    const input = { endpointTemplate, batchSize: 20, retry: { maxRetries: 1 } };
    const copy = structuredClone(input);
    const options = resolveMediaWikiOptions(input);
    assert.deepEqual(input, copy);
    assert.equal(options.batchSize, 20);
    assert.equal(options.retry.maxRetries, 1);
    assert.equal(options.retry.initialDelayMs, 1000);
  });

  it('allows more than 50 ids per request only with apiHighLimits, and never more than 500', () => {
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, batchSize: 51 })),
      'batchSize',
    );
    assert.equal(
      resolveMediaWikiOptions({ endpointTemplate, batchSize: 500, apiHighLimits: true }).batchSize,
      500,
    );
    assert.equal(
      configErrorKey(() =>
        resolveMediaWikiOptions({ endpointTemplate, batchSize: 501, apiHighLimits: true }),
      ),
      'batchSize',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, batchSize: 0 })),
      'batchSize',
    );
  });

  it('names the offending option', () => {
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate: 'ftp://x/api.php' })),
      'endpointTemplate',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate: 'not a url' })),
      'endpointTemplate',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, maxConcurrentRequests: 0 })),
      'maxConcurrentRequests',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, readTimeoutMs: 1.5 })),
      'readTimeoutMs',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, userAgent: ' ' })),
      'userAgent',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, retry: { jitter: 2 } })),
      'retry.jitter',
    );
    assert.equal(
      configErrorKey(() => resolveMediaWikiOptions({ endpointTemplate, retry: { multiplier: 0.5 } })),
      'retry.multiplier',
    );
  });
});
