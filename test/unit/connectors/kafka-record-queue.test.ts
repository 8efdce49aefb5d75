import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordQueue } from '../../../src/connectors/kafka/record-queue.js';
import type { SourceRecord } from '../../../src/connectors/types.js';

function record(
  partition: string,
  offset: number,
  valueBytes: number,
  key: string | null = 'k',
): SourceRecord {
  return { partition, offset, key: key === null ? null : Buffer.from(key), value: Buffer.alloc(valueBytes) };
}

describe('RecordQueue', () => {
  it('counts the bytes of values and keys it holds through push, shift, partition removal and clear', () => {
    const queue = new RecordQueue();
    queue.push(record('t/0', 0, 100));
    queue.push(record('t/1', 0, 1000, null));
    queue.push(record('t/0', 1, 10, 'key'));
    assert.equal(queue.bytes, 101 + 1000 + 13);
    assert.equal(queue.shift()?.offset, 0);
    assert.equal(queue.bytes, 1000 + 13);
    assert.equal(queue.removePartitions(new Set(['t/1'])), 1);
    assert.deepEqual([queue.length, queue.bytes], [1, 13]);
    queue.clear();
    assert.deepEqual([queue.length, queue.bytes, queue.shift()], [0, 0, undefined]);
  });

  it('keeps its count of bytes across the compaction of a long queue', () => {
    const queue = new RecordQueue();
    for (let i = 0; i < 5000; i++) queue.push(record('t/0', i, i % 7, null));
    let expected = 0;
    for (let i = 0; i < 5000; i++) expected += i % 7;
    for (let i = 0; i < 3000; i++) expected -= queue.shift()!.value.length;
    assert.deepEqual([queue.length, queue.bytes], [2000, expected]);
    while (queue.shift()) {}
    assert.equal(queue.bytes, 0);
  });
});
