/**
 * The Kafka source's read-ahead is bounded in bytes, not only in records: records are as large as
 * the topic allows, and a thousand of them read ahead could hold gigabytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics } from '../../src/connectors/kafka/index.js';
import { noopMetrics, type Metrics } from '../../src/core/metrics.js';
import { ensureKafka, produceRaw, uniqueName } from '../helpers/kafka.js';
import { iterate, kafkaSource, pull, recordingListener } from '../helpers/kafka-connectors.js';
import { waitUntil } from '../helpers/wait.js';

const KB = 1024;
const MAX_BUFFERED_BYTES = 1024 * KB;
/**
 * How far past the bound the read-ahead may go: one record (a consume call is sized by the largest
 * recent record, and takes at least one); here the largest is 1.5 MiB. Without the byte bound, the
 * whole topic (24 MB) was read ahead.
 */
const ONE_RECORD_ALLOWANCE = 1536 * KB;

const bootstrap = await ensureKafka();

describe('KafkaSource read-ahead', { timeout: 120_000 }, () => {
  it('holds no more than max_buffered_bytes (plus one record) while nobody pulls, and a record larger than the bound still passes', async (t) => {
    const topic = uniqueName('read-ahead');
    await createTopics(bootstrap, [
      { topic, partitions: 1, config: { 'max.message.bytes': String(4096 * KB) } },
    ]);
    // 40 records of 600 KB (24 MB), with one of 1.5 MiB, larger than the whole bound, among them.
    const sizes = Array.from({ length: 40 }, (_, i) => (i === 20 ? 1536 * KB : 600 * KB));
    await produceRaw(
      bootstrap,
      topic,
      sizes.map((size, i) => ({
        partition: 0,
        key: Buffer.from(`k${i}`),
        value: Buffer.alloc(size, 48 + (i % 10)),
      })),
      { 'message.max.bytes': 4096 * KB },
    );

    let most = 0;
    let latest = 0;
    const metrics: Metrics = {
      ...noopMetrics,
      gauge(name, value) {
        if (name !== 'kafka_source_buffered_bytes') return;
        latest = value;
        most = Math.max(most, value);
      },
    };
    const source = kafkaSource(
      t,
      bootstrap,
      topic,
      { consumer_group: uniqueName('read-ahead'), max_buffered_bytes: MAX_BUFFERED_BYTES },
      { metrics },
    );

    const records = iterate(source, recordingListener());
    const first = await pull(records, (rs) => rs.length === 1);
    // The read-ahead fills while nobody pulls; give an unbounded one time to take all 24 MB.
    await waitUntil('the read-ahead to reach its bound', () => latest >= MAX_BUFFERED_BYTES, {
      timeoutMs: 30_000,
    });
    await sleep(2000);
    assert.ok(
      most <= MAX_BUFFERED_BYTES + ONE_RECORD_ALLOWANCE,
      `read ahead ${most} bytes while nobody pulled; bound ${MAX_BUFFERED_BYTES} + ${ONE_RECORD_ALLOWANCE}`,
    );

    const rest = await pull(records, (rs) => rs.length === sizes.length - 1);
    const all = [...first, ...rest];
    assert.deepEqual(
      all.map((r) => [r.offset, r.value.length, r.key?.toString()]),
      sizes.map((size, i) => [i, size, `k${i}`]),
      'every record, the large one too, in offset order',
    );
    assert.ok(most <= MAX_BUFFERED_BYTES + ONE_RECORD_ALLOWANCE, `read ahead ${most} bytes while pulled`);
  });
});
