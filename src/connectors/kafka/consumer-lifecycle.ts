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

export interface LifecycleTiming {
  readonly connectTimeoutMs: number;
  /** A consume call waits this long for a first record, then takes what is ready. */
  readonly pollTimeoutMs: number;
}

export const LIFECYCLE_TIMING: LifecycleTiming = { connectTimeoutMs: 30_000, pollTimeoutMs: 250 };

/**
 * Connects and subscribes on the first read. Closing stops the records first and ends the poll
 * loop, then drops the subscription (which revokes everything), disconnects, and waits for the
 * rebalance handler to answer the last revocation.
 */
export class ConsumerLifecycle {
  private started: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly consumer: LifecycleConsumer,
    private readonly loop: PollControl,
    private readonly rebalances: { settled(): Promise<void> },
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
    await callback<RdKafka.ClientMetrics>('disconnect consumer', (cb) => this.consumer.disconnect(cb));
    await this.rebalances.settled();
  }
}
