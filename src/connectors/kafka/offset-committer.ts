import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Metrics } from '../../core/metrics.js';
import {
  codes,
  isFence,
  isNotGroupMember,
  KafkaClientError,
  retryTransient,
  toKafkaError,
} from './kafka-error.js';
import type { ConsumerLag } from './consumer-lag.js';
import type { KafkaLogger } from './logger.js';

/** The part of librdkafka's KafkaConsumer the committer uses. */
export interface CommittingConsumer {
  /**
   * Queues the commit and returns (the binding's commitCb too: it wraps commitAsync); the broker's
   * answer comes through offset_commit_cb, served by a poll call.
   */
  commit(offsets: RdKafka.TopicPartitionOffset[]): void;
}

export interface CommitTiming {
  /** How long one commit may wait for the broker's answer. */
  readonly timeoutMs: number;
  /** Transient commit failures (coordinator moving, broker restarting) are retried this long. */
  readonly deadlineMs: number;
}

export const COMMIT_TIMING: CommitTiming = { timeoutMs: 30_000, deadlineMs: 60_000 };

interface Waiter {
  settle: (err: KafkaClientError | undefined) => void;
}

/**
 * Commits consumer offsets and resolves once the group coordinator stored them, not merely once
 * they were queued. librdkafka's offset_commit_cb names no request, so commits go one at a time and
 * each result settles the oldest waiting commit.
 */
export class OffsetCommitter {
  private commits: Promise<void> = Promise.resolve();
  private readonly waiters: Waiter[] = [];
  private failure: KafkaClientError | undefined;

  constructor(
    private readonly consumer: CommittingConsumer,
    /** Chooses, when the commit's turn comes, the offsets this member may still commit. */
    private readonly ownedOffsets: (
      nextOffsets: ReadonlyMap<string, number>,
    ) => RdKafka.TopicPartitionOffset[],
    /** A commit waits for its answer: called so that the poll loop takes more to reach it. */
    private readonly onWaiting: () => void,
    private readonly deps: {
      readonly logger: KafkaLogger;
      readonly metrics: Metrics;
      readonly lag?: ConsumerLag;
      /** A commit met the client's fatal error (a fence): the source may replace the client. */
      readonly onFatal?: (err: KafkaClientError) => void;
    },
    private readonly timing: CommitTiming = COMMIT_TIMING,
  ) {}

  /** A commit waits for the broker's answer. */
  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  /**
   * Commits the owned ones of `nextOffsets` after the commits before it finished. Retries transient
   * failures until the deadline; a refusal because this member left the group resolves (the new
   * owner reads those partitions again from the last committed offsets).
   */
  commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    const run = this.commits.then(() => this.commitNow(nextOffsets));
    this.commits = run.catch(() => undefined);
    return run;
  }

  /**
   * The consumer failed for good: no poll will serve an answer any more, so the waiting commits and
   * every later one fail at once instead of timing out.
   */
  fail(err: KafkaClientError): void {
    this.failure ??= err;
    for (const waiter of this.waiters.splice(0)) waiter.settle(this.failure);
  }

  /**
   * The client the waiting commits went to was replaced: their answers will never come. They settle
   * with `reason` (a fence: resolved as refused for a member no longer in the group).
   */
  abandon(reason: KafkaClientError): void {
    for (const waiter of this.waiters.splice(0)) waiter.settle(reason);
  }

  /** offset_commit_cb: the answer to the oldest commit still waiting. */
  onResult(
    err: RdKafka.LibrdKafkaError | undefined,
    offsets: RdKafka.TopicPartitionOffset[] | undefined,
  ): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    // librdkafka answers ERR__NO_OFFSET when these offsets were already committed.
    let failure = err && err.code !== codes.ERR__NO_OFFSET ? toKafkaError(err, 'commit') : undefined;
    const partitionError = offsets?.find((o) => o.error && o.error.code !== 0)?.error;
    if (!failure && partitionError) failure = toKafkaError(partitionError, 'commit');
    waiter.settle(failure);
  }

  private async commitNow(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    if (this.failure) throw this.failure;
    const offsets = this.ownedOffsets(nextOffsets);
    if (offsets.length === 0) return;
    try {
      await retryTransient(
        this.timing.deadlineMs,
        () => this.commitOnce(offsets),
        (err) => this.deps.logger.warn({ code: err.code, err: err.message }, 'kafka commit failed; retrying'),
      );
    } catch (e) {
      const err = toKafkaError(e);
      // A fenced client's commits fail for good; the source replaces the client and its partitions
      // are read again from the last commit that went through (fence-recovery.ts).
      if (isFence(err)) this.deps.onFatal?.(err);
      if (!isNotGroupMember(err) && !isFence(err)) {
        this.deps.metrics.count('kafka_commits_total', { outcome: 'failed' });
        throw err;
      }
      // The group moved these partitions on (a rebalance will report them lost): their new owner
      // reads them again from the last committed offsets, so nothing is lost.
      this.deps.metrics.count('kafka_commits_total', { outcome: 'not_member' });
      this.deps.logger.warn(
        { code: err.code, err: err.message },
        'kafka commit refused: no longer a group member',
      );
      return;
    }
    this.deps.metrics.count('kafka_commits_total', { outcome: 'ok' });
    this.deps.lag?.committed(offsets);
  }

  private commitOnce(offsets: RdKafka.TopicPartitionOffset[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      try {
        this.consumer.commit(offsets);
      } catch (e) {
        reject(toKafkaError(e, 'commit'));
        return;
      }
      // A result arriving after the timeout still takes this waiter's place in the queue.
      const waiter: Waiter = {
        settle: (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        },
      };
      this.waiters.push(waiter);
      this.onWaiting();
      const timer = setTimeout(() => {
        waiter.settle = () => undefined;
        reject(
          new KafkaClientError(`commit: no answer within ${this.timing.timeoutMs} ms`, codes.ERR__TIMED_OUT),
        );
      }, this.timing.timeoutMs);
    });
  }
}
