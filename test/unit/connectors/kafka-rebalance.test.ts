import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import { PartitionOwnership } from '../../../src/connectors/kafka/partition-ownership.js';
import { ReadAhead } from '../../../src/connectors/kafka/read-ahead.js';
import { RebalanceHandler } from '../../../src/connectors/kafka/rebalance.js';
import { FakeConsumer, kafkaError, message, recordingDeps, until } from './kafka-fake-consumer.js';

const ASSIGN = kafkaError(codes.ERR__ASSIGN_PARTITIONS);
const REVOKE = kafkaError(codes.ERR__REVOKE_PARTITIONS);
const tp = (...partitions: number[]) => partitions.map((partition) => ({ topic: 't', partition }));

/** A runtime whose drain of revoked partitions the test finishes by hand. */
class Runtime {
  readonly events: string[] = [];
  private finish: (() => void) | undefined;
  fail = false;

  onPartitionsRevoked(partitions: readonly string[]): Promise<void> {
    this.events.push(`drain ${partitions.join(',')}`);
    if (this.fail) return Promise.reject(new Error('drain failed'));
    return new Promise((resolve) => (this.finish = resolve));
  }

  get draining(): boolean {
    return this.finish !== undefined;
  }

  finishDrain(): void {
    const finish = this.finish;
    this.finish = undefined;
    finish?.();
  }
}

async function setup() {
  const consumer = new FakeConsumer();
  await new Promise((resolve) => consumer.connect({ timeout: 1 }, resolve));
  consumer.calls.splice(0);
  const ownership = new PartitionOwnership();
  const ahead = new ReadAhead({ maxRecords: 100, maxBytes: 1_000_000 }, (key) => ownership.isReading(key));
  const fetch = { paused: false, closing: false, roomMade: 0 };
  const runtime = new Runtime();
  const lostReported: string[][] = [];
  const deps = recordingDeps();
  const handler = new RebalanceHandler(
    consumer,
    ownership,
    ahead,
    {
      get paused() {
        return fetch.paused;
      },
      get closing() {
        return fetch.closing;
      },
      roomMade: () => fetch.roomMade++,
    },
    {
      listener: () => runtime,
      onAssignmentLost: (keys) => {
        consumer.calls.push(`lost ${keys.join(',')}`);
        lostReported.push([...keys]);
      },
    },
    deps,
  );
  return { consumer, ownership, ahead, fetch, runtime, lostReported, deps, handler };
}

function queued(ahead: ReadAhead): string[] {
  const out: string[] = [];
  for (let r = ahead.shift(); r; r = ahead.shift()) out.push(`${r.partition}@${r.offset}`);
  return out;
}

const committable = (ownership: PartitionOwnership) =>
  ownership
    .ownedOffsets(
      new Map([
        ['t/0', 1],
        ['t/1', 1],
      ]),
    )
    .map((o) => `${o.topic}/${o.partition}`);

describe('RebalanceHandler', () => {
  it('assigns incrementally, reads the partitions, and resumes them unless fetching is paused', async () => {
    const { consumer, ownership, fetch, handler, deps } = await setup();
    handler.onRebalance(ASSIGN, tp(0, 1));
    await handler.settled();
    assert.deepEqual(consumer.calls, ['assign t/0,t/1', 'resume t/0,t/1']);
    assert.deepEqual(
      [ownership.isReading('t/0'), ownership.isReading('t/1'), fetch.roomMade],
      [true, true, 1],
    );
    fetch.paused = true;
    handler.onRebalance(ASSIGN, tp(2));
    await handler.settled();
    assert.deepEqual(consumer.calls.slice(2), ['assign t/2', 'pause t/2']);
    assert.equal(deps.counts.get('kafka_rebalances_total{"kind":"assign"}'), 2);
  });

  it('revokes: drops fetched records at once, pauses, lets the runtime drain and commit, and unassigns only after', async () => {
    const { consumer, ownership, ahead, runtime, handler } = await setup();
    handler.onRebalance(ASSIGN, tp(0, 1));
    await handler.settled();
    ahead.add([message('t', 0, 0), message('t', 1, 0), message('t', 1, 1), message('t', 0, 1)]);
    consumer.calls.splice(0);

    handler.onRebalance(REVOKE, tp(1));
    await until(() => runtime.draining);
    assert.deepEqual(consumer.calls, ['pause t/1']);
    assert.deepEqual(runtime.events, ['drain t/1']);
    assert.equal(ownership.isReading('t/1'), false, 'no more records of t/1 are yielded');
    assert.deepEqual(committable(ownership), ['t/0', 't/1'], 'the drain may still commit t/1');
    assert.deepEqual(queued(ahead), ['t/0@0', 't/0@1']);

    runtime.finishDrain();
    await handler.settled();
    assert.deepEqual(consumer.calls, ['pause t/1', 'unassign t/1']);
    assert.deepEqual(committable(ownership), ['t/0']);
  });

  it('on a lost assignment, stops committing the partitions at once, reports them, then drains and unassigns', async () => {
    const { consumer, ownership, runtime, lostReported, handler, deps } = await setup();
    handler.onRebalance(ASSIGN, tp(0, 1));
    await handler.settled();
    consumer.calls.splice(0);
    consumer.lost = true;

    handler.onRebalance(REVOKE, tp(0, 1));
    await until(() => runtime.draining);
    assert.deepEqual(committable(ownership), [], 'another member owns them already');
    assert.deepEqual(lostReported, [['t/0', 't/1']]);
    assert.deepEqual([ownership.isLost('t/0'), ownership.isLost('t/1')], [true, true]);
    assert.deepEqual(consumer.calls, ['lost t/0,t/1', 'pause t/0,t/1']);
    runtime.finishDrain();
    await handler.settled();
    assert.deepEqual(consumer.calls.at(-1), 'unassign t/0,t/1');
    assert.equal(deps.counts.get('kafka_rebalances_total{"kind":"lost"}'), 1);

    consumer.lost = false;
    handler.onRebalance(ASSIGN, tp(0));
    await handler.settled();
    assert.deepEqual([ownership.isLost('t/0'), ownership.isLost('t/1')], [false, true]);
  });

  it('answers events one at a time: an assignment after a revocation waits for its drain', async () => {
    const { consumer, ownership, runtime, handler } = await setup();
    handler.onRebalance(ASSIGN, tp(0));
    handler.onRebalance(REVOKE, tp(0));
    handler.onRebalance(ASSIGN, tp(0));
    await until(() => runtime.draining);
    assert.deepEqual(consumer.calls, ['assign t/0', 'resume t/0', 'pause t/0']);
    runtime.finishDrain();
    await handler.settled();
    assert.deepEqual(consumer.calls, [
      'assign t/0',
      'resume t/0',
      'pause t/0',
      'unassign t/0',
      'assign t/0',
      'resume t/0',
    ]);
    assert.equal(ownership.isReading('t/0'), true);
  });

  it('forgets the last offsets of a revoked partition, so records re-read after a new assignment are kept', async () => {
    const { ahead, runtime, handler } = await setup();
    handler.onRebalance(ASSIGN, tp(0));
    await handler.settled();
    ahead.add([message('t', 0, 5)]);
    queued(ahead);
    handler.onRebalance(REVOKE, tp(0));
    handler.onRebalance(ASSIGN, tp(0));
    await until(() => runtime.draining);
    runtime.finishDrain();
    await handler.settled();
    ahead.add([message('t', 0, 3)]);
    assert.deepEqual(queued(ahead), ['t/0@3'], 'read again from the last committed offset');
  });

  it('while closing, unassigns at once without pausing or waiting for the runtime', async () => {
    const { consumer, fetch, runtime, handler } = await setup();
    handler.onRebalance(ASSIGN, tp(0));
    await handler.settled();
    consumer.calls.splice(0);
    fetch.closing = true;
    handler.onRebalance(REVOKE, tp(0));
    await handler.settled();
    assert.deepEqual([consumer.calls, runtime.events], [['unassign t/0'], []]);
  });

  it('logs a failed drain and still unassigns', async () => {
    const { consumer, runtime, handler, deps } = await setup();
    handler.onRebalance(ASSIGN, tp(0));
    runtime.fail = true;
    handler.onRebalance(REVOKE, tp(0));
    await handler.settled();
    assert.equal(consumer.calls.at(-1), 'unassign t/0');
    assert.ok(deps.logs.includes('error: onPartitionsRevoked failed'));
  });

  it('logs a rebalance error and changes nothing; a failing answer does not block later events', async () => {
    const { consumer, ownership, handler, deps } = await setup();
    handler.onRebalance(kafkaError(codes.ERR__FAIL), tp(0));
    await handler.settled();
    assert.deepEqual([consumer.calls, ownership.isReading('t/0')], [[], false]);
    assert.ok(deps.logs.includes('error: kafka rebalance error'));
    consumer.incrementalAssign = () => {
      throw new Error('not connected');
    };
    handler.onRebalance(ASSIGN, tp(0));
    await handler.settled();
    assert.ok(deps.logs.includes('error: kafka rebalance handling failed'));
    delete (consumer as Partial<FakeConsumer>).incrementalAssign;
    handler.onRebalance(ASSIGN, tp(1));
    await handler.settled();
    assert.equal(ownership.isReading('t/1'), true);
  });
});
