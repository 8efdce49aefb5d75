import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Metrics } from '../../core/metrics.js';
import type { SourceListener } from '../types.js';
import type { ConsumerLag } from './consumer-lag.js';
import { codes, toKafkaError } from './kafka-error.js';
import type { KafkaLogger } from './logger.js';
import { partitionKey } from './partition-key.js';
import type { Partition, PartitionOwnership } from './partition-ownership.js';
import type { ReadAhead } from './read-ahead.js';

/** The part of librdkafka's KafkaConsumer a rebalance uses (cooperative-sticky). */
export interface RebalancingConsumer {
  incrementalAssign(partitions: Partition[]): void;
  incrementalUnassign(partitions: Partition[]): void;
  /** The current revocation is of an assignment the group already gave away (session timeout). */
  assignmentLost(): boolean;
  pause(partitions: Partition[]): void;
  resume(partitions: Partition[]): void;
  isConnected(): boolean;
}

/** What a rebalance reads of, and asks from, the poll loop. */
export interface FetchControl {
  readonly paused: boolean;
  readonly closing: boolean;
  /** Fetch again if there is room (ends a pause). */
  roomMade(): void;
}

export interface RebalanceHooks {
  /** The runtime, once it started reading: it drains and commits revoked partitions. */
  listener(): SourceListener | undefined;
  /** The group took these partitions away (session expired) before the runtime could commit them. */
  onAssignmentLost(keys: readonly string[]): void;
}

/**
 * Answers the group's rebalance_cb. librdkafka keeps a revoked partition assigned, and the group
 * waits for it, until the application answers with incremental_unassign; it need not answer inside
 * the callback (librdkafka's contract, and the binding dispatches the callback to JS without
 * answering for us when `rebalance_cb` is a function). So a revocation first lets the runtime drain
 * and commit (`onPartitionsRevoked`), then releases the partitions. Events are answered in the order
 * they came, one at a time, so a later assignment of the same partition is not undone by an earlier
 * revocation finishing late.
 */
export class RebalanceHandler {
  private rebalances: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: RebalancingConsumer,
    private readonly ownership: PartitionOwnership,
    private readonly readAhead: ReadAhead,
    private readonly fetch: FetchControl,
    private readonly hooks: RebalanceHooks,
    private readonly deps: {
      readonly logger: KafkaLogger;
      readonly metrics: Metrics;
      readonly lag?: ConsumerLag;
    },
  ) {}

  /** rebalance_cb */
  onRebalance(err: RdKafka.LibrdKafkaError | undefined, assignment: RdKafka.TopicPartition[]): void {
    const code = err?.code;
    const partitions: Partition[] = assignment.map(({ topic, partition }) => ({ topic, partition }));
    this.rebalances = this.rebalances
      .then(() => this.rebalance(code, partitions))
      .catch((e: unknown) =>
        this.deps.logger.error({ err: toKafkaError(e).message }, 'kafka rebalance handling failed'),
      );
  }

  /** Resolves when the events received so far are answered. */
  settled(): Promise<void> {
    return this.rebalances;
  }

  holdsPartitions(): boolean {
    return this.ownership.holdsAny();
  }

  private async rebalance(code: number | undefined, partitions: Partition[]): Promise<void> {
    const keys = partitions.map((p) => partitionKey(p.topic, p.partition));
    if (code === codes.ERR__ASSIGN_PARTITIONS) return this.assign(partitions, keys);
    if (code === codes.ERR__REVOKE_PARTITIONS) return this.revoke(partitions, keys);
    this.deps.logger.error({ code }, 'kafka rebalance error');
  }

  private assign(partitions: Partition[], keys: string[]): void {
    this.consumer.incrementalAssign(partitions);
    this.ownership.assign(keys);
    this.readAhead.forget(keys);
    // An earlier revocation paused these partitions; a new assignment starts unpaused unless full.
    if (this.fetch.paused) this.consumer.pause(partitions);
    else this.consumer.resume(partitions);
    // A pause taken while the runtime stalled (it does during a revocation's drain) would
    // otherwise outlive the records it was for: the revocation dropped them from the read-ahead,
    // so nothing is pulled, nothing makes room, and the new partitions are never fetched.
    this.fetch.roomMade();
    this.deps.lag?.assigned(keys);
    this.deps.metrics.count('kafka_rebalances_total', { kind: 'assign' });
    this.deps.metrics.event('rebalance', { kind: 'assign', partitions: keys.join(' ') });
    this.deps.logger.info({ partitions: keys }, 'kafka partitions assigned');
  }

  private async revoke(partitions: Partition[], keys: string[]): Promise<void> {
    const lost = this.consumer.assignmentLost();
    this.ownership.beginRevoke(keys, lost);
    if (lost) this.hooks.onAssignmentLost(keys);
    this.readAhead.drop(keys);
    if (this.consumer.isConnected() && !this.fetch.closing) {
      try {
        this.consumer.pause(partitions);
      } catch {
        // Already unassigned by a concurrent close: nothing left to fetch.
      }
    }
    // The partitions are no longer this member's to report, though the runtime still commits them.
    this.deps.lag?.revoked(keys);
    const kind = lost ? 'lost' : 'revoke';
    this.deps.metrics.count('kafka_rebalances_total', { kind });
    this.deps.metrics.event('rebalance', { kind, partitions: keys.join(' ') });
    this.deps.logger.info({ partitions: keys, lost }, 'kafka partitions revoked');
    const listener = this.hooks.listener();
    // Closing: the runtime committed before it called close, so the group need not wait.
    if (listener && !this.fetch.closing) {
      try {
        await listener.onPartitionsRevoked(keys);
      } catch (e) {
        this.deps.logger.error(
          { err: e instanceof Error ? e.message : String(e) },
          'onPartitionsRevoked failed',
        );
      }
    }
    this.ownership.release(keys);
    this.readAhead.forget(keys);
    this.consumer.incrementalUnassign(partitions);
  }
}
