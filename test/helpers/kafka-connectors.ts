/**
 * The Kafka connectors under test on the real broker: built from plain option objects (as a config
 * file holds them), closed when the test ends (an open consumer keeps node alive), and read record
 * by record as the runtime reads them.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import {
  createKafkaConnectors,
  type KafkaConnectors,
  type KafkaSource,
} from '../../src/connectors/kafka/index.js';
import type { Source, SourceListener, SourceRecord } from '../../src/connectors/types.js';
import type { Metrics } from '../../src/core/metrics.js';
import { OptionReader } from '../../src/core/options.js';
import { uniqueName } from './kafka.js';

type Options = Record<string, unknown>;

export interface ConnectorsSpec {
  /** Default 'test'. */
  readonly clientId?: string;
  readonly metrics?: Metrics;
  /** The source of `topic`, with options beside `bootstrap_servers` (consumer_group, …). */
  readonly source?: { readonly topic: string; readonly options: Options };
  readonly sink?: { readonly stream: string; readonly options?: Options };
  readonly errorSink?: { readonly stream: string; readonly options?: Options };
}

/**
 * The connectors of `spec` (each one asked for is asserted to exist); closed when the test ends,
 * or, without `t`, by the caller (`closeConnectors`).
 */
export function kafkaConnectors(
  t: TestContext | undefined,
  bootstrap: string,
  spec: ConnectorsSpec,
): KafkaConnectors {
  const reader = (options: Options | undefined, key: string) =>
    new OptionReader({ bootstrap_servers: bootstrap, ...options }, `stream_manager.${key}.options`);
  const connectors = createKafkaConnectors({
    ...(spec.source && {
      source: {
        // Sources of one group in one process would share the host-name default and fence each
        // other (static membership): each gets its own id unless the test names one.
        options: reader({ instance_id: uniqueName('instance'), ...spec.source.options }, 'source'),
        defaultTopics: [spec.source.topic],
      },
    }),
    ...(spec.sink && { sink: { options: reader(spec.sink.options, 'sink'), stream: spec.sink.stream } }),
    ...(spec.errorSink && {
      errorSink: { options: reader(spec.errorSink.options, 'error_sink'), stream: spec.errorSink.stream },
    }),
    clientId: spec.clientId ?? 'test',
    ...(spec.metrics && { metrics: spec.metrics }),
  });
  for (const role of ['source', 'sink', 'errorSink'] as const)
    assert.equal(connectors[role] !== undefined, spec[role] !== undefined, role);
  t?.after(() => closeConnectors(connectors));
  return connectors;
}

/** Stops the source, then closes the sinks and the source, as the runtime does at the end. */
export async function closeConnectors(c: KafkaConnectors): Promise<void> {
  c.source?.stop();
  await c.sink?.close();
  await c.errorSink?.close();
  await c.source?.close();
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

/** A source alone (see kafkaConnectors). */
export function kafkaSource(
  t: TestContext,
  bootstrap: string,
  topic: string,
  options: Options,
  spec: Pick<ConnectorsSpec, 'clientId' | 'metrics'> = {},
): KafkaSource {
  return kafkaConnectors(t, bootstrap, { ...spec, source: { topic, options } }).source!;
}
