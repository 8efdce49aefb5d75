import type { RdKafka } from '@confluentinc/kafka-javascript';
import { noWaits, type Waits } from '../../core/waits.js';
import { callback, codes, KafkaClientError, toKafkaError } from './kafka-error.js';
import type { KafkaLogger } from './logger.js';

/** The part of librdkafka's KafkaConsumer that starting and closing use. */
export interface LifecycleConsumer {
  connect(options: { timeout: number }, cb: (err: unknown, metadata: RdKafka.Metadata) => void): void;
  getMetadata(
    options: { topic?: string; timeout: number },
    cb: (err: unknown, metadata: RdKafka.Metadata) => void,
  ): void;
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
  /** Connecting to an unreachable broker is tried again after this, doubling up to `retryMaxMs`. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** How long a subscribed topic may be missing from the cluster before the source fails. */
  readonly missingTopicMs: number;
}

export const LIFECYCLE_TIMING: LifecycleTiming = {
  // Per attempt: librdkafka waits this long for a first metadata answer even when the connection
  // is refused at once; attempts repeat without end while the broker is unreachable.
  connectTimeoutMs: 10_000,
  pollTimeoutMs: 250,
  leaveTimeoutMs: 5_000,
  retryMinMs: 1_000,
  retryMaxMs: 30_000,
  missingTopicMs: 120_000,
};

/**
 * Connection failures that heal by themselves: the broker is down, restarting, or not yet resolvable
 * (a Kubernetes service without endpoints). Anything else (authentication or TLS refused, a bad
 * argument) is a configuration problem and stops the source.
 */
const UNREACHABLE = new Set<number>([
  codes.ERR__TRANSPORT,
  codes.ERR__ALL_BROKERS_DOWN,
  codes.ERR__TIMED_OUT,
  codes.ERR__RESOLVE,
]);

/** The part name under which the source reports its waits. */
const WAIT_PART = 'kafka source';

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
  private waitingStopped = false;
  private wakeWaiter: (() => void) | undefined;

  constructor(
    private readonly consumer: LifecycleConsumer,
    private readonly loop: PollControl,
    private readonly rebalances: RevocationControl,
    private readonly subscription: { readonly topics: readonly string[]; readonly consumerGroup: string },
    private readonly logger: KafkaLogger,
    private readonly timing: LifecycleTiming = LIFECYCLE_TIMING,
    private readonly waits: Waits = noWaits,
  ) {}

  /**
   * Connects (waiting for an unreachable broker as long as it takes, with backoff), checks that the
   * topics exist, subscribes and starts polling. Resolves without polling if `stopWaiting` came
   * first.
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      if (!(await this.connectAndSubscribe())) return;
      this.polling = this.loop.run();
    })();
    return this.started;
  }

  /** Ends a wait for the broker: the source was stopped before it could read. */
  stopWaiting(): void {
    this.waitingStopped = true;
    this.wakeWaiter?.();
  }

  /**
   * Connects the consumer (a new one, after a replacement) and subscribes it; the poll loop, if
   * running, goes on with it. False if stopped while waiting.
   */
  async connectAndSubscribe(): Promise<boolean> {
    if (!(await this.connectWaiting())) return false;
    if (!(await this.awaitTopics())) return false;
    this.consumer.setDefaultConsumeTimeout(this.timing.pollTimeoutMs);
    this.consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.consumer.subscribe([...this.subscription.topics]);
    this.logger.info(
      { topics: this.subscription.topics, group: this.subscription.consumerGroup },
      'kafka source subscribed',
    );
    return true;
  }

  private async connectWaiting(): Promise<boolean> {
    let delay = this.timing.retryMinMs;
    for (let attempt = 1; ; attempt++) {
      if (this.waitingStopped) return false;
      if (attempt === 1) this.waits.wait(WAIT_PART, 'connecting to the brokers');
      try {
        await callback<RdKafka.Metadata>('connect consumer', (cb) =>
          this.consumer.connect({ timeout: this.timing.connectTimeoutMs }, cb),
        );
        if (attempt > 1) this.logger.info({ attempts: attempt }, 'kafka source connected');
        this.waits.clear(WAIT_PART);
        return true;
      } catch (e) {
        const err = toKafkaError(e);
        if (!UNREACHABLE.has(err.code)) throw err;
        const why = `broker unreachable (${err.message}); connecting again`;
        this.waits.wait(WAIT_PART, why);
        this.logger.warn(
          { attempt, retryInMs: delay, code: err.code, err: err.message },
          `kafka source: ${why}`,
        );
        await this.pause(delay);
        delay = Math.min(delay * 2, this.timing.retryMaxMs);
      }
    }
  }

  /**
   * A topic that does not exist is waited for a while (it may be being created by the same
   * deployment), then fails the source: a typo in a topic name would otherwise wait for ever.
   */
  private async awaitTopics(): Promise<boolean> {
    const deadline = Date.now() + this.timing.missingTopicMs;
    for (;;) {
      if (this.waitingStopped) return false;
      const metadata = await callback<RdKafka.Metadata>('kafka metadata', (cb) =>
        this.consumer.getMetadata({ timeout: this.timing.connectTimeoutMs }, cb),
      ).catch((e: unknown) => {
        const err = toKafkaError(e);
        if (!UNREACHABLE.has(err.code)) throw err;
        return undefined;
      });
      const known = new Set(metadata?.topics.map((t) => t.name) ?? []);
      const missing = this.subscription.topics.filter((t) => !known.has(t));
      if (metadata && missing.length === 0) {
        this.waits.clear(WAIT_PART);
        return true;
      }
      if (Date.now() >= deadline) {
        throw new KafkaClientError(
          metadata
            ? `topics ${missing.join(', ')} do not exist (waited ${this.timing.missingTopicMs / 1000} s)`
            : `no metadata from the brokers within ${this.timing.missingTopicMs / 1000} s`,
          codes.ERR_UNKNOWN_TOPIC_OR_PART,
        );
      }
      const why = metadata ? `topics ${missing.join(', ')} do not exist yet` : 'no metadata from the brokers';
      this.waits.wait(WAIT_PART, why);
      this.logger.warn({ missing }, `kafka source: ${why}; waiting`);
      await this.pause(Math.min(this.timing.retryMinMs * 2, this.timing.missingTopicMs));
    }
  }

  private pause(ms: number): Promise<void> {
    if (this.waitingStopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeWaiter = done;
    });
  }

  /** Idempotent; never started or failed to connect: nothing to close. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.stopWaiting();
    this.loop.stop();
    this.loop.beginClose();
    if (!this.started) return;
    try {
      await this.started;
    } catch {
      return;
    }
    // Stopped while waiting for the broker: it never subscribed.
    if (!this.polling) return;
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
