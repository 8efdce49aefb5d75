import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerLag, TimestampQueue } from '../../../src/connectors/kafka/consumer-lag.js';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import { KafkaSource } from '../../../src/connectors/kafka/source.js';
import type { SourceRecord } from '../../../src/connectors/types.js';
import { recordingMetrics } from '../../../src/core/metrics.js';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import {
  FakeConsumer,
  kafkaError,
  message,
  recordingDeps,
  until,
  FAKE_SOURCE_CONFIG,
} from './kafka-fake-consumer.js';

/** librdkafka's statistics JSON for topic `t`: partition → its offsets (-1001: unknown). */
function stats(partitions: Record<number, { hi?: number; committed?: number; next?: number }>): string {
  const out: Record<string, object> = {
    '-1': { partition: -1, hi_offset: -1001, committed_offset: -1001, next_offset: 0 },
  };
  for (const [p, o] of Object.entries(partitions)) {
    out[p] = {
      partition: Number(p),
      hi_offset: o.hi ?? -1001,
      committed_offset: o.committed ?? -1001,
      next_offset: o.next ?? -1001,
      consumer_lag: -1,
    };
  }
  return JSON.stringify({ name: 'c', type: 'consumer', topics: { t: { topic: 't', partitions: out } } });
}

const fetched = (partition: number, offset: number, timestamp: number) => ({
  topic: 't',
  partition,
  offset,
  timestamp,
});

/** The four gauges of partition t/p, as recorded (absent: no series). */
function gauges(metrics: ReturnType<typeof recordingMetrics>, p: number) {
  const at = (name: string) => metrics.counts.get(`${name}{partition=${p},topic=t}`);
  return {
    records: at('kafka_consumer_lag_records'),
    seconds: at('kafka_consumer_lag_seconds'),
    committed: at('kafka_committed_offset'),
    high: at('kafka_high_watermark_offset'),
  };
}

describe('TimestampQueue', () => {
  it('keeps fetched timestamps in offset order, ignores re-deliveries, forgets committed ones', () => {
    const q = new TimestampQueue(100);
    q.push(5, 500);
    q.push(6, 600);
    q.push(6, 999);
    q.push(4, 999);
    q.push(8, 800);
    assert.equal(q.size, 3);
    assert.equal(q.firstFrom(0), 500);
    assert.equal(q.firstFrom(7), 800);
    q.dropBelow(6);
    assert.deepEqual([q.size, q.firstFrom(0)], [2, 600]);
    q.dropBelow(9);
    assert.deepEqual([q.size, q.firstFrom(0)], [0, undefined]);
  });

  it('stays within its capacity however many records wait for a commit, keeping the oldest', () => {
    const q = new TimestampQueue(16);
    for (let offset = 0; offset < 100_000; offset++) q.push(offset, 1_000 + offset);
    assert.ok(q.size <= 16, String(q.size));
    assert.equal(q.firstFrom(0), 1_000, 'the oldest record is kept');
    // After a commit, the first kept record at or after it stands for the oldest: at most 2n/capacity later.
    q.dropBelow(50_000);
    const stamp = q.firstFrom(50_000)!;
    assert.ok(stamp >= 1_000 + 50_000 && stamp <= 1_000 + 50_000 + (2 * 100_000) / 16, String(stamp));
  });
});

describe('ConsumerLag', () => {
  it('reports high watermark − committed offset, and the age of the oldest record not committed', () => {
    const metrics = recordingMetrics();
    let now = 1_000_000;
    const lag = new ConsumerLag(metrics, () => now);
    lag.assigned(['t/0']);
    assert.deepEqual(gauges(metrics, 0), {
      records: undefined,
      seconds: undefined,
      committed: undefined,
      high: undefined,
    });
    // The group committed 3 before; records 3..9 are on the broker, 3..5 fetched so far.
    lag.fetched([fetched(0, 3, 990_000), fetched(0, 4, 995_000), fetched(0, 5, 996_000)]);
    lag.onStatistics(stats({ 0: { hi: 10, committed: 3, next: 6 } }));
    assert.deepEqual(gauges(metrics, 0), { records: 7, seconds: 10, committed: 3, high: 10 });
    now += 2_000;
    lag.committed([{ topic: 't', partition: 0, offset: 5 }]);
    assert.deepEqual(gauges(metrics, 0), { records: 5, seconds: 6, committed: 5, high: 10 });
    // Committed up to what was fetched: the records after it are not fetched yet, their age unknown.
    lag.committed([{ topic: 't', partition: 0, offset: 6 }]);
    assert.deepEqual(gauges(metrics, 0), { records: 4, seconds: undefined, committed: 6, high: 10 });
    lag.fetched([6, 7, 8, 9].map((o) => fetched(0, o, 997_000 + o)));
    lag.committed([{ topic: 't', partition: 0, offset: 10 }]);
    assert.deepEqual(gauges(metrics, 0), { records: 0, seconds: 0, committed: 10, high: 10 });
  });

  it('raises a stale high watermark to what was fetched and committed since the statistics', () => {
    const metrics = recordingMetrics();
    const lag = new ConsumerLag(metrics, () => 0);
    lag.assigned(['t/0']);
    lag.onStatistics(stats({ 0: { hi: 2, committed: 0 } }));
    lag.fetched([0, 1, 2, 3, 4].map((o) => fetched(0, o, 0)));
    lag.committed([{ topic: 't', partition: 0, offset: 5 }]);
    assert.deepEqual(gauges(metrics, 0), { records: 0, seconds: 0, committed: 5, high: 5 });
    // Statistics older than this consumer's commit do not take it back.
    lag.onStatistics(stats({ 0: { hi: 7, committed: 2 } }));
    assert.deepEqual(gauges(metrics, 0), { records: 2, seconds: undefined, committed: 5, high: 7 });
  });

  it('before the group ever committed, counts from where this consumer started reading', () => {
    const metrics = recordingMetrics();
    const lag = new ConsumerLag(metrics, () => 10_000);
    lag.assigned(['t/0', 't/1']);
    // t/0: offsets_initializer chose 100 (earliest after retention); t/1 is empty.
    lag.onStatistics(stats({ 0: { hi: 150, next: 100 }, 1: { hi: 0, next: 0 } }));
    assert.deepEqual(gauges(metrics, 0), {
      records: 50,
      seconds: undefined,
      committed: undefined,
      high: 150,
    });
    assert.deepEqual(gauges(metrics, 1), { records: 0, seconds: 0, committed: undefined, high: 0 });
    lag.fetched([fetched(0, 100, 4_000)]);
    lag.onStatistics(stats({ 0: { hi: 150, next: 101 } }));
    assert.deepEqual(gauges(metrics, 0), { records: 50, seconds: 6, committed: undefined, high: 150 });
  });

  it('removes a partition’s series when it is revoked, and ignores what comes for it after', () => {
    const metrics = recordingMetrics();
    const lag = new ConsumerLag(metrics, () => 0);
    lag.assigned(['t/0', 't/1']);
    lag.onStatistics(stats({ 0: { hi: 5, committed: 5 }, 1: { hi: 5, committed: 1 } }));
    assert.equal(metrics.total('kafka_consumer_lag_records'), 4);
    lag.revoked(['t/1']);
    lag.committed([{ topic: 't', partition: 1, offset: 5 }]);
    lag.onStatistics(stats({ 1: { hi: 9, committed: 1 } }));
    lag.fetched([fetched(1, 7, 0)]);
    assert.deepEqual(
      [...metrics.counts.keys()].filter((k) => k.includes('partition=1')),
      [],
      'no series of t/1',
    );
    assert.deepEqual(gauges(metrics, 0), { records: 0, seconds: 0, committed: 5, high: 5 });
    lag.onStatistics('not json');
    lag.onStatistics('{"topics": 3}');
  });

  it('writes only declared families with their declared labels', async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
    const lag = new ConsumerLag(metrics, () => 5_000);
    lag.assigned(['t/3']);
    lag.fetched([fetched(3, 0, 1_000)]);
    lag.onStatistics(stats({ 3: { hi: 2, committed: 0 } }));
    const text = await metrics.registry.metrics();
    assert.match(text, /^mw_enrich_kafka_consumer_lag_records\{topic="t",partition="3"\} 2$/m);
    assert.match(text, /^mw_enrich_kafka_consumer_lag_seconds\{topic="t",partition="3"\} 4$/m);
    assert.match(text, /^mw_enrich_kafka_committed_offset\{topic="t",partition="3"\} 0$/m);
    assert.match(text, /^mw_enrich_kafka_high_watermark_offset\{topic="t",partition="3"\} 2$/m);
    lag.revoked(['t/3']);
    assert.doesNotMatch(await metrics.registry.metrics(), /partition="3"/);
  });
});

const CONFIG = FAKE_SOURCE_CONFIG;

describe('KafkaSource feeds its ConsumerLag', () => {
  it('from assignments, fetched records, commits and revocations, and notes each rebalance', async (t) => {
    const metrics = recordingMetrics();
    const lag = new ConsumerLag(metrics, () => 1_700_000_010_000);
    const consumer = new FakeConsumer();
    const source = new KafkaSource(CONFIG, { ...recordingDeps(), metrics, lag }, 'properties', (handlers) => {
      consumer.handlers = handlers;
      return consumer;
    });
    t.after(() => source.close());
    const records = source.records({ onPartitionsRevoked: async () => undefined })[Symbol.asyncIterator]();
    const first = records.next();
    await until(() => consumer.calls.includes('subscribe t'));
    consumer.handlers!.onRebalance(kafkaError(codes.ERR__ASSIGN_PARTITIONS), [{ topic: 't', partition: 0 }]);
    // message() stamps offset o with 1_700_000_000_000 + o.
    consumer.supply(message('t', 0, 0), message('t', 0, 1), message('t', 0, 2));
    assert.equal(((await first).value as SourceRecord).offset, 0);
    // The poll loop may take the three in more than one consume call, and the ages below need all
    // of them fetched: wait for the consume that took the last one, then for the loop's next call,
    // which it makes only after adding what that one returned.
    await until(() => consumer.unfetched === 0);
    const calls = consumer.consumeCounts.length;
    await until(() => consumer.consumeCounts.length > calls);
    lag.onStatistics(stats({ 0: { hi: 3 } }));
    assert.deepEqual(gauges(metrics, 0), { records: 3, seconds: 10, committed: undefined, high: 3 });

    const commit = source.commit(new Map([['t/0', 2]]));
    await until(() => consumer.commits.length === 1);
    consumer.handlers!.onCommitResult(undefined, consumer.commits[0]);
    await commit;
    assert.deepEqual(gauges(metrics, 0), { records: 1, seconds: 9.998, committed: 2, high: 3 });
    assert.equal(metrics.counts.get('kafka_commits_total{outcome=ok}'), 1);

    consumer.handlers!.onRebalance(kafkaError(codes.ERR__REVOKE_PARTITIONS), [{ topic: 't', partition: 0 }]);
    await until(() => consumer.calls.includes('unassign t/0'));
    assert.deepEqual(gauges(metrics, 0), {
      records: undefined,
      seconds: undefined,
      committed: undefined,
      high: undefined,
    });
    assert.deepEqual(
      metrics.events.map((e) => [e.name, e.fields]),
      [
        ['rebalance', { kind: 'assign', partitions: 't/0' }],
        ['rebalance', { kind: 'revoke', partitions: 't/0' }],
      ],
    );
  });
});
