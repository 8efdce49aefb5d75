import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { ConsumerHandlers } from '../../../src/connectors/kafka/consumer-client.js';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import { KafkaSource } from '../../../src/connectors/kafka/source.js';
import type { SourceListener, SourceRecord } from '../../../src/connectors/types.js';
import {
  FakeConsumer,
  kafkaError,
  message,
  recordingDeps,
  settle,
  track,
  until,
  FAKE_SOURCE_CONFIG,
} from './kafka-fake-consumer.js';

const CONFIG = FAKE_SOURCE_CONFIG;

const ASSIGN = kafkaError(codes.ERR__ASSIGN_PARTITIONS);
const REVOKE = kafkaError(codes.ERR__REVOKE_PARTITIONS);
const tp = (...partitions: number[]) => partitions.map((partition) => ({ topic: 't', partition }));

/** Remembers the partitions the group took away. */
class ProbeSource extends KafkaSource {
  readonly lostReported: string[][] = [];

  protected override onAssignmentLost(keys: readonly string[]): void {
    this.lostReported.push([...keys]);
  }
}

interface Reading {
  consumer: FakeConsumer;
  handlers: ConsumerHandlers;
  source: ProbeSource;
  records: AsyncIterator<SourceRecord>;
  /** Pending first record, asked for before the assignment. */
  first: Promise<IteratorResult<SourceRecord>>;
}

/** A source over a fake consumer, reading, with partitions `assigned` of topic t. */
async function reading(
  t: TestContext,
  listener: SourceListener,
  assigned: number[],
  config = CONFIG,
): Promise<Reading> {
  const consumer = new FakeConsumer();
  const source = new ProbeSource(config, recordingDeps(), 'properties', (handlers) => {
    consumer.handlers = handlers;
    return consumer;
  });
  t.after(() => {
    // A commit left waiting by a failed test would hold its revocation, and so the close, for ever.
    consumer.handlers?.onCommitResult(kafkaError(codes.ERR__DESTROY), undefined);
    return source.close();
  });
  const records = source.records(listener)[Symbol.asyncIterator]();
  const first = records.next();
  await until(() => consumer.calls.includes('subscribe t'));
  const handlers = consumer.handlers!;
  handlers.onRebalance(ASSIGN, tp(...assigned));
  await until(() =>
    consumer.calls.includes(
      `assign ${tp(...assigned)
        .map((p) => `t/${p.partition}`)
        .join(',')}`,
    ),
  );
  return { consumer, handlers, source, records, first };
}

const noDrain: SourceListener = { onPartitionsRevoked: async () => undefined };

async function offsetOf(result: Promise<IteratorResult<SourceRecord>>): Promise<string> {
  const { value, done } = await result;
  return done ? 'done' : `${value.partition}@${value.offset}`;
}

describe('KafkaSource over a fake consumer', () => {
  it('yields the assigned partitions’ records in order and resolves a commit on the coordinator’s answer', async (t) => {
    const { consumer, handlers, source, records, first } = await reading(t, noDrain, [0]);
    consumer.supply(message('t', 0, 0), message('t', 0, 1), message('t', 9, 0), message('t', 0, 2));
    assert.deepEqual(
      [await offsetOf(first), await offsetOf(records.next()), await offsetOf(records.next())],
      ['t/0@0', 't/0@1', 't/0@2'],
    );
    const commit = track(
      source.commit(
        new Map([
          ['t/0', 3],
          ['t/9', 1],
        ]),
      ),
    );
    await until(() => consumer.commits.length === 1);
    assert.equal(consumer.calls.at(-1), 'commit t/0@3');
    await settle();
    assert.equal(commit.state, 'pending', 'queued is not committed');
    handlers.onCommitResult(undefined, consumer.commits[0]);
    await until(() => commit.state === 'resolved');
  });

  it('revokes after the runtime drained and committed, and yields no more of the revoked partition', async (t) => {
    const runtime: { source?: KafkaSource } = {};
    const listener: SourceListener = {
      onPartitionsRevoked: async (partitions) => {
        assert.deepEqual(partitions, ['t/1']);
        await runtime.source!.commit(new Map([['t/1', 1]]));
      },
    };
    const { consumer, handlers, source, records, first } = await reading(t, listener, [0, 1]);
    runtime.source = source;
    consumer.supply(message('t', 1, 0));
    assert.equal(await offsetOf(first), 't/1@0');
    consumer.calls.splice(0);
    handlers.onRebalance(REVOKE, tp(1));
    await until(() => consumer.commits.length === 1);
    assert.deepEqual(consumer.calls, ['pause t/1', 'commit t/1@1'], 'the group waits: not unassigned yet');
    consumer.supply(message('t', 1, 1), message('t', 0, 0));
    handlers.onCommitResult(undefined, consumer.commits[0]);
    await until(() => consumer.calls.includes('unassign t/1'));
    assert.equal(await offsetOf(records.next()), 't/0@0');
  });

  it('on a lost assignment, reports it, and the drain commits nothing of the lost partitions', async (t) => {
    const runtime: { source?: KafkaSource } = {};
    const drainCommits = {
      onPartitionsRevoked: (partitions: readonly string[]) =>
        runtime.source!.commit(new Map(partitions.map((p) => [p, 5]))),
    };
    const { consumer, handlers, source } = await reading(t, drainCommits, [0, 1]);
    runtime.source = source;
    consumer.lost = true;
    handlers.onRebalance(REVOKE, tp(1));
    await until(() => consumer.calls.includes('unassign t/1') || consumer.commits.length > 0);
    assert.deepEqual(consumer.commits, [], 'the new owner reads them again from the last commit');
    assert.deepEqual(source.lostReported, [['t/1']]);
  });

  it('lets the read-ahead grow to twice its bound while a commit waits, so that the answer behind it is reached', async (t) => {
    const { consumer, handlers, source } = await reading(t, noDrain, [0], {
      ...CONFIG,
      maxBufferedRecords: 4,
    });
    consumer.supply(...Array.from({ length: 20 }, (_, offset) => message('t', 0, offset)));
    await until(() => consumer.calls.includes('pause t/0'));
    // One record went to the read already waiting, four fill the read-ahead.
    assert.equal(consumer.unfetched, 15);
    const polls = consumer.consumeCounts.length;
    const commit = source.commit(new Map([['t/0', 0]]));
    await until(() => consumer.unfetched === 11 || consumer.consumeCounts.length > polls + 100);
    assert.equal(consumer.unfetched, 11, 'four more records: twice the bound');
    assert.deepEqual(consumer.calls.slice(-3), ['pause t/0', 'commit t/0@0', 'resume t/0']);
    handlers.onCommitResult(undefined, consumer.commits[0]);
    await commit;
  });

  it('closes while a commit waits: the close runs in order without it, and a late answer still settles it', async (t) => {
    const { consumer, handlers, source } = await reading(t, noDrain, [0]);
    const commit = track(source.commit(new Map([['t/0', 1]])));
    await until(() => consumer.commits.length === 1);
    consumer.calls.splice(0);
    await source.close();
    assert.deepEqual(consumer.calls, ['pause t/0', 'unsubscribe', 'unassign t/0', 'disconnect']);
    assert.equal(commit.state, 'pending');
    handlers.onCommitResult(undefined, consumer.commits[0]);
    await until(() => commit.state === 'resolved');
  });

  it('ends the records on stop', async (t) => {
    const stopped = await reading(t, noDrain, [0]);
    stopped.source.stop();
    assert.equal(await offsetOf(stopped.first), 'done');
  });

  it('can be read only once', async (t) => {
    const { source } = await reading(t, noDrain, [0]);
    await assert.rejects(source.records(noDrain)[Symbol.asyncIterator]().next(), /only be iterated once/);
  });
});
