/**
 * The real broker for the Kafka tests: `scripts/kafka.sh` starts it when it does not answer and it
 * is left running for the other test files (the test command stops it at the end). Topics and
 * groups get names no other test uses; records are written raw here or as text through kcat
 * (kcat.ts); committed offsets are read the way a consumer of the group reads them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { createTopics } from '../../src/connectors/kafka/index.js';
import { withDeadline } from './wait.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

export const KAFKA_BOOTSTRAP = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;

// A cold start downloads the broker from Maven Central first.
const SCRIPT_TIMEOUT_MS = { status: 30_000, start: 600_000, stop: 180_000, restart: 300_000 };

/** `scripts/kafka.sh <command>` on the broker the tests use (KAFKA_PORT etc. from the environment). */
export async function kafkaScript(command: keyof typeof SCRIPT_TIMEOUT_MS): Promise<string> {
  const { stdout } = await run('bash', [script, command], {
    timeout: SCRIPT_TIMEOUT_MS[command],
    env: process.env,
  });
  return stdout;
}

/** Ensures the broker answers (starting it, resolving jars on a cold cache) and returns its address. */
export async function ensureKafka(): Promise<string> {
  try {
    await kafkaScript('status');
  } catch {
    await kafkaScript('start');
  }
  return KAFKA_BOOTSTRAP;
}

/** Stops and starts the broker on the same data (broker-restart tests). */
export async function restartKafka(): Promise<void> {
  await kafkaScript('restart');
}

/**
 * Stops the broker for `downMs`, then starts it again on the same data (even if the wait fails):
 * an outage of a chosen length, where restartKafka's stop-then-start is too short.
 */
export async function brokerOutage(downMs: number): Promise<void> {
  await kafkaScript('stop');
  try {
    await sleep(downMs);
  } finally {
    await kafkaScript('start');
  }
}

let counter = 0;

/** A topic or group name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export async function createTopic(bootstrap: string, partitions: number, prefix = 'topic'): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics(bootstrap, [{ topic, partitions }]);
  return topic;
}

/**
 * The group's committed offsets for the topic, as `topic/partition` → next offset to read (only
 * partitions with a commit).
 */
export async function committedOffsets(
  bootstrap: string,
  group: string,
  topic: string,
): Promise<Map<string, number>> {
  const reader = await connectOffsetsReader(bootstrap, group);
  try {
    const partitions = await reader.partitionsOf(topic);
    return await reader.read(new Map(partitions.map((p) => [`${topic}/${p}`, 0])));
  } finally {
    await reader.close();
  }
}

/** Offsets of the partitions of `ends`: `topic/n` → next offset to read. */
export type Offsets = ReadonlyMap<string, number>;

/** A consumer group's committed offsets, read again and again while a test runs. */
export interface GroupOffsets {
  /** `topic/n` → next offset to read, for the partitions of `ends` that have a committed offset. */
  read(ends: Offsets): Promise<Map<string, number>>;
  /** Sum of the committed offsets over the partitions of `ends` (0 where none). */
  total(ends: Offsets): Promise<number>;
  /** True when every partition of `ends` is committed to its end; false on a failed read. */
  reached(ends: Offsets): Promise<boolean>;
}

/** A reader of the group's offsets, closed when the test ends. */
export async function groupOffsets(t: TestContext, bootstrap: string, group: string): Promise<GroupOffsets> {
  const reader = await connectOffsetsReader(bootstrap, group);
  t.after(() => reader.close());
  const read = reader.read;
  return {
    read,
    async total(ends) {
      return sum(await read(ends));
    },
    async reached(ends) {
      try {
        const committed = await read(ends);
        return [...ends].every(([p, end]) => committed.get(p) === end);
      } catch {
        return false;
      }
    },
  };
}

/**
 * A consumer configured with the group that never subscribes (so it never joins the group or
 * takes partitions): `committed()` asks the group coordinator. It reads read_uncommitted, which
 * fetches offsets without require_stable: the last committed offsets are answered at once, while
 * offsets sent in a transaction still open (one a SIGKILL left behind, aborted by the broker only
 * after transaction.timeout.ms, 60 s) are not counted and not waited for. Not the
 * AdminClient's ListConsumerGroupOffsets: that crashes the whole test process (SIGSEGV in
 * librdkafka, confluentinc/librdkafka#5040) when the broker answers NOT_COORDINATOR, which it does
 * while a group's coordinator is loading, e.g. right after a broker restart; the consumer's own
 * path retries that answer instead.
 */
async function connectOffsetsReader(bootstrap: string, group: string) {
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': group,
      'enable.auto.commit': false,
      'client.id': 'test-offsets-reader',
      'isolation.level': 'read_uncommitted',
    },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  const committed = (partitions: RdKafka.TopicPartition[]) =>
    new Promise<RdKafka.TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
      consumer.committed(partitions, 15_000, (err, offsets) => (err ? reject(err) : resolve(offsets))),
    );
  return {
    async partitionsOf(topic: string): Promise<number[]> {
      const metadata = await new Promise<RdKafka.Metadata>((resolve, reject) =>
        consumer.getMetadata({ topic, timeout: 15_000 }, (err, data) => (err ? reject(err) : resolve(data))),
      );
      return (metadata.topics.find((m) => m.name === topic)?.partitions ?? []).map((p) => p.id);
    },
    async read(ends: Offsets): Promise<Map<string, number>> {
      const partitions = [...ends.keys()].map((key) => {
        const slash = key.lastIndexOf('/');
        return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
      });
      // Right after a broker restart the coordinator answers NOT_COORDINATOR or "loading" for a
      // while.
      let result: RdKafka.TopicPartitionOffsetAndMetadata[] | undefined;
      for (const deadline = Date.now() + 120_000; result === undefined;) {
        try {
          result = await committed(partitions);
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(250);
        }
      }
      const out = new Map<string, number>();
      for (const p of result) if (p.offset >= 0) out.set(`${p.topic}/${p.partition}`, p.offset);
      return out;
    },
    close: () => new Promise<void>((resolve) => consumer.disconnect(() => resolve())),
  };
}

/** Next offset to read per partition (`topic/n`) after these records, or 0 for `partitions` without. */
export function endOffsets(
  records: readonly { partition: number; offset: number }[],
  topic: string,
  partitions = 0,
): Map<string, number> {
  const out = new Map<string, number>();
  for (let p = 0; p < partitions; p++) out.set(`${topic}/${p}`, 0);
  for (const r of records)
    out.set(`${topic}/${r.partition}`, Math.max(out.get(`${topic}/${r.partition}`) ?? 0, r.offset + 1));
  return out;
}

/** Sum of offsets: how many records lie before them. */
export function sum(offsets: Offsets): number {
  return [...offsets.values()].reduce((a, b) => a + b, 0);
}

export interface RawRecord {
  readonly partition: number;
  readonly key: Buffer | null;
  /** null: a tombstone (no value at all), unlike an empty Buffer. */
  readonly value: Buffer | null;
  /** The record's timestamp in ms; default: when it is produced. */
  readonly timestamp?: number;
}

/**
 * Produces records as bytes, each to its partition, in order, and waits until the broker stored
 * every one. For what kcat's line format cannot carry: NUL bytes, bytes that are not UTF-8, empty
 * values, tombstones, tabs and newlines.
 */
export async function produceRaw(
  bootstrap: string,
  topic: string,
  records: readonly RawRecord[],
  /** More librdkafka producer properties, e.g. a larger `message.max.bytes`. */
  properties: Record<string, string | number> = {},
): Promise<void> {
  const producer = new RdKafka.Producer({
    ...properties,
    'bootstrap.servers': bootstrap,
    'client.id': 'test-raw-producer',
    'enable.idempotence': true,
    dr_cb: true,
  });
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  try {
    let pending = records.length;
    const failures: string[] = [];
    const delivered = new Promise<void>((resolve) => {
      if (pending === 0) resolve();
      producer.on('delivery-report', (err) => {
        if (err) failures.push(err.message);
        if (--pending === 0) resolve();
      });
    });
    producer.setPollInterval(10);
    for (const r of records) producer.produce(topic, r.partition, r.value, r.key, r.timestamp);
    await withDeadline(delivered, 60_000, `delivery of ${records.length} records to ${topic}`);
    assert.deepEqual(failures, [], 'every raw record was delivered');
  } finally {
    producer.setPollInterval(0);
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
