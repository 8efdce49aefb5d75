import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POLL_BATCH, ReadAhead } from '../../../src/connectors/kafka/read-ahead.js';
import { message } from './kafka-fake-consumer.js';

function readAhead(maxRecords: number, maxBytes: number, wanted = (_key: string) => true): ReadAhead {
  return new ReadAhead({ maxRecords, maxBytes }, wanted);
}

/** Passes `calls` one-byte records through, one per consume call, so the size estimate drops to 1 byte. */
function learnSmallRecords(ahead: ReadAhead, calls = 32): void {
  for (let offset = 0; offset < calls; offset++) {
    ahead.add([message('warm-up', 0, offset, 1)]);
    ahead.shift();
  }
}

function offsets(ahead: ReadAhead): string[] {
  const out: string[] = [];
  for (let r = ahead.shift(); r; r = ahead.shift()) out.push(`${r.partition}@${r.offset}`);
  return out;
}

describe('ReadAhead', () => {
  it('takes one record while sizes are unknown, then as many as fit under the byte bound given the largest recent record', () => {
    const ahead = readAhead(100, 10_000);
    const sizes: number[] = [];
    let offset = 0;
    for (let call = 0; call < 5; call++) {
      const n = ahead.batchSize(1);
      sizes.push(n);
      ahead.add(Array.from({ length: n }, () => message('t', 0, offset++, 1000)));
    }
    // The estimate starts at the whole bound (10,000) and halves towards the real size (1,000):
    // 10,000/10,000; 9,000/5,000; 8,000/2,500; 5,000/1,250; 1,000/1,000.
    assert.deepEqual(sizes, [1, 1, 3, 4, 1]);
    assert.deepEqual([ahead.length, ahead.bytes, ahead.isFull(1)], [10, 10_000, true]);
    assert.equal(ahead.batchSize(1), 1, 'a full read-ahead still polls one record at a time');
  });

  it('bounds a batch by the count left, by POLL_BATCH, and takes at least one record', () => {
    const small = readAhead(10, 1_000_000);
    learnSmallRecords(small);
    small.add([message('t', 0, 0, 1)]);
    assert.equal(small.batchSize(1), 9);
    const large = readAhead(100_000, 1_000_000);
    learnSmallRecords(large);
    assert.equal(large.batchSize(1), POLL_BATCH);
  });

  it('lets a record larger than the whole byte bound pass alone', () => {
    const ahead = readAhead(100, 1000);
    ahead.add([message('t', 0, 0, 5000)]);
    assert.deepEqual([ahead.isFull(1), ahead.batchSize(1)], [true, 1]);
    assert.equal(ahead.shift()?.value.length, 5000);
    assert.deepEqual([ahead.isFull(1), ahead.batchSize(1)], [false, 1]);
  });

  it('forgets one huge record by halving its estimate on every call', () => {
    const ahead = readAhead(1000, 100_000);
    ahead.add([message('t', 0, 0, 80_000)]);
    ahead.shift();
    const sizes: number[] = [];
    for (let offset = 1; offset <= 8; offset++) {
      sizes.push(ahead.batchSize(1));
      ahead.add([message('t', 0, offset, 100)]);
      ahead.shift();
    }
    // 100,000 divided by 80,000, 40,000, 20,000, …: the estimate halves on every call.
    assert.deepEqual(sizes, [1, 2, 5, 10, 20, 40, 80, 160]);
  });

  it('doubles both bounds with a slack of 2 (a commit waits for its answer)', () => {
    const byCount = readAhead(4, 1_000_000);
    learnSmallRecords(byCount);
    byCount.add([0, 1, 2, 3].map((o) => message('t', 0, o, 10)));
    assert.deepEqual([byCount.isFull(1), byCount.isFull(2)], [true, false]);
    assert.equal(byCount.batchSize(2), 4);
    const byBytes = readAhead(1000, 1000);
    byBytes.add([message('t', 0, 0, 1000)]);
    assert.deepEqual([byBytes.isFull(1), byBytes.isFull(2)], [true, false]);
    assert.equal(byBytes.batchSize(2), 1);
  });

  it('counts keys as well as values', () => {
    const ahead = readAhead(100, 1000);
    ahead.add([message('t', 0, 0, 990, 'page-12345')]);
    assert.deepEqual([ahead.bytes, ahead.isFull(1)], [1000, true]);
  });

  it('has room again below three quarters of both bounds, not after every record', () => {
    const ahead = readAhead(8, 1000);
    ahead.add([0, 1, 2, 3, 4, 5, 6].map((o) => message('t', 0, o, 10)));
    assert.equal(ahead.hasRoom(), false, '7 of 8 records');
    ahead.shift();
    assert.equal(ahead.hasRoom(), true, '6 of 8 records');
    const bytes = readAhead(100, 1000);
    bytes.add([message('t', 0, 0, 500), message('t', 0, 1, 251)]);
    assert.equal(bytes.hasRoom(), false, '751 of 1000 bytes');
    bytes.shift();
    assert.equal(bytes.hasRoom(), true);
  });

  it('skips records re-delivered after a pause and resume, until the partition is forgotten', () => {
    const ahead = readAhead(100, 1_000_000);
    ahead.add([0, 1, 2].map((o) => message('t', 0, o)));
    ahead.add([1, 2, 3].map((o) => message('t', 0, o)).concat(message('t', 1, 0)));
    assert.deepEqual(offsets(ahead), ['t/0@0', 't/0@1', 't/0@2', 't/0@3', 't/1@0']);
    ahead.add([message('t', 0, 2)]);
    assert.deepEqual(offsets(ahead), []);
    ahead.forget(['t/0']);
    ahead.add([message('t', 0, 2)]);
    assert.deepEqual(offsets(ahead), ['t/0@2']);
  });

  it('keeps only records of wanted partitions, drops a revoked partition, and takes nothing once stopped', () => {
    const ahead = readAhead(100, 1_000_000, (key) => key !== 't/2');
    ahead.add([message('t', 0, 0), message('t', 1, 0), message('t', 2, 0), message('t', 1, 1)]);
    ahead.drop(['t/1']);
    assert.deepEqual(offsets(ahead), ['t/0@0']);
    ahead.add([message('t', 0, 1)]);
    ahead.stop();
    ahead.add([message('t', 0, 2)]);
    assert.deepEqual([ahead.stopped, ahead.length, ahead.bytes], [true, 0, 0]);
  });

  it('turns a message into a record: string key as bytes, missing value empty, no negative timestamp', () => {
    const ahead = readAhead(100, 1_000_000);
    ahead.add([
      { topic: 't', partition: 3, offset: 7, key: 'k', value: null, timestamp: -1 },
      { topic: 't', partition: 3, offset: 8, value: Buffer.from('v'), timestamp: 42 },
    ]);
    assert.deepEqual(ahead.shift(), {
      partition: 't/3',
      offset: 7,
      key: Buffer.from('k'),
      value: Buffer.alloc(0),
    });
    assert.deepEqual(ahead.shift(), {
      partition: 't/3',
      offset: 8,
      key: null,
      value: Buffer.from('v'),
      timestamp: 42,
    });
  });
});
