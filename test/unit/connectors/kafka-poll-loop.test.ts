import type { RdKafka } from '@confluentinc/kafka-javascript';
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { codes, KafkaClientError } from '../../../src/connectors/kafka/kafka-error.js';
import { PartitionOwnership } from '../../../src/connectors/kafka/partition-ownership.js';
import { PollLoop } from '../../../src/connectors/kafka/poll-loop.js';
import { ReadAhead } from '../../../src/connectors/kafka/read-ahead.js';
import { FakeConsumer, kafkaError, message, recordingDeps, until } from './kafka-fake-consumer.js';

interface Setup {
  consumer: FakeConsumer;
  ownership: PartitionOwnership;
  ahead: ReadAhead;
  loop: PollLoop;
  deps: ReturnType<typeof recordingDeps>;
  running: Promise<void>;
}

/** A running loop over partition t/0 of a connected fake holding `fetchable`; the loop ends with the test. */
async function start(
  t: TestContext,
  bounds: { maxRecords: number; maxBytes: number },
  fetchable: RdKafka.Message[] = [],
  commitWaiting = () => false,
): Promise<Setup> {
  const consumer = new FakeConsumer();
  consumer.supply(...fetchable);
  await new Promise((resolve) => consumer.connect({ timeout: 1 }, resolve));
  consumer.calls.splice(0);
  const ownership = new PartitionOwnership();
  ownership.assign(['t/0']);
  const ahead = new ReadAhead(bounds, (key) => ownership.isReading(key));
  const deps = recordingDeps();
  const loop = new PollLoop(consumer, ahead, ownership, commitWaiting, deps, {
    stallMs: 20,
    commitStallMs: 5,
  });
  const running = loop.run();
  t.after(async () => {
    loop.beginClose();
    loop.roomMade(true);
    await running;
  });
  return { consumer, ownership, ahead, loop, deps, running };
}

async function take(loop: PollLoop, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await loop.next();
    out.push(r ? `${r.partition}@${r.offset}` : 'end');
  }
  return out;
}

function range(from: number, to: number, bytes = 10): ReturnType<typeof message>[] {
  return Array.from({ length: to - from }, (_, i) => message('t', 0, from + i, bytes));
}

describe('PollLoop', () => {
  it('fills the read-ahead up to its bound, pauses when nobody pulls, and resumes once a pull makes room', async (t) => {
    const { consumer, ahead, loop } = await start(t, { maxRecords: 4, maxBytes: 1_000_000 }, range(0, 10));
    await until(() => consumer.calls.includes('pause t/0'));
    assert.deepEqual([ahead.length, consumer.unfetched], [4, 6]);
    assert.equal(consumer.consumeCounts[0], 1, 'the first call takes one record: sizes are unknown');
    const pausedAt = consumer.consumeCounts.length;
    await until(() => consumer.consumeCounts.length > pausedAt + 2);
    assert.ok(
      consumer.consumeCounts.slice(pausedAt).every((n) => n === 1),
      'paused, the loop still polls (for commit answers and rebalances), one record at a time',
    );
    assert.equal(ahead.length, 4);
    assert.deepEqual(await take(loop, 1), ['t/0@0']);
    assert.deepEqual(consumer.calls, ['pause t/0', 'resume t/0'], 'three of four left is room enough');
    assert.deepEqual(
      await take(loop, 9),
      range(1, 10).map((m) => `t/0@${m.offset}`),
    );
  });

  it('while a commit waits for its answer, reads up to twice the bound before it pauses', async (t) => {
    const { consumer, ahead } = await start(
      t,
      { maxRecords: 4, maxBytes: 1_000_000 },
      range(0, 20),
      () => true,
    );
    await until(() => consumer.calls.includes('pause t/0'));
    assert.deepEqual([ahead.length, consumer.unfetched], [8, 12]);
  });

  it('sizes each consume call by the bytes left and the largest recent record', async (t) => {
    const { consumer, ahead } = await start(t, { maxRecords: 100, maxBytes: 10_000 }, range(0, 10, 1000));
    await until(() => consumer.calls.includes('pause t/0'));
    assert.deepEqual(consumer.consumeCounts.slice(0, 5), [1, 1, 3, 4, 1]);
    assert.deepEqual([ahead.length, ahead.bytes], [10, 10_000]);
  });

  it('yields a record re-delivered after a pause and resume once', async (t) => {
    const { consumer, loop } = await start(t, { maxRecords: 100, maxBytes: 1_000_000 });
    consumer.supply(...range(0, 3));
    assert.deepEqual(await take(loop, 3), ['t/0@0', 't/0@1', 't/0@2']);
    consumer.supply(...range(1, 5));
    assert.deepEqual(await take(loop, 2), ['t/0@3', 't/0@4']);
  });

  it('does not yield records of a partition being revoked', async (t) => {
    const { consumer, ownership, ahead, loop } = await start(t, { maxRecords: 100, maxBytes: 1_000_000 });
    ownership.assign(['t/1']);
    consumer.supply(message('t', 1, 0), message('t', 0, 0), message('t', 1, 1));
    await until(() => ahead.length === 3);
    ownership.beginRevoke(['t/1'], false);
    consumer.supply(message('t', 0, 1));
    assert.deepEqual(await take(loop, 2), ['t/0@0', 't/0@1']);
  });

  it('logs a transient consume failure and polls again; a fatal one ends the loop and fails next()', async (t) => {
    const { consumer, loop, deps, running } = await start(t, { maxRecords: 100, maxBytes: 1_000_000 });
    consumer.consumeErrors.push(kafkaError(codes.ERR__TRANSPORT));
    consumer.supply(...range(0, 2));
    assert.deepEqual(await take(loop, 2), ['t/0@0', 't/0@1']);
    assert.ok(deps.logs.includes('warn: kafka consume failed; polling again'));
    consumer.consumeErrors.push(kafkaError(codes.ERR__FATAL, { isFatal: true }));
    await running;
    await assert.rejects(loop.next(), (err) => err instanceof KafkaClientError && err.fatal);
  });

  it('stop: next() ends, the read-ahead empties, fetching pauses and takes no more records', async (t) => {
    const { consumer, ahead, loop } = await start(t, { maxRecords: 100, maxBytes: 1_000_000 });
    consumer.supply(...range(0, 3));
    await until(() => ahead.length === 3);
    const waiting = (async () => {
      await take(loop, 3);
      return loop.next();
    })();
    await until(() => ahead.length === 0);
    loop.stop();
    assert.equal(await waiting, undefined);
    consumer.supply(...range(3, 5));
    const calls = consumer.consumeCounts.length;
    await until(() => consumer.consumeCounts.length > calls + 1);
    assert.deepEqual([ahead.length, consumer.unfetched], [0, 2]);
    assert.deepEqual([loop.paused, consumer.calls], [true, ['pause t/0']]);
    assert.equal(await loop.next(), undefined);
  });

  it('ends when closing', async (t) => {
    const { loop, running } = await start(t, { maxRecords: 100, maxBytes: 1_000_000 });
    loop.beginClose();
    await running;
    assert.equal(loop.closing, true);
  });
});
