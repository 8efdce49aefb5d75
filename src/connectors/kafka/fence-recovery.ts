import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Metrics } from '../../core/metrics.js';
import { callback, codes, isFence, KafkaClientError, toKafkaError } from './kafka-error.js';
import type { KafkaLogger } from './logger.js';
import type { PartitionOwnership } from './partition-ownership.js';
import type { ReplaceableConsumer } from './replaceable-consumer.js';

export interface FenceLimits {
  /** More fences than this within `windowMs` mean another instance runs with this id: stop. */
  readonly maxFences: number;
  readonly windowMs: number;
  /** How long closing the fenced client may take before it is left behind. */
  readonly closeTimeoutMs: number;
}

export const FENCE_LIMITS: FenceLimits = { maxFences: 3, windowMs: 10 * 60_000, closeTimeoutMs: 10_000 };

/** What a recovery drives of the source's other parts. */
export interface RecoveryParts {
  readonly consumer: ReplaceableConsumer;
  readonly ownership: PartitionOwnership;
  /** Answers a revocation of these partitions as lost (the runtime forgets what it read of them). */
  loseAll(partitions: RdKafka.TopicPartition[]): Promise<void>;
  /** Commits still waiting for the fenced client's answer: they will get none. */
  abandonCommits(reason: KafkaClientError): void;
  /** Connects the new client and subscribes it; false if the source stopped meanwhile. */
  connectAndSubscribe(): Promise<boolean>;
}

/**
 * A static member (group.instance.id) is fenced (FENCED_INSTANCE_ID, fatal for librdkafka's
 * consumer) when the group knows its id under another member id. That happens for two reasons:
 *
 * - the broker was away longer than the session timeout and the member's rejoin crossed its own
 *   earlier JoinGroup: this instance is the only one with the id, and a new client with the same id
 *   simply takes its place — so the source replaces the client in-process and goes on, reading the
 *   lost partitions again from the last committed offsets (at-least-once: the records in flight
 *   then are repeated, as after any lost assignment);
 * - another instance runs with the same id by mistake: each replacement fences the other, so after
 *   `maxFences` within `windowMs` the source stops with an error naming the id (exit 1). The first to
 *   reach the limit stops; the other one goes on.
 *
 * Under exactly-once the source is not replaced: the open transaction may hold outputs of the lost
 * partitions and must be aborted, which only a restart of the process does cleanly.
 */
export class FenceRecovery {
  private readonly fences: number[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly parts: RecoveryParts,
    private readonly identity: { readonly consumerGroup: string; readonly instanceId: string },
    private readonly deps: { readonly logger: KafkaLogger; readonly metrics: Metrics },
    private readonly onGiveUp: (err: KafkaClientError) => void,
    private readonly limits: FenceLimits = FENCE_LIMITS,
  ) {}

  /** The replacement under way, if any (closing waits for it). */
  get pending(): Promise<void> | undefined {
    return this.running;
  }

  /**
   * Starts a replacement for a fenced client and returns true, or returns false when `err` is no
   * fence or the fences come too often (the caller then fails with `explain(err)`).
   */
  recover(err: KafkaClientError): boolean {
    if (!isFence(err)) return false;
    if (this.running) return true;
    const now = Date.now();
    while (this.fences.length > 0 && now - this.fences[0]! > this.limits.windowMs) this.fences.shift();
    this.fences.push(now);
    if (this.fences.length > this.limits.maxFences) return false;
    this.running = this.replace(err).finally(() => (this.running = undefined));
    return true;
  }

  /**
   * The error a fence stops the source with, saying what to fix: `recovering` is false for a
   * source that never replaces its client (exactly-once).
   */
  explain(err: KafkaClientError, recovering = true): KafkaClientError {
    if (!isFence(err)) return err;
    const { consumerGroup, instanceId } = this.identity;
    if (!recovering) {
      return new KafkaClientError(
        `kafka consumer fenced in consumer group "${consumerGroup}" (instance_id "${instanceId}"): ` +
          'under EXACTLY_ONCE the process stops so that its open transaction is aborted, and resumes ' +
          'from the last committed offsets when restarted. If this repeats, another instance runs with ' +
          'this instance_id: instances running at the same time need distinct instance_id values',
        err.code,
        { fatal: true },
        err,
      );
    }
    const message =
      `kafka consumer fenced ${this.fences.length} times within ${this.limits.windowMs / 60_000} min: ` +
      `another instance runs in consumer group "${consumerGroup}" with this instance's instance_id ` +
      `"${instanceId}" (group.instance.id); this one stops. Instances running at the same time need ` +
      `distinct instance_id values`;
    return new KafkaClientError(message, err.code, { fatal: true }, err);
  }

  private async replace(err: KafkaClientError): Promise<void> {
    const { consumer, ownership } = this.parts;
    const { logger, metrics } = this.deps;
    const old = consumer.beginSwap();
    logger.warn(
      {
        group: this.identity.consumerGroup,
        instanceId: this.identity.instanceId,
        fences: this.fences.length,
        err: err.message,
      },
      'kafka consumer fenced; replacing it with a new client under the same instance_id (a broker ' +
        'outage longer than the session timeout does this; if it repeats, another instance has this instance_id)',
    );
    metrics.count('kafka_consumer_restarts_total', { reason: 'fenced' });
    metrics.event('restart', { part: 'kafka consumer', reason: 'fenced by the group coordinator' });
    this.parts.abandonCommits(
      new KafkaClientError('commit: the consumer was fenced', codes.ERR_FENCED_INSTANCE_ID),
    );
    try {
      await this.parts.loseAll(ownership.reading());
      await this.closeQuietly(old);
      consumer.endSwap();
      if (await this.parts.connectAndSubscribe())
        logger.info({ instanceId: this.identity.instanceId }, 'kafka consumer replaced and subscribed');
    } catch (e) {
      this.onGiveUp(toKafkaError(e, 'replacing the fenced kafka consumer'));
    }
  }

  /** A fenced client may hang in its close; it is left behind after a while (logged). */
  private async closeQuietly(old: {
    disconnect(cb: (err: unknown, m: RdKafka.ClientMetrics) => void): void;
  }): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), this.limits.closeTimeoutMs)),
    );
    const closed = callback<RdKafka.ClientMetrics>('disconnect fenced consumer', (cb) =>
      old.disconnect(cb),
    ).then(
      () => 'closed' as const,
      (e: unknown) => {
        this.deps.logger.warn({ err: toKafkaError(e).message }, 'closing the fenced kafka consumer failed');
        return 'closed' as const;
      },
    );
    const result = await Promise.race([closed, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout')
      this.deps.logger.warn(
        { timeoutMs: this.limits.closeTimeoutMs },
        'the fenced kafka consumer did not close in time; left behind',
      );
  }
}
