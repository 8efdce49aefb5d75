import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindow } from '../../../src/runtime/status/rate-window.js';

const values = (entries: Record<string, number>) => new Map(Object.entries(entries));

test('rates are measured from the newest sample at least a window old, per second', () => {
  const window = new RateWindow(60_000, 100);
  window.add(0, values({ a: 0 }));
  window.add(30_000, values({ a: 300 }));
  window.add(61_000, values({ a: 1000 }));
  // At 90 s the sample at 30 s is the newest one a minute old: (1900 - 300) / 60 s.
  window.add(90_000, values({ a: 1900 }));
  const at90 = window.rates(90_000, values({ a: 1900 }));
  assert.deepEqual(at90, { perSecond: values({ a: 1600 / 60 }), spanSeconds: 60 });
  assert.equal(window.size, 3, 'the sample at 0 s is dropped once the one at 30 s is old enough');
});

test('no rate before a sample is a second old; a counter missing from the base counts from 0', () => {
  const window = new RateWindow(60_000, 100);
  assert.equal(window.rates(0, values({ a: 1 })), undefined);
  window.add(0, values({ a: 10 }));
  assert.equal(window.rates(500, values({ a: 20 })), undefined);
  assert.deepEqual(window.rates(2_000, values({ a: 30, b: 4 }))?.perSecond, values({ a: 10, b: 2 }));
});

test('memory stays bounded: at most maxSamples, whatever the sampling', () => {
  const window = new RateWindow(60_000, 5);
  for (let i = 0; i < 1000; i++) window.add(i, values({ a: i }));
  assert.equal(window.size, 5);
  // The base is then the oldest of the last five samples (995 at 995 ms): 1004 in 1.004 s.
  assert.deepEqual(window.rates(1999, values({ a: 1999 })), {
    perSecond: values({ a: 1000 }),
    spanSeconds: 1.004,
  });
});
