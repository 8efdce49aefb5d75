import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Source, SourceListener, SourceRecord } from '../types.js';
import { createKafkaConsumer, type ConsumerHandlers, type SourceConsumer } from './consumer-client.js';
import { ConsumerLifecycle } from './consumer-lifecycle.js';
import { toKafkaError } from './kafka-error.js';
import { OffsetCommitter } from './offset-committer.js';
import type { KafkaSourceConfig } from './options.js';
import { PartitionOwnership } from './partition-ownership.js';
import { PollLoop } from './poll-loop.js';
import type { KafkaClientDeps } from './producer-client.js';
import { ReadAhead } from './read-ahead.js';
import { RebalanceHandler } from './rebalance.js';

/** Opens the consumer the source reads with, wired to its callbacks; a test passes a fake. */
export type ConsumerFactory = (handlers: ConsumerHandlers) => SourceConsumer;

/**
 * Reads a consumer group's topics with librdkafka's KafkaConsumer. A composition of parts that each
 * hold one concern and use only their slice of the consumer:
 *
 * - `PollLoop` moves records from librdkafka into the `ReadAhead` (at most `max_buffered_records`
 *   and `max_buffered_bytes`, so memory stays bounded while the runtime does not pull) and pauses
 *   fetching when the runtime stalls;
 * - `OffsetCommitter` commits one request at a time and resolves each on the broker's answer;
 * - `RebalanceHandler` answers assignments and revocations, letting the runtime drain first;
 * - `PartitionOwnership` is what they agree on: which partitions are read and may be committed;
 * - `ConsumerLifecycle` connects on the first read and closes in order.
 */
export class KafkaSource implements Source {
  protected readonly ownership = new PartitionOwnership();
  private readonly readAhead: ReadAhead;
  private readonly loop: PollLoop;
  private readonly committer: OffsetCommitter;
  private readonly rebalancer: RebalanceHandler;
  private readonly lifecycle: ConsumerLifecycle;
  private listener: SourceListener | undefined;

  constructor(
    config: KafkaSourceConfig,
    private readonly deps: KafkaClientDeps,
    propertiesKey: string,
    openConsumer: ConsumerFactory = (handlers) => createKafkaConsumer(config, deps, propertiesKey, handlers),
  ) {
    const consumer = openConsumer({
      onRebalance: (err, assignment) => this.rebalancer.onRebalance(err, assignment),
      onCommitResult: (err, offsets) => this.committer.onResult(err, offsets),
      onClientError: (err) => this.onClientError(err),
    });
    this.readAhead = new ReadAhead(
      { maxRecords: config.maxBufferedRecords, maxBytes: config.maxBufferedBytes },
      (key) => this.ownership.isReading(key),
    );
    // The answer to a commit comes behind the records librdkafka already fetched: let the loop take more.
    this.committer = new OffsetCommitter(
      consumer,
      (nextOffsets) => this.ownedOffsets(nextOffsets),
      () => this.loop.roomMade(true),
      deps,
    );
    this.loop = new PollLoop(consumer, this.readAhead, this.ownership, () => this.committer.waiting, deps);
    this.rebalancer = new RebalanceHandler(
      consumer,
      this.ownership,
      this.readAhead,
      this.loop,
      { listener: () => this.listener, onAssignmentLost: (keys) => this.onAssignmentLost(keys) },
      deps,
    );
    this.lifecycle = new ConsumerLifecycle(consumer, this.loop, this.rebalancer, config, deps.logger);
  }

  async *records(listener: SourceListener): AsyncIterable<SourceRecord> {
    if (this.listener) throw new Error('KafkaSource.records() can only be iterated once');
    this.listener = listener;
    await this.lifecycle.start();
    for (;;) {
      const record = await this.loop.next();
      if (record === undefined) return;
      yield record;
    }
  }

  /**
   * Resolves once the group coordinator stored the offsets (not merely once they were queued). The
   * answer is delivered by the poll loop behind records librdkafka already fetched; while a commit
   * waits, the read-ahead may grow to twice its bound to reach it, and then the source pauses
   * fetching. A caller that keeps pulling while it waits loses nothing; one that stops pulling until
   * the answer comes runs at about half the speed (10,700 against 24,000 records/s locally).
   */
  commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    return this.committer.commit(nextOffsets);
  }

  stop(): void {
    this.loop.stop();
  }

  close(): Promise<void> {
    return this.lifecycle.close();
  }

  protected ownedOffsets(nextOffsets: ReadonlyMap<string, number>): RdKafka.TopicPartitionOffset[] {
    return this.ownership.ownedOffsets(nextOffsets);
  }

  /** The group took these partitions away (session expired) before the runtime could commit them. */
  protected onAssignmentLost(keys: readonly string[]): void {
    void keys;
  }

  private onClientError(err: RdKafka.LibrdKafkaError): void {
    const e = toKafkaError(err);
    this.deps.metrics.count('kafka_client_errors_total', { client: 'consumer', code: e.code });
    this.deps.logger.warn(
      { client: this.deps.clientId, code: e.code, fatal: e.fatal, err: e.message },
      'kafka consumer error',
    );
    if (e.fatal) this.loop.fail(e);
  }
}
