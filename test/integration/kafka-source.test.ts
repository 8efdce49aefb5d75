import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { recordingMetrics, type Metrics } from '../../src/core/metrics.js';
import type { KafkaSource } from '../../src/connectors/kafka/index.js';
import { committedOffsets, createTopic, ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  iterate,
  kafkaSource,
  nextOffsets,
  pull,
  recordingListener,
  text,
} from '../helpers/kafka-connectors.js';
import { kcatProduce } from '../helpers/kcat.js';

const bootstrap = await ensureKafka();

function source(
  t: TestContext,
  topic: string,
  group: string,
  extra: Record<string, unknown> = {},
  metrics?: Metrics,
): KafkaSource {
  return kafkaSource(t, bootstrap, topic, { consumer_group: group, ...extra }, metrics && { metrics });
}

function summary(
  records: readonly { partition: string; offset: number; key: Buffer | null; value: Buffer }[],
): string[] {
  return records.map((r) => `${r.partition}@${r.offset} ${text(r.key)}=${text(r.value)}`);
}

describe('KafkaSource on a real broker', { timeout: 180_000 }, () => {
  it('reads kcat-produced records, commits, and a new member of the group resumes right after the commit', async (t) => {
    const topic = await createTopic(bootstrap, 2, 'source-resume');
    const group = uniqueName('group');
    await kcatProduce(
      bootstrap,
      topic,
      [0, 1, 2, 3, 4].map((i) => ({ key: `a${i}`, value: `{"n":${i}}` })),
      0,
    );
    await kcatProduce(
      bootstrap,
      topic,
      [0, 1, 2].map((i) => ({ key: `b${i}`, value: `{"m":${i}}` })),
      1,
    );

    const first = source(t, topic, group);
    const it1 = iterate(first, recordingListener());
    const read = await pull(it1, (rs) => rs.length === 8);
    const byPartition = (p: string) => summary(read.filter((r) => r.partition === p));
    assert.deepEqual(
      byPartition(`${topic}/0`),
      [0, 1, 2, 3, 4].map((i) => `${topic}/0@${i} a${i}={"n":${i}}`),
    );
    assert.deepEqual(
      byPartition(`${topic}/1`),
      [0, 1, 2].map((i) => `${topic}/1@${i} b${i}={"m":${i}}`),
    );
    assert.ok(read.every((r) => typeof r.timestamp === 'number' && r.timestamp > 0));

    // Only part of what was read is done: partition 0 up to offset 2, partition 1 entirely.
    await first.commit(
      new Map([
        [`${topic}/0`, 3],
        [`${topic}/1`, 3],
      ]),
    );
    first.stop();
    assert.equal((await it1.next()).done, true);
    await first.close();
    assert.deepEqual(
      await committedOffsets(bootstrap, group, topic),
      new Map([
        [`${topic}/0`, 3],
        [`${topic}/1`, 3],
      ]),
    );

    await kcatProduce(bootstrap, topic, [{ key: 'b3', value: '{"m":3}' }], 1);
    const second = source(t, topic, group);
    const it2 = iterate(second, recordingListener());
    const resumed = await pull(it2, (rs) => rs.length === 3);
    assert.deepEqual(summary(resumed.filter((r) => r.partition === `${topic}/0`)), [
      `${topic}/0@3 a3={"n":3}`,
      `${topic}/0@4 a4={"n":4}`,
    ]);
    assert.deepEqual(summary(resumed.filter((r) => r.partition === `${topic}/1`)), [
      `${topic}/1@3 b3={"m":3}`,
    ]);
    await second.commit(nextOffsets(resumed));
    second.stop();
    await second.close();
    assert.deepEqual(
      await committedOffsets(bootstrap, group, topic),
      new Map([
        [`${topic}/0`, 5],
        [`${topic}/1`, 4],
      ]),
    );
  });

  it('offsets_initializer latest skips what was written before a new group joined', async (t) => {
    const topic = await createTopic(bootstrap, 1, 'source-latest');
    await kcatProduce(bootstrap, topic, [{ key: 'old', value: 'before' }]);
    const src = source(t, topic, uniqueName('group'), { offsets_initializer: 'latest' });
    const it1 = iterate(src, recordingListener());
    const pending = pull(it1, (rs) => rs.length === 1);
    // The group must own the partition (its position resolved to the end) before the new record is
    // written; a probe record produced until one is read makes that independent of timing.
    let read: Awaited<typeof pending> | undefined;
    for (let i = 0; read === undefined; i++) {
      await kcatProduce(bootstrap, topic, [{ key: 'new', value: `after-${i}` }]);
      read = await Promise.race([
        pending,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
      ]);
    }
    assert.equal(read.length, 1);
    assert.equal(text(read[0]!.key), 'new');
    assert.match(text(read[0]!.value) ?? '', /^after-\d+$/);
    src.stop();
    await src.close();
  });

  it('does not read ahead without bound while the runtime does not pull', async (t) => {
    const topic = await createTopic(bootstrap, 1, 'source-bounded');
    const records = Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await kcatProduce(bootstrap, topic, records);
    const metrics = recordingMetrics();
    const src = source(t, topic, uniqueName('group'), { max_buffered_records: 50 }, metrics);
    const it1 = iterate(src, recordingListener());
    const firstOne = await pull(it1, (rs) => rs.length === 1);
    // Give the poll loop many rounds while nothing is pulled; the queue stays at its bound.
    let maxBuffered = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      maxBuffered = Math.max(maxBuffered, metrics.counts.get('kafka_source_buffered_records') ?? 0);
    }
    assert.ok(maxBuffered >= 1, 'the source read ahead');
    assert.ok(maxBuffered <= 50, `read-ahead stayed within max_buffered_records (max ${maxBuffered})`);
    const rest = await pull(it1, (rs) => rs.length === 399);
    assert.deepEqual(
      [...firstOne, ...rest].map((r) => r.offset),
      Array.from({ length: 400 }, (_, i) => i),
    );
    assert.deepEqual(
      [...firstOne, ...rest].map((r) => text(r.value)),
      records.map((r) => r.value),
    );
    src.stop();
    await src.close();
  });
});
