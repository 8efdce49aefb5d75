import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorLogThrottle } from '../../../src/connectors/kafka/error-log-throttle.js';

test('logs the first error of a code, then one per interval with how many were left out; codes apart', () => {
  const throttle = new ErrorLogThrottle(1_000);
  assert.deepEqual(throttle.admit(-195, 0), { log: true, suppressed: 0 });
  assert.deepEqual(throttle.admit(-195, 10), { log: false, suppressed: 1 });
  assert.deepEqual(throttle.admit(-195, 999), { log: false, suppressed: 2 });
  assert.deepEqual(throttle.admit(-187, 999), { log: true, suppressed: 0 }, 'another code is logged');
  assert.deepEqual(throttle.admit(-195, 1_000), { log: true, suppressed: 2 });
  assert.deepEqual(throttle.admit(-195, 1_500), { log: false, suppressed: 1 });
});
