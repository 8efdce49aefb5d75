import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConsumerLifecycle,
  type LifecycleTiming,
  type PollControl,
} from '../../../src/connectors/kafka/consumer-lifecycle.js';
import type { Waits } from '../../../src/core/waits.js';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import { FakeConsumer, kafkaError, recordingDeps, settle, track, until } from './kafka-fake-consumer.js';

/** Waits as reported: part → why. */
function recordingWaits(): Waits & { current: Map<string, string> } {
  const current = new Map<string, string>();
  return { current, wait: (part, why) => current.set(part, why), clear: (part) => current.delete(part) };
}

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

function setup(timing: Partial<LifecycleTiming> = {}) {
  const consumer = new FakeConsumer();
  const loop = new FakeLoop(consumer.calls);
  let finishRebalances: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finishRebalances = resolve));
  const rebalances = {
    holding: false,
    settled: () => {
      consumer.calls.push('wait for rebalances');
      return finished;
    },
    holdsPartitions: () => rebalances.holding,
  };
  const deps = recordingDeps();
  const waits = recordingWaits();
  const lifecycle = new ConsumerLifecycle(
    consumer,
    loop,
    rebalances,
    { topics: ['a', 'b'], consumerGroup: 'g' },
    deps.logger,
    {
      connectTimeoutMs: 1000,
      pollTimeoutMs: 250,
      leaveTimeoutMs: 1000,
      retryMinMs: 5,
      retryMaxMs: 20,
      missingTopicMs: 60_000,
      ...timing,
    },
    waits,
  );
  return { consumer, lifecycle, deps, rebalances, waits, finishRebalances: () => finishRebalances() };
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

  it('closes in order: stop the records, end the loop, unsubscribe, serve the revocation, disconnect, then wait for the last revocation', async () => {
    const { consumer, lifecycle, finishRebalances } = setup();
    await lifecycle.start();
    consumer.calls.splice(0);
    consumer.consumeCounts.splice(0);
    const closed = track(lifecycle.close());
    await until(() => consumer.calls.includes('wait for rebalances'));
    assert.deepEqual(consumer.calls, [
      'stop',
      'closing',
      'room made (forced)',
      'loop ends',
      'unsubscribe',
      'wait for rebalances',
    ]);
    assert.deepEqual(consumer.consumeCounts, [1], 'one poll serves the revocation');
    await settle();
    assert.equal(closed.state, 'pending');
    finishRebalances();
    await until(() => closed.state === 'resolved');
    assert.deepEqual(consumer.calls.slice(-2), ['disconnect', 'wait for rebalances']);
    assert.equal(lifecycle.close(), lifecycle.close(), 'idempotent');
  });

  it('closing polls until the revocation released every partition, and once more, before it disconnects', async () => {
    const { consumer, lifecycle, rebalances, finishRebalances } = setup();
    await lifecycle.start();
    consumer.consumeCounts.splice(0);
    rebalances.holding = true;
    finishRebalances();
    const closed = track(lifecycle.close());
    await until(() => consumer.consumeCounts.length >= 3);
    assert.ok(!consumer.calls.includes('disconnect'), 'still serving the revocation');
    rebalances.holding = false;
    await until(() => closed.state === 'resolved');
    const polls = consumer.consumeCounts.length;
    assert.ok(polls >= 4, `${polls} polls: until released, then one more`);
  });

  it('closing gives up serving a revocation after leaveTimeoutMs and disconnects', async () => {
    const { consumer, lifecycle, rebalances, finishRebalances } = setup();
    await lifecycle.start();
    rebalances.holding = true;
    finishRebalances();
    await lifecycle.close();
    assert.ok(consumer.calls.includes('disconnect'));
  });

  it('closing before the first read only stops: it never connects', async () => {
    const { consumer, lifecycle } = setup();
    await lifecycle.close();
    assert.deepEqual(consumer.calls, ['stop', 'closing']);
  });

  it('closing after a refused connect does not unsubscribe or disconnect', async () => {
    const { consumer, lifecycle } = setup();
    consumer.connectError = kafkaError(codes.ERR__AUTHENTICATION);
    await assert.rejects(lifecycle.start(), { code: codes.ERR__AUTHENTICATION });
    await lifecycle.close();
    assert.deepEqual(consumer.calls, ['connect', 'stop', 'closing']);
  });

  it('an unreachable broker is waited for, with the wait reported, until it answers', async () => {
    const { consumer, lifecycle, waits } = setup();
    consumer.connectError = kafkaError(codes.ERR__TRANSPORT);
    const started = lifecycle.start();
    await until(() => consumer.calls.filter((c) => c === 'connect').length >= 3);
    assert.match(waits.current.get('kafka source') ?? '', /^broker unreachable/);
    consumer.connectError = undefined;
    await started;
    assert.equal(waits.current.size, 0);
    assert.deepEqual(consumer.calls.slice(-4), [
      'consume timeout 250',
      'timeout only for first message true',
      'subscribe a,b',
      'loop runs',
    ]);
    assert.ok(consumer.calls.filter((c) => c === 'connect').length >= 4);
  });

  it('closing while the broker is waited for ends the wait without subscribing', async () => {
    const { consumer, lifecycle } = setup({ retryMinMs: 60_000, retryMaxMs: 60_000 });
    consumer.connectError = kafkaError(codes.ERR__ALL_BROKERS_DOWN);
    const started = lifecycle.start();
    await until(() => consumer.calls.includes('connect'));
    await lifecycle.close();
    await started;
    assert.deepEqual(consumer.calls, ['connect', 'stop', 'closing']);
  });

  it('a topic missing from the cluster is waited for, then fails the source', async () => {
    const { consumer, lifecycle, waits } = setup({ missingTopicMs: 50 });
    consumer.clusterTopics = ['a'];
    await assert.rejects(lifecycle.start(), /topics b do not exist \(waited 0\.05 s\)/);
    assert.equal(waits.current.get('kafka source'), 'topics b do not exist yet');
    assert.ok(!consumer.calls.some((c) => c.startsWith('subscribe')));
  });

  it('a topic created while it is waited for is subscribed to', async () => {
    const { consumer, lifecycle, waits } = setup({ retryMinMs: 5 });
    consumer.clusterTopics = ['a'];
    const started = lifecycle.start();
    await until(() => waits.current.has('kafka source'));
    consumer.clusterTopics = ['a', 'b'];
    await started;
    assert.ok(consumer.calls.includes('subscribe a,b'));
    assert.equal(waits.current.size, 0);
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
