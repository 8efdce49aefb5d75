import type { RdKafka } from '@confluentinc/kafka-javascript';
import { callback, toKafkaError } from './kafka-error.js';
import type { KafkaLogger } from './logger.js';

/** The part of librdkafka's KafkaConsumer that starting and closing use. */
export interface LifecycleConsumer {
  connect(options: { timeout: number }, cb: (err: unknown, metadata: RdKafka.Metadata) => void): void;
  setDefaultConsumeTimeout(timeoutMs: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  subscribe(topics: string[]): void;
  unsubscribe(): void;
  consume(count: number, cb: (err: unknown, messages: RdKafka.Message[]) => void): void;
  disconnect(cb: (err: unknown, metrics: RdKafka.ClientMetrics) => void): void;
  isConnected(): boolean;
}

/** What starting and closing drive of the poll loop. */
export interface PollControl {
  run(): Promise<void>;
  stop(): void;
  beginClose(): void;
  roomMade(force: boolean): void;
}

/** What closing waits for of the rebalance handler. */
export interface RevocationControl {
  /** The events received so far are answered. */
  settled(): Promise<void>;
  /** Some partitions are still assigned (or being revoked). */
  holdsPartitions(): boolean;
}

export interface LifecycleTiming {
  readonly connectTimeoutMs: number;
  /** A consume call waits this long for a first record, then takes what is ready. */
  readonly pollTimeoutMs: number;
  /** How long closing serves the unsubscribe's revocation so that the member leaves the group. */
  readonly leaveTimeoutMs: number;
}

export const LIFECYCLE_TIMING: LifecycleTiming = {
  connectTimeoutMs: 30_000,
  pollTimeoutMs: 250,
  leaveTimeoutMs: 5_000,
};

/**
 * Connects and subscribes on the first read. Closing stops the records first and ends the poll
 * loop, then drops the subscription (which revokes everything), serves that revocation so that the
 * member leaves the group, disconnects, and waits for the rebalance handler to answer the last
 * revocation.
 */
export class ConsumerLifecycle {
  private started: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly consumer: LifecycleConsumer,
    private readonly loop: PollControl,
    private readonly rebalances: RevocationControl,
    private readonly subscription: { readonly topics: readonly string[]; readonly consumerGroup: string },
    private readonly logger: KafkaLogger,
    private readonly timing: LifecycleTiming = LIFECYCLE_TIMING,
  ) {}

  start(): Promise<void> {
    this.started ??= (async () => {
      await callback<RdKafka.Metadata>('connect consumer', (cb) =>
        this.consumer.connect({ timeout: this.timing.connectTimeoutMs }, cb),
      );
      this.consumer.setDefaultConsumeTimeout(this.timing.pollTimeoutMs);
      this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
      this.consumer.subscribe([...this.subscription.topics]);
      this.logger.info(
        { topics: this.subscription.topics, group: this.subscription.consumerGroup },
        'kafka source subscribed',
      );
      this.polling = this.loop.run();
    })();
    return this.started;
  }

  /** Idempotent; never started or failed to connect: nothing to close. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.loop.stop();
    this.loop.beginClose();
    if (!this.started) return;
    try {
      await this.started;
    } catch {
      return;
    }
    this.loop.roomMade(true);
    await this.polling;
    if (!this.consumer.isConnected()) return;
    // Unsubscribing revokes everything; while closing, the rebalance handler answers at once (the
    // runtime committed before calling close).
    try {
      this.consumer.unsubscribe();
    } catch (e) {
      this.logger.warn({ err: toKafkaError(e).message }, 'kafka unsubscribe failed');
    }
    await this.leaveGroup();
    await callback<RdKafka.ClientMetrics>('disconnect consumer', (cb) => this.consumer.disconnect(cb));
    await this.rebalances.settled();
  }

  /**
   * A static member (group.instance.id) sends LeaveGroup only when the unsubscribe's revocation is
   * answered before the client closes: librdkafka skips the leave once it is terminating (KIP-345,
   * so that a restarting member keeps its partitions). A stopping instance cannot tell a restart
   * from a scale-down, and a scaled-down instance's partitions would wait session.timeout.ms (45 s)
   * for another owner; so closing serves the revocation here and leaves: a SIGTERM hands over at
   * once, as without static membership, and only a crash (no close) keeps the partitions for the
   * restart. Records a poll still returns are dropped: they were not committed.
   */
  private async leaveGroup(): Promise<void> {
    const deadline = Date.now() + this.timing.leaveTimeoutMs;
    // One poll more after the revocation is answered: the unassign it started completes in
    // librdkafka's own thread, and only then is the LeaveGroup sent.
    let pollsAfterRevocation = 1;
    while (Date.now() < deadline) {
      if (!this.rebalances.holdsPartitions() && pollsAfterRevocation-- <= 0) return;
      try {
        await callback<RdKafka.Message[]>('consume while leaving', (cb) => this.consumer.consume(1, cb));
      } catch (e) {
        this.logger.warn({ err: toKafkaError(e).message }, 'kafka poll while leaving the group failed');
        return;
      }
      await this.rebalances.settled();
    }
  }
}
