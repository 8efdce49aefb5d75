/**
 * kcat as the independent Kafka client of the tests: what the connectors write is read back, and
 * what they read is written, by a different client (librdkafka's own CLI, not our code paths).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KcatInput {
  /** null: no key. Keys and values must not contain tabs or newlines (they delimit the input). */
  readonly key: string | null;
  readonly value: string;
}

/** Produces records in order with `kcat -P -K '\t' -l file` (to `partition` when given). */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  records: readonly KcatInput[],
  partition?: number,
): Promise<void> {
  for (const r of records) {
    if (/[\t\n]/.test(r.value) || (r.key !== null && /[\t\n]/.test(r.key)))
      throw new Error('kcat input must not contain tabs or newlines');
  }
  const dir = await mkdtemp(join(tmpdir(), 'kcat-'));
  try {
    const file = join(dir, 'records.txt');
    // kcat leaves the key null when a line has no key delimiter.
    await writeFile(
      file,
      records.map((r) => (r.key === null ? r.value : `${r.key}\t${r.value}`)).join('\n') + '\n',
    );
    const args = ['-P', '-b', bootstrap, '-t', topic, '-K', '\t', '-l', file];
    if (partition !== undefined) args.push('-p', String(partition));
    await run('kcat', args, { timeout: 60_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface KcatRecord {
  readonly key: string | null;
  readonly value: string;
  readonly timestamp: number;
  readonly partition: number;
  readonly offset: number;
}

export interface KcatConsumeOptions {
  /** Default read_uncommitted, to see everything written, committed or not. */
  readonly isolation?: 'read_committed' | 'read_uncommitted';
}

/**
 * Reads a topic from the beginning to its end (`-e`) and returns the records in partition, then
 * offset order. Under read_committed the end is the last stable offset: records of open or aborted
 * transactions are not returned.
 */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  options: KcatConsumeOptions = {},
): Promise<KcatRecord[]> {
  const { stdout } = await run(
    'kcat',
    [
      '-C',
      '-b',
      bootstrap,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-Z',
      '-X',
      `isolation.level=${options.isolation ?? 'read_uncommitted'}`,
      '-f',
      '%p\t%o\t%T\t%k\t%s\n',
    ],
    { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 },
  );
  const records = stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, timestamp, key, ...value] = line.split('\t');
      return {
        partition: Number(partition),
        offset: Number(offset),
        timestamp: Number(timestamp),
        key: key === 'NULL' ? null : (key ?? null),
        value: value.join('\t'),
      };
    });
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** `values` as kcat input keyed `k0`, `k1`, …: records whose key tells their place. */
export function keyedValues(values: readonly string[]): KcatInput[] {
  return values.map((value, i) => ({ key: `k${i}`, value }));
}
