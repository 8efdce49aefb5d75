import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerLifecycle, type PollControl } from '../../../src/connectors/kafka/consumer-lifecycle.js';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import { FakeConsumer, kafkaError, recordingDeps, settle, track, until } from './kafka-fake-consumer.js';

/** A poll loop that runs until it is closing and woken, logging into the consumer's calls. */
class FakeLoop implements PollControl {
  private closing = false;
  private end: (() => void) | undefined;

  constructor(private readonly calls: string[]) {}

  run(): Promise<void> {
    this.calls.push('loop runs');
    return new Promise((resolve) => (this.end = resolve));
  }

  stop(): void {
    this.calls.push('stop');
  }

  beginClose(): void {
    this.calls.push('closing');
    this.closing = true;
  }

  roomMade(force: boolean): void {
    this.calls.push(`room made${force ? ' (forced)' : ''}`);
    const end = this.end;
    // The loop notices on its next turn, as the real one does after its consume call returns.
    if (this.closing && end) {
      setImmediate(() => {
        this.calls.push('loop ends');
        end();
      });
    }
  }
}

function setup() {
  const consumer = new FakeConsumer();
  const loop = new FakeLoop(consumer.calls);
  let finishRebalances: () => void = () => undefined;
  const rebalances = {
    settled: () => {
      consumer.calls.push('wait for rebalances');
      return new Promise<void>((resolve) => (finishRebalances = resolve));
    },
  };
  const deps = recordingDeps();
  const lifecycle = new ConsumerLifecycle(
    consumer,
    loop,
    rebalances,
    { topics: ['a', 'b'], consumerGroup: 'g' },
    deps.logger,
    { connectTimeoutMs: 1000, pollTimeoutMs: 250 },
  );
  return { consumer, lifecycle, deps, finishRebalances: () => finishRebalances() };
}

describe('ConsumerLifecycle', () => {
  it('connects, sets the poll timeouts and subscribes before the loop runs, once', async () => {
    const { consumer, lifecycle } = setup();
    await Promise.all([lifecycle.start(), lifecycle.start()]);
    assert.deepEqual(consumer.calls, [
      'connect',
      'consume timeout 250',
      'timeout only for first message true',
      'subscribe a,b',
      'loop runs',
    ]);
  });

  it('closes in order: stop the records, end the loop, unsubscribe, disconnect, then wait for the last revocation', async () => {
    const { consumer, lifecycle, finishRebalances } = setup();
    await lifecycle.start();
    consumer.calls.splice(0);
    const closed = track(lifecycle.close());
    await until(() => consumer.calls.includes('wait for rebalances'));
    assert.deepEqual(consumer.calls, [
      'stop',
      'closing',
      'room made (forced)',
      'loop ends',
      'unsubscribe',
      'disconnect',
      'wait for rebalances',
    ]);
    await settle();
    assert.equal(closed.state, 'pending');
    finishRebalances();
    await until(() => closed.state === 'resolved');
    assert.equal(lifecycle.close(), lifecycle.close(), 'idempotent');
  });

  it('closing before the first read only stops: it never connects', async () => {
    const { consumer, lifecycle } = setup();
    await lifecycle.close();
    assert.deepEqual(consumer.calls, ['stop', 'closing']);
  });

  it('closing after a failed connect does not unsubscribe or disconnect', async () => {
    const { consumer, lifecycle } = setup();
    consumer.connectError = kafkaError(codes.ERR__TRANSPORT);
    await assert.rejects(lifecycle.start());
    await lifecycle.close();
    assert.deepEqual(consumer.calls, ['connect', 'stop', 'closing']);
  });

  it('logs a failed unsubscribe and still disconnects', async () => {
    const { consumer, lifecycle, deps, finishRebalances } = setup();
    await lifecycle.start();
    consumer.unsubscribeThrows = kafkaError(codes.ERR__STATE);
    const closed = lifecycle.close();
    await until(() => consumer.calls.includes('wait for rebalances'));
    finishRebalances();
    await closed;
    assert.ok(consumer.calls.includes('disconnect'));
    assert.ok(deps.logs.includes('warn: kafka unsubscribe failed'));
  });
});
