import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Source, SourceListener, SourceRecord } from '../types.js';
import { createKafkaConsumer, type ConsumerHandlers, type SourceConsumer } from './consumer-client.js';
import { ConsumerLifecycle, LIFECYCLE_TIMING } from './consumer-lifecycle.js';
import { ErrorLogThrottle } from './error-log-throttle.js';
import { FenceRecovery } from './fence-recovery.js';
import { codes, type KafkaClientError, toKafkaError } from './kafka-error.js';
import { OffsetCommitter } from './offset-committer.js';
import type { KafkaSourceConfig } from './options.js';
import { PartitionOwnership } from './partition-ownership.js';
import { PollLoop } from './poll-loop.js';
import type { KafkaClientDeps } from './producer-client.js';
import { ReadAhead } from './read-ahead.js';
import { RebalanceHandler } from './rebalance.js';
import { ReplaceableConsumer } from './replaceable-consumer.js';

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
  private readonly recovery: FenceRecovery;
  private listener: SourceListener | undefined;
  private failure: KafkaClientError | undefined;
  private readonly errorLog = new ErrorLogThrottle();

  constructor(
    private readonly config: KafkaSourceConfig,
    private readonly deps: KafkaClientDeps,
    propertiesKey: string,
    openConsumer: ConsumerFactory = (handlers) => createKafkaConsumer(config, deps, propertiesKey, handlers),
  ) {
    const consumer = new ReplaceableConsumer(openConsumer, {
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
      { ...deps, onFatal: (err) => this.onFatal(err) },
    );
    this.loop = new PollLoop(consumer, this.readAhead, this.ownership, () => this.committer.waiting, {
      ...deps,
      onFatal: (err) => this.onFatal(err),
    });
    this.rebalancer = new RebalanceHandler(
      consumer,
      this.ownership,
      this.readAhead,
      this.loop,
      { listener: () => this.listener, onAssignmentLost: (keys) => this.onAssignmentLost(keys) },
      deps,
    );
    this.lifecycle = new ConsumerLifecycle(
      consumer,
      this.loop,
      this.rebalancer,
      config,
      deps.logger,
      LIFECYCLE_TIMING,
      deps.waits,
    );
    this.recovery = new FenceRecovery(
      {
        consumer,
        ownership: this.ownership,
        loseAll: async (partitions) => {
          this.rebalancer.onRebalance(revocation(), partitions);
          await this.rebalancer.settled();
        },
        abandonCommits: (reason) => this.committer.abandon(reason),
        connectAndSubscribe: () => this.lifecycle.connectAndSubscribe(),
      },
      config,
      deps,
      (err) => this.loop.fail(err),
    );
    // A commit waiting for its answer when the consumer failed would otherwise wait out its timeout
    // and retries (90 s) before the process can stop.
    void this.loop.failed.then((err) => this.committer.fail(err));
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
    this.lifecycle.stopWaiting();
    this.loop.stop();
  }

  async close(): Promise<void> {
    // A replacement under way connects a new client: let it finish, then close that one.
    await this.recovery.pending;
    return this.lifecycle.close();
  }

  protected ownedOffsets(nextOffsets: ReadonlyMap<string, number>): RdKafka.TopicPartitionOffset[] {
    return this.ownership.ownedOffsets(nextOffsets);
  }

  /** The group took these partitions away (session expired) before the runtime could commit them. */
  protected onAssignmentLost(keys: readonly string[]): void {
    void keys;
  }

  /**
   * Whether this source may replace a fenced client and go on (see fence-recovery.ts); the
   * exactly-once source may not: its open transaction must be aborted by a restart.
   */
  protected get replaceable(): boolean {
    return true;
  }

  /** A fatal client error: a fence is recovered from when allowed; true while that runs. */
  private onFatal(err: KafkaClientError): boolean {
    if (this.replaceable && this.recovery.recover(err)) return true;
    if (!this.failure) {
      this.failure = this.recovery.explain(err, this.replaceable);
      this.deps.logger.error(
        { group: this.config.consumerGroup, instanceId: this.config.instanceId, code: err.code },
        this.failure.message,
      );
    }
    this.loop.fail(this.failure);
    return false;
  }

  private onClientError(err: RdKafka.LibrdKafkaError): void {
    const e = toKafkaError(err);
    this.deps.metrics.count('kafka_client_errors_total', { client: 'consumer', code: e.code });
    const { log, suppressed } = e.fatal ? { log: true, suppressed: 0 } : this.errorLog.admit(e.code);
    if (log) {
      this.deps.logger.warn(
        {
          client: this.deps.clientId,
          code: e.code,
          fatal: e.fatal,
          err: e.message,
          ...(suppressed ? { suppressed } : {}),
        },
        'kafka consumer error',
      );
    }
    if (e.fatal) this.onFatal(e);
  }
}

/** The revocation librdkafka would report for partitions lost with the fenced client. */
function revocation(): RdKafka.LibrdKafkaError {
  const code = codes.ERR__REVOKE_PARTITIONS;
  return { code, errno: code, message: 'partitions lost with the fenced consumer', origin: 'local' };
}
