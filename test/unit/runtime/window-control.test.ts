import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlWindow, nextLimit } from '../../../src/runtime/window-control.js';
import { InFlightWindow } from '../../../src/runtime/window.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a loop saturated twice in a row shrinks the limit by a quarter down to the floor; spare time doubles it up to the capacity', () => {
  const shrinking: number[] = [];
  for (let limit = 1000; shrinking.length < 8;) {
    shrinking.push((limit = nextLimit(limit, 0.95, true, 256, 1000)));
  }
  assert.deepEqual(shrinking, [750, 562, 421, 315, 256, 256, 256, 256]);
  const growing: number[] = [];
  for (let limit = 256; growing.length < 3;) growing.push((limit = nextLimit(limit, 0.2, true, 256, 1000)));
  assert.deepEqual(growing, [512, 1000, 1000]);
  assert.equal(nextLimit(500, 1, false, 256, 1000), 500, 'one saturated interval alone holds');
  assert.equal(nextLimit(500, 0.8, true, 256, 1000), 500, 'between spare and saturated the limit holds');
  assert.equal(nextLimit(500, 0.9, true, 256, 1000), 375, 'saturated from 0.9 on');
  assert.equal(nextLimit(500, 0.75, false, 256, 1000), 500, 'spare below 0.75 only');
  assert.equal(nextLimit(100, 1, true, 256, 100), 100, 'a floor above the capacity keeps the capacity');
  assert.equal(nextLimit(2, 1, true, 1, 100), 1, 'a floor of one is reached');
});

test('resizing: a larger limit admits the waiters it has room for; a smaller one takes nobody back', async () => {
  const window = new InFlightWindow(10);
  assert.equal(window.limit, 10, 'the limit starts at the capacity');
  window.resize(2);
  assert.equal(window.limit, 2);
  assert.equal(window.acquire(), undefined);
  assert.equal(window.acquire(), undefined);
  const admitted: number[] = [];
  for (let i = 0; i < 4; i++) void window.acquire()!.then(() => admitted.push(i));
  window.resize(4);
  await sleep(0);
  assert.deepEqual(admitted, [0, 1], 'two more fit under 4, in arrival order');
  window.resize(1);
  assert.equal(window.inFlight, 4, 'nobody is taken back');
  for (let i = 0; i < 3; i++) window.release();
  await sleep(0);
  assert.deepEqual(admitted, [0, 1], 'one in flight is the limit: the queue still waits');
  window.release();
  await sleep(0);
  assert.deepEqual(admitted, [0, 1, 2]);
  window.resize(50);
  assert.equal(window.limit, 10, 'never above the capacity');
  window.resize(0);
  assert.equal(window.limit, 1, 'never below one record');
});

test('the controller starts the window at its capacity, follows the loop, and stops when told', async () => {
  const window = new InFlightWindow(100);
  // Saturated throughout, then spare, then saturated intervals that never follow one another.
  const loads = [1, 1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1, 1, 0.8, 1, 0.5];
  const limits: number[] = [];
  let calls = 0;
  const stop = controlWindow(window, {
    floor: 20,
    intervalMs: 2,
    utilization: () => {
      const load = loads[Math.min(calls++, loads.length - 1)]!;
      // The limit in force when the interval is measured: the one the last call set.
      limits.push(window.limit);
      return load;
    },
  });
  assert.equal(window.limit, 100, 'starts at the capacity');
  while (calls < loads.length) await sleep(2);
  stop();
  const stopped = calls;
  await sleep(20);
  assert.equal(calls, stopped, 'no call after the stop');
  assert.deepEqual(
    limits.slice(0, loads.length),
    [100, 100, 75, 56, 42, 31, 23, 20, 40, 80, 100, 100, 100, 100],
  );
});

test('a floor at or above the capacity leaves a window of fixed size, with no timer', async () => {
  const window = new InFlightWindow(16);
  let calls = 0;
  const stop = controlWindow(window, { floor: 16, intervalMs: 1, utilization: () => ++calls });
  assert.equal(window.limit, 16);
  await sleep(20);
  stop();
  assert.equal(calls, 0);
});
