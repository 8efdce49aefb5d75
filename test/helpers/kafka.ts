/**
 * The real broker for integration tests: `scripts/kafka.sh` starts it when it does not answer and it
 * is left running for the other test files (the test command stops it at the end).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { createTopics } from '../../src/connectors/kafka/index.js';
import type { Source, SourceListener, SourceRecord } from '../../src/connectors/types.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

export const KAFKA_BOOTSTRAP = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;

async function kafkaScript(
  command: 'start' | 'status' | 'restart' | 'stop',
  timeoutMs: number,
): Promise<string> {
  const { stdout } = await run('bash', [script, command], { timeout: timeoutMs, env: process.env });
  return stdout;
}

/** Ensures the broker answers (starting it, resolving jars on a cold cache) and returns its address. */
export async function ensureKafka(): Promise<string> {
  try {
    await kafkaScript('status', 30_000);
  } catch {
    // A cold start downloads the broker from Maven Central first.
    await kafkaScript('start', 600_000);
  }
  return KAFKA_BOOTSTRAP;
}

/** Stops and starts the broker on the same data (broker-restart tests). */
export async function restartKafka(): Promise<void> {
  await kafkaScript('restart', 300_000);
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

/** The group's committed offsets for the topic, as `topic/partition` → next offset to read. */
export async function committedOffsets(
  bootstrap: string,
  group: string,
  topic: string,
): Promise<Map<string, number>> {
  const admin = RdKafka.AdminClient.create({ 'bootstrap.servers': bootstrap });
  try {
    const results = await new Promise<RdKafka.GroupResults[]>((resolve, reject) =>
      admin.listConsumerGroupOffsets(
        [{ groupId: group }],
        { timeout: 10_000, requireStableOffsets: true },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
    const out = new Map<string, number>();
    for (const p of results[0]?.partitions ?? []) {
      if (p.topic === topic && p.offset >= 0) out.set(`${p.topic}/${p.partition}`, p.offset);
    }
    return out;
  } finally {
    admin.disconnect();
  }
}

/** A listener that records revocations and runs an optional hook (e.g. a commit) inside them. */
export function recordingListener(
  onRevoked?: (partitions: readonly string[]) => Promise<void>,
): SourceListener & { revoked: string[][] } {
  const revoked: string[][] = [];
  return {
    revoked,
    async onPartitionsRevoked(partitions) {
      revoked.push([...partitions]);
      await onRevoked?.(partitions);
    },
  };
}

/**
 * Pulls records from a source's iterator until `done` says so; fails after `timeoutMs` without a
 * record (the source has nothing more to give).
 */
export async function pull(
  iterator: AsyncIterator<SourceRecord>,
  done: (records: readonly SourceRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  while (!done(records)) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no record within ${timeoutMs} ms after ${records.length} records`)),
        timeoutMs,
      );
    });
    try {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      records.push(next.value);
    } finally {
      clearTimeout(timer);
    }
  }
  return records;
}

export function iterate(source: Source, listener: SourceListener): AsyncIterator<SourceRecord> {
  return source.records(listener)[Symbol.asyncIterator]();
}

/** Next offsets (last offset + 1) per partition of these records. */
export function nextOffsets(records: readonly SourceRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) out.set(r.partition, Math.max(out.get(r.partition) ?? 0, r.offset + 1));
  return out;
}

export function text(buffer: Buffer | null): string | null {
  return buffer === null ? null : buffer.toString('utf8');
}
