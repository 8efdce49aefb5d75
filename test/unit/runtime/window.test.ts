import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightWindow } from '../../../src/runtime/window.js';

test('admits by count and by bytes, in arrival order', async () => {
  const window = new InFlightWindow(3, 100);
  assert.equal(window.acquire(60), undefined);
  assert.equal(window.acquire(30), undefined);
  const order: string[] = [];
  const big = window.acquire(50);
  const small = window.acquire(1);
  assert.ok(big && small, 'both wait: the first does not fit, the second queues behind it');
  void big.then(() => order.push('big'));
  void small.then(() => order.push('small'));
  window.release(60);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['big', 'small']);
  assert.equal(window.inFlight, 3);
  assert.equal(window.inFlightBytes, 81);
});

test('output bytes charged to a record hold back the next records until it is released', async () => {
  const window = new InFlightWindow(10, 100);
  assert.equal(window.acquire(10), undefined);
  window.charge(85);
  const next = window.acquire(10);
  assert.ok(next, 'input 10 + output 85 + 10 is over 100');
  let admitted = false;
  void next.then(() => (admitted = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(admitted, false);
  window.release(95);
  await next;
  assert.equal(window.inFlightBytes, 10);
});

test('a record heavier than the whole budget enters alone, so that no input stops the stream', async () => {
  const window = new InFlightWindow(10, 100);
  assert.equal(window.acquire(5), undefined);
  const huge = window.acquire(1000);
  assert.ok(huge);
  const after = window.acquire(1);
  assert.ok(after);
  window.release(5);
  await huge;
  assert.equal(window.inFlight, 1, 'the huge record is alone');
  window.release(1000);
  await after;
  assert.equal(window.inFlightBytes, 1);
});

test('idle resolves once the last record is released', async () => {
  const window = new InFlightWindow(2, 100);
  assert.equal(window.acquire(1), undefined);
  assert.equal(window.acquire(1), undefined);
  let idle = false;
  void window.idle().then(() => (idle = true));
  window.release(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(idle, false);
  window.release(1);
  await new Promise((r) => setImmediate(r));
  assert.equal(idle, true);
  assert.equal(window.inFlightBytes, 0);
});

test('bytes given back (an announced output that turned out smaller) admit the records waiting for them', async () => {
  const window = new InFlightWindow(10, 100);
  assert.equal(window.acquire(10), undefined);
  window.charge(200); // announced
  let admitted = false;
  const next = window.acquire(10);
  assert.ok(next, 'over the budget: the next record waits');
  void next.then(() => (admitted = true));
  await Promise.resolve();
  assert.equal(admitted, false);
  window.charge(-195); // the real output is 5 bytes: no record released, yet room again
  await next;
  assert.equal(admitted, true);
  assert.equal(window.inFlight, 2);
  assert.equal(window.inFlightBytes, 25);
});
