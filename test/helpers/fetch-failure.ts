import assert from 'node:assert/strict';
import { EnrichmentError } from '../../src/core/errors.js';

/** The `EnrichmentError` a fetch rejects with; fails the test when it resolves or rejects otherwise. */
export async function fetchFailure(promise: Promise<unknown>): Promise<EnrichmentError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EnrichmentError, `expected an EnrichmentError, got ${String(error)}`);
    return error;
  }
  assert.fail('the fetch succeeded');
}
