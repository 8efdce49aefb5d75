import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { codes, KafkaClientError } from '../../../src/connectors/kafka/kafka-error.js';
import type { KafkaSourceConfig } from '../../../src/connectors/kafka/options.js';
import { KafkaSource, type ConsumerFactory } from '../../../src/connectors/kafka/source.js';
import type { SourceListener, SourceRecord } from '../../../src/connectors/types.js';
import {
  FAKE_SOURCE_CONFIG,
  FakeConsumer,
  kafkaError,
  message,
  recordingDeps,
  track,
  until,
} from './kafka-fake-consumer.js';

const CONFIG: KafkaSourceConfig = { ...FAKE_SOURCE_CONFIG, instanceId: 'pod-0' };

const ASSIGN = kafkaError(codes.ERR__ASSIGN_PARTITIONS);
const FENCED = kafkaError(codes.ERR__FATAL, { isFatal: true, message: 'Fatal error: fenced' });
const tp = (...partitions: number[]) => partitions.map((partition) => ({ topic: 't', partition }));

/** The exactly-once source's choice, without its producer. */
class NotReplaceable extends KafkaSource {
  protected override get replaceable(): boolean {
    return false;
  }
}

/** A source whose every client is a new fake (`clients`), reading; the runtime's revocations logged. */
async function fencedSetup(
  t: TestContext,
  make = (c: KafkaSourceConfig, d: ReturnType<typeof recordingDeps>, f: ConsumerFactory) =>
    new KafkaSource(c, d, 'properties', f),
) {
  const clients: FakeConsumer[] = [];
  const revoked: string[][] = [];
  const listener: SourceListener = {
    onPartitionsRevoked: async (partitions) => {
      revoked.push([...partitions]);
    },
  };
  const deps = recordingDeps();
  const source = make(CONFIG, deps, (handlers) => {
    const client = new FakeConsumer();
    client.handlers = handlers;
    clients.push(client);
    return client;
  });
  t.after(() => source.close());
  const records = source.records(listener)[Symbol.asyncIterator]();
  const first = records.next();
  await until(() => clients[0]!.calls.includes('subscribe t'));
  return { clients, revoked, deps, source, records, first };
}

async function next(records: AsyncIterator<SourceRecord>): Promise<string> {
  const { value, done } = await records.next();
  return done ? 'done' : `${value.partition}@${value.offset}`;
}

describe('KafkaSource: a fenced consumer', () => {
  it('is replaced in-process: its partitions are revoked as lost, its waiting commit settles, a new client subscribes and reads', async (t) => {
    const { clients, revoked, deps, source, records, first } = await fencedSetup(t);
    const [old] = clients;
    old!.handlers!.onRebalance(ASSIGN, tp(0, 1));
    old!.supply(message('t', 0, 7));
    const firstRecord = await first;
    assert.equal(
      firstRecord.done ? 'done' : `${firstRecord.value.partition}@${firstRecord.value.offset}`,
      't/0@7',
    );
    const waiting = track(source.commit(new Map([['t/0', 8]])));
    await until(() => old!.commits.length === 1);

    old!.handlers!.onClientError(FENCED);
    await until(() => clients.length === 2 && clients[1]!.calls.includes('subscribe t'));
    const fresh = clients[1]!;

    assert.deepEqual(revoked, [['t/0', 't/1']], 'the runtime forgets what it read of them');
    assert.ok(old!.calls.includes('disconnect'), 'the fenced client is closed');
    assert.ok(!old!.calls.some((c) => c.startsWith('unassign')), 'nothing is asked of the fenced client');
    await until(() => waiting.state === 'resolved');
    assert.deepEqual(fresh.calls.slice(0, 4), [
      'connect',
      'consume timeout 250',
      'timeout only for first message true',
      'subscribe t',
    ]);
    assert.equal(deps.counts.get('kafka_consumer_restarts_total{"reason":"fenced"}'), 1);

    // What the old client still reports reaches nobody.
    old!.handlers!.onRebalance(ASSIGN, tp(2));
    fresh.handlers!.onRebalance(ASSIGN, tp(0));
    fresh.supply(message('t', 0, 8));
    assert.equal(await next(records), 't/0@8');
    assert.ok(!fresh.calls.includes('assign t/2'));

    // Commits go to the new client.
    const commit = track(source.commit(new Map([['t/0', 9]])));
    await until(() => fresh.commits.length === 1);
    fresh.handlers!.onCommitResult(undefined, fresh.commits[0]);
    await until(() => commit.state === 'resolved');
  });

  it(`fenced again and again (another instance with its id): after 3 replacements it stops, naming the instance id`, async (t) => {
    const { clients, first } = await fencedSetup(t);
    for (let fence = 1; fence <= 3; fence++) {
      clients.at(-1)!.handlers!.onClientError(FENCED);
      await until(() => clients.length === fence + 1 && clients.at(-1)!.calls.includes('subscribe t'));
    }
    clients.at(-1)!.handlers!.onClientError(FENCED);
    await assert.rejects(
      first,
      (err: unknown) =>
        err instanceof KafkaClientError &&
        err.fatal &&
        /fenced 4 times within 10 min: another instance runs in consumer group "g" with this instance's instance_id "pod-0"/.test(
          err.message,
        ),
    );
    assert.equal(clients.length, 4, 'no fifth client');
  });

  it('is not replaced where the source may not (exactly-once): it stops, saying why', async (t) => {
    const { clients, first } = await fencedSetup(t, (c, d, f) => new NotReplaceable(c, d, 'properties', f));
    clients[0]!.handlers!.onClientError(FENCED);
    await assert.rejects(
      first,
      /under EXACTLY_ONCE the process stops so that its open transaction is aborted/,
    );
    assert.equal(clients.length, 1);
  });
});
