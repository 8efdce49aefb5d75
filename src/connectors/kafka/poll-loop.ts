import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { Metrics } from '../../core/metrics.js';
import type { SourceRecord } from '../types.js';
import type { ConsumerLag } from './consumer-lag.js';
import { callback, sleep, toKafkaError, type KafkaClientError } from './kafka-error.js';
import type { KafkaLogger } from './logger.js';
import type { Partition, PartitionOwnership } from './partition-ownership.js';
import type { ReadAhead } from './read-ahead.js';

/** The part of librdkafka's KafkaConsumer the poll loop uses. */
export interface PollingConsumer {
  /** Takes up to `count` records; waits for the first one only (setDefaultIsTimeoutOnlyForFirstMessage). */
  consume(count: number, cb: (err: unknown, messages: RdKafka.Message[]) => void): void;
  pause(partitions: Partition[]): void;
  resume(partitions: Partition[]): void;
  isConnected(): boolean;
}

export interface PollLoopTiming {
  /** How long the read-ahead may stay full, with nobody pulling, before the partitions are paused. */
  readonly stallMs: number;
  /** The same while a commit waits for its answer behind the full read-ahead (the runtime waits too). */
  readonly commitStallMs: number;
}

export const POLL_LOOP_TIMING: PollLoopTiming = { stallMs: 500, commitStallMs: 50 };

/**
 * Moves records from librdkafka into the read-ahead and hands them to the runtime.
 *
 * Rebalances, commit results and the max.poll.interval.ms liveness check are only served by poll
 * calls, behind the records librdkafka has already fetched; so when the runtime stops pulling for
 * `stallMs` the partitions are paused, which drops librdkafka's prefetch (fetched again on resume)
 * and lets polls serve those events alone. Pausing is the last resort because a resumed partition
 * fetches again only about a second after its pause (measured with librdkafka 2.15), which would
 * starve a runtime that pulls steadily.
 */
export class PollLoop {
  private pausedNow = false;
  private closingNow = false;
  private failure: KafkaClientError | undefined;
  /** Wakes `next()` waiting for a record. */
  private wake: (() => void) | undefined;
  /** Wakes the loop waiting for room in a full read-ahead. */
  private onRoom: (() => void) | undefined;
  private reportFailure: (err: KafkaClientError) => void = () => undefined;
  /** Resolves with the failure that ended the loop, whether or not the runtime pulls. */
  readonly failed = new Promise<KafkaClientError>((resolve) => (this.reportFailure = resolve));

  constructor(
    private readonly consumer: PollingConsumer,
    private readonly readAhead: ReadAhead,
    private readonly ownership: PartitionOwnership,
    /** A commit waits for its answer: the read-ahead may grow to twice its bounds to reach it. */
    private readonly commitWaiting: () => boolean,
    private readonly deps: {
      readonly logger: KafkaLogger;
      readonly metrics: Metrics;
      readonly lag?: ConsumerLag;
      /** A fatal client error; true: it is being recovered from, keep polling. */
      readonly onFatal?: (err: KafkaClientError) => boolean;
    },
    private readonly timing: PollLoopTiming = POLL_LOOP_TIMING,
  ) {}

  /** Fetching is paused (stalled runtime, or stopped). */
  get paused(): boolean {
    return this.pausedNow;
  }

  /** Closing: the loop ends, and rebalances no longer wait for the runtime. */
  get closing(): boolean {
    return this.closingNow;
  }

  /** Polls until closing or failed; a fatal client error fails the source. */
  async run(): Promise<void> {
    let backoff = 100;
    while (!this.closingNow && !this.failure) {
      if (!this.pausedNow && this.readAhead.isFull(this.slack())) {
        const stall = this.commitWaiting() ? this.timing.commitStallMs : this.timing.stallMs;
        if (!(await this.roomWithin(stall)) && !this.pausedNow) this.setPaused(true);
        continue;
      }
      let messages: RdKafka.Message[];
      try {
        // A paused consumer polls for events; a stray record it returns is still kept.
        const room = this.pausedNow ? 1 : this.readAhead.batchSize(this.slack());
        messages = await callback<RdKafka.Message[]>('consume', (cb) => this.consumer.consume(room, cb));
        backoff = 100;
      } catch (e) {
        const err = toKafkaError(e);
        // A fenced client may be replaced under the loop (fence-recovery.ts): then it polls on.
        if (err.fatal && !this.deps.onFatal?.(err)) return this.fail(err);
        if (err.fatal) continue;
        if (this.closingNow) return;
        // Broker restarts surface here as transport errors; librdkafka reconnects by itself.
        this.deps.logger.warn({ code: err.code, err: err.message }, 'kafka consume failed; polling again');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      this.readAhead.add(messages);
      this.deps.lag?.fetched(messages);
      this.reportBuffered();
      if (messages.length > 0) this.notify();
    }
  }

  /**
   * The next record of a partition still being read; undefined once stopped. Throws the failure
   * that ended the loop.
   */
  async next(): Promise<SourceRecord | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.readAhead.stopped) return undefined;
      const record = this.readAhead.shift();
      if (record === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.reportBuffered();
      this.roomMade();
      if (this.ownership.isReading(record.partition)) return record;
    }
  }

  /** No more records: the read-ahead empties and fetching pauses. */
  stop(): void {
    if (this.readAhead.stopped) return;
    this.readAhead.stop();
    this.reportBuffered();
    if (!this.pausedNow) this.setPaused(true);
    this.notify();
    this.roomMade(true);
  }

  beginClose(): void {
    this.closingNow = true;
  }

  fail(err: KafkaClientError): void {
    this.failure ??= err;
    this.reportFailure(this.failure);
    this.notify();
  }

  /**
   * The runtime took records (or more room is allowed, `force`): below three quarters of both bounds
   * the loop fetches again and a pause ends.
   */
  roomMade(force = false): void {
    if (!force && !this.readAhead.hasRoom()) return;
    if (this.pausedNow && !this.readAhead.stopped) this.setPaused(false);
    this.onRoom?.();
  }

  private slack(): number {
    return this.commitWaiting() ? 2 : 1;
  }

  private roomWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onRoom = undefined;
        resolve(false);
      }, ms);
      this.onRoom = () => {
        clearTimeout(timer);
        this.onRoom = undefined;
        resolve(true);
      };
    });
  }

  private setPaused(paused: boolean): void {
    this.pausedNow = paused;
    const partitions = this.ownership.reading();
    if (partitions.length === 0 || !this.consumer.isConnected()) return;
    try {
      if (paused) this.consumer.pause(partitions);
      else this.consumer.resume(partitions);
    } catch (e) {
      this.deps.logger.warn({ err: toKafkaError(e).message, paused }, 'kafka pause/resume failed');
    }
  }

  /** The read-ahead's size, set whenever it changes so that a scrape sees it as it is. */
  private reportBuffered(): void {
    this.deps.metrics.gauge('kafka_source_buffered_records', this.readAhead.length);
    this.deps.metrics.gauge('kafka_source_buffered_bytes', this.readAhead.bytes);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
