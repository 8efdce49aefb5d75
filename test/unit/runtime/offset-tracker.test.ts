import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OffsetTracker } from '../../../src/runtime/offset-tracker.js';

test('commits only the done prefix of each partition, whatever order outcomes finish in', () => {
  const t = new OffsetTracker();
  for (const o of [10, 11, 12, 15]) t.begin('a/0', o);
  t.begin('a/1', 0);
  assert.deepEqual([...t.committable()], []);
  t.done('a/0', 12);
  t.done('a/0', 11);
  assert.deepEqual([...t.committable()], [], 'offset 10 is not done, so nothing is committable');
  t.done('a/0', 10);
  assert.deepEqual([...t.committable()], [['a/0', 13]]);
  t.done('a/1', 0);
  t.done('a/0', 15);
  assert.deepEqual(Object.fromEntries(t.committable()), { 'a/0': 16, 'a/1': 1 });
  assert.equal(t.pending(), 0);
});

test('counts pending per partition and forgets revoked partitions', () => {
  const t = new OffsetTracker();
  t.begin('a/0', 1);
  t.begin('a/0', 2);
  t.begin('a/1', 5);
  assert.equal(t.pending(['a/0']), 2);
  assert.equal(t.pending(), 3);
  t.forget(['a/0']);
  t.done('a/0', 1);
  assert.deepEqual([...t.committable()], []);
  assert.equal(t.pending(), 1);
});

test('refuses offsets that go backwards in a partition', () => {
  const t = new OffsetTracker();
  t.begin('p', 5);
  assert.throws(() => t.begin('p', 5), /not after 5/);
});

test('keeps its memory bounded over a long run', () => {
  const t = new OffsetTracker();
  for (let i = 0; i < 100_000; i++) {
    t.begin('p', i);
    t.done('p', i);
  }
  assert.deepEqual([...t.committable()], [['p', 100_000]]);
  const state = (t as unknown as { partitions: Map<string, { offsets: number[] }> }).partitions.get('p')!;
  assert.ok(state.offsets.length < 3000, `offsets array holds ${state.offsets.length} entries`);
});
