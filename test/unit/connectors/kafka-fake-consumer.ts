import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { ConsumerHandlers, SourceConsumer } from '../../../src/connectors/kafka/consumer-client.js';
import { codes } from '../../../src/connectors/kafka/kafka-error.js';
import type { KafkaSourceConfig } from '../../../src/connectors/kafka/options.js';
import type { KafkaLogger } from '../../../src/connectors/kafka/logger.js';
import { partitionKey } from '../../../src/connectors/kafka/partition-key.js';
import type { Partition } from '../../../src/connectors/kafka/partition-ownership.js';
import type { Metrics } from '../../../src/core/metrics.js';

/** A fetched message of `valueBytes` bytes (no key unless given). */
export function message(
  topic: string,
  partition: number,
  offset: number,
  valueBytes = 10,
  key: string | null = null,
): RdKafka.Message {
  const value = Buffer.alloc(valueBytes, 'v');
  return {
    topic,
    partition,
    offset,
    value,
    size: valueBytes,
    ...(key === null ? {} : { key: Buffer.from(key) }),
    timestamp: 1_700_000_000_000 + offset,
  };
}

export function kafkaError(
  code: number,
  extra: Partial<RdKafka.LibrdKafkaError> = {},
): RdKafka.LibrdKafkaError {
  return { code, errno: code, message: `librdkafka error ${code}`, origin: 'local', ...extra };
}

function names(partitions: readonly Partition[]): string {
  return partitions.map((p) => partitionKey(p.topic, p.partition)).join(',');
}

/**
 * A KafkaConsumer without a broker. Logs the calls the source makes (`calls`); `consume` returns the
 * supplied records of partitions not paused, like librdkafka, or none after a short poll wait.
 */
export class FakeConsumer implements SourceConsumer {
  readonly calls: string[] = [];
  /** The `count` of each consume call. */
  readonly consumeCounts: number[] = [];
  /** The offsets of each commit call. */
  readonly commits: RdKafka.TopicPartitionOffset[][] = [];
  /** What `assignmentLost()` answers. */
  lost = false;
  /** The next consume calls fail with these, one each. */
  readonly consumeErrors: unknown[] = [];
  /** Thrown by the next commit call. */
  commitThrows: unknown;
  connectError: unknown;
  /** Thrown by unsubscribe. */
  unsubscribeThrows: unknown;
  /** The topics the cluster has (getMetadata). */
  clusterTopics: string[] = ['a', 'b', 't'];
  /** Set by the factory passed to KafkaSource. */
  handlers: ConsumerHandlers | undefined;
  private connected = false;
  /** Assigned partitions: unsubscribing revokes them, as librdkafka does. */
  private readonly assigned = new Map<string, Partition>();
  private readonly fetchable: RdKafka.Message[] = [];
  private readonly paused = new Set<string>();

  /** Makes records available to the next consume calls. */
  supply(...messages: RdKafka.Message[]): void {
    this.fetchable.push(...messages);
  }

  /** Records supplied and not consumed yet. */
  get unfetched(): number {
    return this.fetchable.length;
  }

  consume(count: number, cb: (err: unknown, messages: RdKafka.Message[]) => void): void {
    this.consumeCounts.push(count);
    if (this.consumeErrors.length > 0) {
      const err = this.consumeErrors.shift();
      setImmediate(() => cb(err, []));
      return;
    }
    const batch: RdKafka.Message[] = [];
    for (let i = 0; i < this.fetchable.length && batch.length < count;) {
      const m = this.fetchable[i]!;
      if (this.paused.has(partitionKey(m.topic, m.partition))) i++;
      else batch.push(...this.fetchable.splice(i, 1));
    }
    if (batch.length > 0) setImmediate(() => cb(undefined, batch));
    else setTimeout(() => cb(undefined, []), 2);
  }

  pause(partitions: Partition[]): void {
    this.calls.push(`pause ${names(partitions)}`);
    for (const p of partitions) this.paused.add(partitionKey(p.topic, p.partition));
  }

  resume(partitions: Partition[]): void {
    this.calls.push(`resume ${names(partitions)}`);
    for (const p of partitions) this.paused.delete(partitionKey(p.topic, p.partition));
  }

  isConnected(): boolean {
    return this.connected;
  }

  commit(offsets: RdKafka.TopicPartitionOffset[]): void {
    if (this.commitThrows !== undefined) {
      const err = this.commitThrows;
      this.commitThrows = undefined;
      throw err;
    }
    this.calls.push(
      `commit ${offsets.map((o) => `${partitionKey(o.topic, o.partition)}@${o.offset}`).join(',')}`,
    );
    this.commits.push(offsets);
  }

  incrementalAssign(partitions: Partition[]): void {
    this.calls.push(`assign ${names(partitions)}`);
    for (const p of partitions) this.assigned.set(partitionKey(p.topic, p.partition), p);
  }

  incrementalUnassign(partitions: Partition[]): void {
    this.calls.push(`unassign ${names(partitions)}`);
    for (const p of partitions) this.assigned.delete(partitionKey(p.topic, p.partition));
  }

  assignmentLost(): boolean {
    return this.lost;
  }

  connect(_options: { timeout: number }, cb: (err: unknown, metadata: RdKafka.Metadata) => void): void {
    this.calls.push('connect');
    const err = this.connectError;
    if (err === undefined) this.connected = true;
    setImmediate(() => cb(err, { orig_broker_id: 0, orig_broker_name: 'fake', brokers: [], topics: [] }));
  }

  getMetadata(
    _options: { topic?: string; timeout: number },
    cb: (err: unknown, metadata: RdKafka.Metadata) => void,
  ): void {
    const topics = this.clusterTopics.map((name) => ({ name, partitions: [] }));
    setImmediate(() => cb(undefined, { orig_broker_id: 0, orig_broker_name: 'fake', brokers: [], topics }));
  }

  setDefaultConsumeTimeout(timeoutMs: number): void {
    this.calls.push(`consume timeout ${timeoutMs}`);
  }

  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void {
    this.calls.push(`timeout only for first message ${value}`);
  }

  subscribe(topics: string[]): void {
    this.calls.push(`subscribe ${topics.join(',')}`);
  }

  unsubscribe(): void {
    if (this.unsubscribeThrows !== undefined) throw this.unsubscribeThrows;
    this.calls.push('unsubscribe');
    const revoked = [...this.assigned.values()];
    if (revoked.length > 0)
      setImmediate(() => this.handlers?.onRebalance(kafkaError(codes.ERR__REVOKE_PARTITIONS), revoked));
  }

  disconnect(cb: (err: unknown, metrics: RdKafka.ClientMetrics) => void): void {
    this.calls.push('disconnect');
    this.connected = false;
    setImmediate(() => cb(undefined, { connectionOpened: 0 }));
  }
}

/** Counters by `name{label=value,…}`, and the log lines by level. */
export function recordingDeps(): {
  logger: KafkaLogger;
  metrics: Metrics;
  counts: Map<string, number>;
  logs: string[];
  clientId: string;
} {
  const counts = new Map<string, number>();
  const logs: string[] = [];
  const log =
    (level: string) =>
    (_obj: object, msg?: string): void => {
      logs.push(`${level}: ${msg ?? ''}`);
    };
  return {
    clientId: 'test-consumer',
    counts,
    logs,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      count(name, labels, value = 1) {
        const key = `${name}${labels ? JSON.stringify(labels) : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + value);
      },
      observe() {},
      gauge() {},
      gaugeFrom() {},
      remove() {},
      event() {},
    },
  };
}

/**
 * Waits until `condition` holds. The cap only turns a hang into a failure: the conditions here are
 * met within milliseconds.
 */
export async function until(condition: () => boolean): Promise<void> {
  const giveUp = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error(`condition not met: ${condition.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Lets pending callbacks and promise continuations run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

/** Whether a promise has settled yet, and how. */
export function track<T>(promise: Promise<T>): {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
} {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (tracked.state = 'resolved'),
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** The options of a source over a fake consumer: topic t, group g. */
export const FAKE_SOURCE_CONFIG: KafkaSourceConfig = {
  bootstrapServers: 'fake:9092',
  topics: ['t'],
  consumerGroup: 'g',
  startPosition: 'earliest',
  deliveryGuarantee: 'AT_LEAST_ONCE',
  instanceId: 'i',
  maxBufferedRecords: 100,
  maxBufferedBytes: 1_000_000,
  properties: {},
};
