import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedMemo } from '../../../src/core/bounded-memo.js';

test('computes once per key, an undefined answer included, and never holds more than max keys', () => {
  const asked: string[] = [];
  const memo = boundedMemo((key: string) => {
    asked.push(key);
    return key.startsWith('x') ? undefined : key.toUpperCase();
  }, 3);
  assert.equal(memo('a'), 'A');
  assert.equal(memo('xa'), undefined);
  assert.equal(memo('a'), 'A');
  assert.equal(memo('xa'), undefined);
  assert.deepEqual(asked, ['a', 'xa']);
  memo('b');
  memo('c'); // the fourth key: the memory was full and starts again
  memo('a');
  memo('c');
  assert.deepEqual(asked, ['a', 'xa', 'b', 'c', 'a']);
});

test('a key whose computation throws is asked again', () => {
  let calls = 0;
  const memo = boundedMemo((key: number) => {
    calls++;
    if (key < 0) throw new Error('negative');
    return key;
  }, 10);
  assert.throws(() => memo(-1), /negative/);
  assert.throws(() => memo(-1), /negative/);
  assert.equal(calls, 2);
});
