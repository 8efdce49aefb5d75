/**
 * The consumer lag gauges on the real broker, against the broker's own numbers: its high
 * watermarks (ListOffsets) and the group's committed offsets (OffsetFetch).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { PrometheusMetrics } from '../../src/runtime/metrics.js';
import {
  iterate,
  kafkaConnectors,
  kafkaSource,
  pull,
  recordingListener,
} from '../helpers/kafka-connectors.js';
import { committedOffsets, createTopic, ensureKafka, produceRaw, uniqueName } from '../helpers/kafka.js';
import { waitUntil } from '../helpers/wait.js';

/** Statistics come every second; a few of them, and a rebalance, fit in this. */
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };

/** The high watermark of each partition, as the broker answers ListOffsets. */
async function highWatermarks(bootstrap: string, topic: string, partitions: number): Promise<number[]> {
  const consumer = new RdKafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': uniqueName('watermarks'), 'client.id': 'test-watermarks' },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  try {
    const out: number[] = [];
    for (let partition = 0; partition < partitions; partition++) {
      out.push(
        await new Promise<number>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, partition, 15_000, (err, offsets) =>
            err ? reject(err) : resolve(offsets.highOffset),
          ),
        ),
      );
    }
    return out;
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** The value of each series of a per-partition family, by partition. */
async function perPartition(metrics: PrometheusMetrics, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.registry.getSingleMetric(`mw_enrich_${name}`)!.get()).values) {
    out[String(v.labels.partition)] = v.value;
  }
  return out;
}

test('lag in records and seconds while read and not committed, 0 once committed, as the broker counts', async (t) => {
  const bootstrap = await ensureKafka();
  const topic = await createTopic(bootstrap, 2, 'lag');
  const group = uniqueName('lag-group');
  const minuteAgo = Date.now() - 60_000;
  const records = (partition: number, n: number, timestamp: number) =>
    Array.from({ length: n }, (_, i) => ({
      partition,
      key: null,
      value: Buffer.from(`${partition}-${i}`),
      timestamp: timestamp + i,
    }));
  await produceRaw(bootstrap, topic, [...records(0, 10, minuteAgo), ...records(1, 4, minuteAgo)]);

  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  const source = kafkaSource(
    t,
    bootstrap,
    topic,
    {
      consumer_group: group,
      offsets_initializer: 'earliest',
      // Statistics every second instead of 5: the test waits for them.
      properties: { 'statistics.interval.ms': '1000' },
    },
    { metrics },
  );
  const reader = iterate(source, recordingListener());
  const read = await pull(reader, (rs) => rs.length === 14);
  assert.equal(read.length, 14);

  // Read, nothing committed: everything from where the group started (offset 0) is lag.
  await waitUntil(
    'lag of the unread group',
    async () => {
      const lag = await perPartition(metrics, 'kafka_consumer_lag_records');
      return lag['0'] === 10 && lag['1'] === 4;
    },
    WAIT,
  );
  assert.deepEqual(await committedOffsets(bootstrap, group, topic), new Map(), 'the broker has no commit');
  const [high0, high1] = await highWatermarks(bootstrap, topic, 2);
  assert.deepEqual(await perPartition(metrics, 'kafka_high_watermark_offset'), { 0: high0, 1: high1 });
  assert.deepEqual([high0, high1], [10, 4]);
  assert.deepEqual(await perPartition(metrics, 'kafka_committed_offset'), {});
  // The oldest record not committed of each partition was produced a minute ago.
  const seconds = await perPartition(metrics, 'kafka_consumer_lag_seconds');
  for (const p of ['0', '1']) assert.ok(seconds[p]! >= 59 && seconds[p]! < 600, `${p}: ${seconds[p]}`);

  // Commit part of partition 0: the lag is what the broker holds above the group's commit.
  await source.commit(
    new Map([
      [`${topic}/0`, 6],
      [`${topic}/1`, 4],
    ]),
  );
  const committed = await committedOffsets(bootstrap, group, topic);
  assert.deepEqual(
    committed,
    new Map([
      [`${topic}/0`, 6],
      [`${topic}/1`, 4],
    ]),
  );
  assert.deepEqual(await perPartition(metrics, 'kafka_committed_offset'), { 0: 6, 1: 4 });
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_records'), {
    0: high0! - committed.get(`${topic}/0`)!,
    1: 0,
  });
  assert.equal((await perPartition(metrics, 'kafka_consumer_lag_seconds'))['1'], 0);

  // Everything committed: no lag, by the broker's numbers and ours.
  await source.commit(new Map([[`${topic}/0`, 10]]));
  assert.deepEqual(
    await committedOffsets(bootstrap, group, topic),
    new Map([
      [`${topic}/0`, 10],
      [`${topic}/1`, 4],
    ]),
  );
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_records'), { 0: 0, 1: 0 });
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_seconds'), { 0: 0, 1: 0 });

  // New records on partition 0, old by their timestamps: lag again, from the statistics.
  await produceRaw(bootstrap, topic, records(0, 5, minuteAgo));
  await waitUntil(
    'lag of the new records',
    async () => {
      const lag = await perPartition(metrics, 'kafka_consumer_lag_records');
      return lag['0'] === 5;
    },
    WAIT,
  );
  assert.deepEqual(await highWatermarks(bootstrap, topic, 2), [15, 4]);
  const more = await pull(reader, (rs) => rs.length === 5);
  assert.deepEqual(
    more.map((r) => r.offset),
    [10, 11, 12, 13, 14],
  );
  await waitUntil(
    'the age of the new records',
    async () => {
      const age = (await perPartition(metrics, 'kafka_consumer_lag_seconds'))['0'];
      return age !== undefined && age >= 59;
    },
    WAIT,
  );

  // Closing gives the partitions up: their series go.
  source.stop();
  await source.close();
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_records'), {});
  assert.deepEqual(await perPartition(metrics, 'kafka_high_watermark_offset'), {});

  // A new member of the group learns the group's commit from the statistics, before committing itself.
  const next = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  const again = kafkaSource(
    t,
    bootstrap,
    topic,
    { consumer_group: group, properties: { 'statistics.interval.ms': '1000' } },
    { metrics: next },
  );
  const rereader = iterate(again, recordingListener());
  assert.deepEqual(
    (await pull(rereader, (rs) => rs.length === 5)).map((r) => r.offset),
    [10, 11, 12, 13, 14],
  );
  await waitUntil(
    "the group's commit",
    async () => Object.keys(await perPartition(next, 'kafka_committed_offset')).length === 2,
    WAIT,
  );
  assert.deepEqual(await perPartition(next, 'kafka_committed_offset'), { 0: 10, 1: 4 });
  assert.deepEqual(await perPartition(next, 'kafka_consumer_lag_records'), { 0: 5, 1: 0 });
});

test('under EXACTLY_ONCE, offsets committed in a transaction count as committed once it commits', async (t) => {
  const bootstrap = await ensureKafka();
  const input = await createTopic(bootstrap, 1, 'lag-eos-in');
  const output = await createTopic(bootstrap, 1, 'lag-eos-out');
  const group = uniqueName('lag-eos-group');
  await produceRaw(
    bootstrap,
    input,
    Array.from({ length: 6 }, (_, i) => ({ partition: 0, key: null, value: Buffer.from(`v${i}`) })),
  );
  const metrics = new PrometheusMetrics({ defaultMetrics: false, strict: true });
  const eos = { delivery_guarantee: 'EXACTLY_ONCE' };
  const { source, sink } = kafkaConnectors(t, bootstrap, {
    metrics,
    source: {
      topic: input,
      options: { ...eos, consumer_group: group, properties: { 'statistics.interval.ms': '1000' } },
    },
    sink: { stream: output, options: eos },
    errorSink: { stream: output, options: eos },
  });
  const read = await pull(iterate(source!, recordingListener()), (rs) => rs.length === 6);
  await waitUntil(
    'lag before the transaction',
    async () => (await perPartition(metrics, 'kafka_consumer_lag_records'))['0'] === 6,
    WAIT,
  );
  await Promise.all(read.slice(0, 4).map((r) => sink!.send({ key: null, value: r.value })));
  await source!.commit(new Map([[`${input}/0`, 4]]));
  assert.deepEqual(await committedOffsets(bootstrap, group, input), new Map([[`${input}/0`, 4]]));
  assert.deepEqual(await perPartition(metrics, 'kafka_committed_offset'), { 0: 4 });
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_records'), { 0: 2 });
  // Statistics do not know of the transaction's offsets: they must not take the commit back.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  assert.deepEqual(await perPartition(metrics, 'kafka_committed_offset'), { 0: 4 });
  assert.deepEqual(await perPartition(metrics, 'kafka_consumer_lag_records'), { 0: 2 });
});
