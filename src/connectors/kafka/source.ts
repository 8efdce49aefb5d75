import { RdKafka } from '@confluentinc/kafka-javascript';
import type { Source, SourceListener, SourceRecord } from '../types.js';
import {
  callback,
  codes,
  isNotGroupMember,
  KafkaClientError,
  retryTransient,
  sleep,
  toKafkaError,
} from './kafka-error.js';
import { logLibrdkafka } from './logger.js';
import type { KafkaSourceConfig } from './options.js';
import { parsePartitionKey, partitionKey } from './partition-key.js';
import type { KafkaClientDeps } from './producer-client.js';
import { configErrorFromClient } from './properties.js';
import { RecordQueue } from './record-queue.js';

/** Present in the binding (lib/kafka-consumer.js) but missing from its typings. */
interface ConsumerExtras {
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  incrementalAssign(partitions: Partition[]): void;
  incrementalUnassign(partitions: Partition[]): void;
  assignmentLost(): boolean;
}

type Partition = { topic: string; partition: number };

const CONNECT_TIMEOUT_MS = 30_000;
/** A consume call waits this long for a first record, then takes what is ready (up to POLL_BATCH). */
const POLL_TIMEOUT_MS = 250;
const POLL_BATCH = 500;
/** How long the read-ahead may stay full, with nobody pulling, before the partitions are paused. */
const STALL_MS = 500;
const COMMIT_STALL_MS = 50;
/**
 * librdkafka defaults changed for this source (properties override them): its prefetch is bounded
 * to 2 MiB (default 64 MiB), so that commit results and rebalance events queued behind it arrive
 * sooner; and a partition whose prefetch was full is fetched again after 50 ms instead of 1 s,
 * without which a slow-pulling runtime waits for that second over and over (a 20,000-record run
 * through source and transactional sink went from 2,100 to 19,000 records/s locally).
 */
const LIBRDKAFKA_DEFAULTS = { 'queued.max.messages.kbytes': 2048, 'fetch.queue.backoff.ms': 50 } as const;
/** Transient commit failures (coordinator moving, broker restarting) are retried this long. */
const COMMIT_DEADLINE_MS = 60_000;
/** How long one commit may wait for the broker's answer. */
const COMMIT_TIMEOUT_MS = 30_000;
const EMPTY = Buffer.alloc(0);

/**
 * Reads a consumer group's topics with librdkafka's KafkaConsumer (the binding's lower-level API:
 * it lets the source decide when to poll, when to answer a rebalance and what to commit, which the
 * KafkaJS-style `run()` loop hides).
 *
 * Memory: a background loop moves records from librdkafka (whose prefetch is bounded by
 * queued.max.messages.kbytes) into a read-ahead queue of at most `max_buffered_records` and
 * `max_buffered_bytes`, and takes no more while it is full. Rebalances, commit results and the
 * max.poll.interval.ms liveness check are only served by poll calls, behind the records librdkafka
 * has already fetched; so when the runtime stops pulling for STALL_MS the partitions are paused,
 * which drops librdkafka's prefetch (fetched again on resume) and lets polls serve those events
 * alone. Pausing is the last resort because a resumed partition fetches again only about a second
 * after its pause (measured with librdkafka 2.15), which would starve a runtime that pulls steadily.
 */
export class KafkaSource implements Source {
  protected readonly consumer: RdKafka.KafkaConsumer;
  /** Partitions this member owns: only their offsets are committed. */
  protected readonly assigned = new Set<string>();
  /** Partitions taken away by a lost assignment (session timeout) and not assigned again. */
  protected readonly lost = new Set<string>();
  private readonly revoking = new Set<string>();
  private readonly queue = new RecordQueue();
  /** Last offset queued per partition: a record re-delivered after pause/resume is not yielded twice. */
  private readonly lastQueued = new Map<string, number>();
  /**
   * The largest record of the latest consume call that returned any, or half the previous value
   * when that is larger (so one huge record does not slow reading for long). Starts at the whole
   * byte bound: the first call takes one record, and the batch grows as the sizes become known.
   */
  private largestRecordBytes: number;
  private rebalances: Promise<void> = Promise.resolve();
  /** One commit at a time, so each offset_commit_cb result belongs to the oldest waiting commit. */
  private commits: Promise<void> = Promise.resolve();
  private readonly commitWaiters: { settle: (err: KafkaClientError | undefined) => void }[] = [];
  private listener: SourceListener | undefined;
  private started: Promise<void> | undefined;
  private polling: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private paused = false;
  private stopped = false;
  private closing = false;
  private failure: KafkaClientError | undefined;
  private wake: (() => void) | undefined;
  private onRoom: (() => void) | undefined;

  constructor(
    protected readonly config: KafkaSourceConfig,
    protected readonly deps: KafkaClientDeps,
    propertiesKey: string,
  ) {
    this.largestRecordBytes = config.maxBufferedBytes;
    const conf: RdKafka.ConsumerGlobalConfig = {
      ...LIBRDKAFKA_DEFAULTS,
      ...config.properties,
      'bootstrap.servers': config.bootstrapServers,
      'group.id': config.consumerGroup,
      'client.id': deps.clientId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'partition.assignment.strategy': 'cooperative-sticky',
      ...(config.deliveryGuarantee === 'EXACTLY_ONCE'
        ? { 'isolation.level': 'read_committed' as const }
        : {}),
      rebalance_cb: (err: RdKafka.LibrdKafkaError | undefined, assignment: RdKafka.TopicPartition[]) =>
        this.onRebalance(err, assignment),
      // The binding's commit calls only queue the commit (commitCb too: it wraps commitAsync); the
      // broker's answer comes through this callback, served by the poll loop.
      offset_commit_cb: true,
    };
    try {
      this.consumer = new RdKafka.KafkaConsumer(conf, { 'auto.offset.reset': config.startPosition });
    } catch (e) {
      throw configErrorFromClient(e, propertiesKey);
    }
    this.consumer.on('event.error', (err) => this.onClientError(err));
    this.consumer.on('event.log', (event) => logLibrdkafka(deps.logger, deps.clientId, event));
    this.consumer.on('offset.commit', (err, offsets) => this.onCommitResult(err, offsets));
  }

  async *records(listener: SourceListener): AsyncIterable<SourceRecord> {
    if (this.listener) throw new Error('KafkaSource.records() can only be iterated once');
    this.listener = listener;
    await this.start();
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.stopped) return;
      const record = this.queue.shift();
      if (record === undefined) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.roomMade();
      if (!this.assigned.has(record.partition) || this.revoking.has(record.partition)) continue;
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
    const run = this.commits.then(() => this.commitNow(nextOffsets));
    this.commits = run.catch(() => undefined);
    return run;
  }

  private async commitNow(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    const offsets = this.ownedOffsets(nextOffsets);
    if (offsets.length === 0) return;
    try {
      await retryTransient(
        COMMIT_DEADLINE_MS,
        () => this.commitOnce(offsets),
        (err) => this.deps.logger.warn({ code: err.code, err: err.message }, 'kafka commit failed; retrying'),
      );
    } catch (e) {
      const err = toKafkaError(e);
      if (!isNotGroupMember(err)) throw err;
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
  }

  private commitOnce(offsets: RdKafka.TopicPartitionOffset[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.consumer.commit(offsets);
      } catch (e) {
        reject(toKafkaError(e, 'commit'));
        return;
      }
      // A result arriving after the timeout still takes this waiter's place in the queue.
      const waiter = {
        settle: (err: KafkaClientError | undefined) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        },
      };
      this.commitWaiters.push(waiter);
      // The result comes behind the records librdkafka already fetched: let the loop take more.
      this.roomMade(true);
      const timer = setTimeout(() => {
        waiter.settle = () => undefined;
        reject(
          new KafkaClientError(`commit: no answer within ${COMMIT_TIMEOUT_MS} ms`, codes.ERR__TIMED_OUT),
        );
      }, COMMIT_TIMEOUT_MS);
    });
  }

  private onCommitResult(
    err: RdKafka.LibrdKafkaError | undefined,
    offsets: RdKafka.TopicPartitionOffset[] | undefined,
  ): void {
    const waiter = this.commitWaiters.shift();
    if (!waiter) return;
    // librdkafka answers ERR__NO_OFFSET when these offsets were already committed.
    let failure = err && err.code !== codes.ERR__NO_OFFSET ? toKafkaError(err, 'commit') : undefined;
    const partitionError = offsets?.find((o) => o.error && o.error.code !== 0)?.error;
    if (!failure && partitionError) failure = toKafkaError(partitionError, 'commit');
    waiter.settle(failure);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.clear();
    if (!this.paused) this.setPaused(true);
    this.notify();
    this.roomMade(true);
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private get extras(): ConsumerExtras {
    return this.consumer as unknown as ConsumerExtras;
  }

  protected ownedOffsets(nextOffsets: ReadonlyMap<string, number>): RdKafka.TopicPartitionOffset[] {
    const offsets: RdKafka.TopicPartitionOffset[] = [];
    for (const [key, offset] of nextOffsets) {
      if (this.assigned.has(key)) offsets.push({ ...parsePartitionKey(key), offset });
    }
    return offsets;
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      await callback<RdKafka.Metadata>('connect consumer', (cb) =>
        this.consumer.connect({ timeout: CONNECT_TIMEOUT_MS }, cb),
      );
      this.consumer.setDefaultConsumeTimeout(POLL_TIMEOUT_MS);
      this.extras.setDefaultIsTimeoutOnlyForFirstMessage(true);
      this.consumer.subscribe([...this.config.topics]);
      this.deps.logger.info(
        { topics: this.config.topics, group: this.config.consumerGroup },
        'kafka source subscribed',
      );
      this.polling = this.poll();
    })();
    return this.started;
  }

  private async poll(): Promise<void> {
    let backoff = 100;
    while (!this.closing && !this.failure) {
      if (!this.paused && this.full()) {
        // A commit waiting for its answer behind a full read-ahead means the runtime waits: pause soon.
        const stall = this.commitWaiters.length > 0 ? COMMIT_STALL_MS : STALL_MS;
        if (!(await this.roomWithin(stall)) && !this.paused) this.setPaused(true);
        continue;
      }
      let messages: RdKafka.Message[];
      try {
        // A paused consumer polls for events; a stray record it returns is still kept.
        const room = this.paused ? 1 : this.batchSize();
        messages = await callback<RdKafka.Message[]>('consume', (cb) => this.consumer.consume(room, cb));
        backoff = 100;
      } catch (e) {
        const err = toKafkaError(e);
        if (err.fatal) return this.fail(err);
        if (this.closing) return;
        // Broker restarts surface here as transport errors; librdkafka reconnects by itself.
        this.deps.logger.warn({ code: err.code, err: err.message }, 'kafka consume failed; polling again');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      let largest = 0;
      for (const message of messages) largest = Math.max(largest, this.accept(message));
      if (messages.length > 0) {
        this.largestRecordBytes = Math.max(largest, Math.floor(this.largestRecordBytes / 2), 1);
      }
      this.deps.metrics.gauge('kafka_source_buffered_records', this.queue.length);
      this.deps.metrics.gauge('kafka_source_buffered_bytes', this.queue.bytes);
      if (messages.length > 0) this.notify();
    }
  }

  /** Queues the record unless it is stale; returns its size in bytes either way. */
  private accept(message: RdKafka.Message): number {
    const bytes = (message.value?.length ?? 0) + (message.key?.length ?? 0);
    const key = partitionKey(message.topic, message.partition);
    if (this.stopped || !this.assigned.has(key) || this.revoking.has(key)) return bytes;
    const last = this.lastQueued.get(key);
    if (last !== undefined && message.offset <= last) return bytes;
    this.lastQueued.set(key, message.offset);
    const record: { -readonly [K in keyof SourceRecord]: SourceRecord[K] } = {
      partition: key,
      offset: message.offset,
      key: typeof message.key === 'string' ? Buffer.from(message.key) : (message.key ?? null),
      value: message.value ?? EMPTY,
    };
    if (message.timestamp !== undefined && message.timestamp >= 0) record.timestamp = message.timestamp;
    this.queue.push(record);
    return bytes;
  }

  /** While a commit waits for its result, the read-ahead may grow to twice its bounds to reach it. */
  private slack(): number {
    return this.commitWaiters.length > 0 ? 2 : 1;
  }

  /**
   * Records one consume call may take: what fits under both bounds, sized by the largest recent
   * record. A consume call does not stop at librdkafka's prefetch bound (queued.max.messages.kbytes):
   * the client keeps fetching while the call drains its queue, so a call asking for POLL_BATCH
   * records of 600 KB took 25 MB at once. At least one record is taken, so that a record larger
   * than the whole bound still passes (alone).
   */
  private batchSize(): number {
    const slack = this.slack();
    const byCount = slack * this.config.maxBufferedRecords - this.queue.length;
    const byBytes = Math.floor(
      (slack * this.config.maxBufferedBytes - this.queue.bytes) / this.largestRecordBytes,
    );
    return Math.max(1, Math.min(POLL_BATCH, byCount, byBytes));
  }

  /** The read-ahead is full by count or by bytes. */
  private full(): boolean {
    const slack = this.slack();
    return (
      this.queue.length >= slack * this.config.maxBufferedRecords ||
      this.queue.bytes >= slack * this.config.maxBufferedBytes
    );
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

  /**
   * The runtime took records (or more room is allowed, `force`): below three quarters of both bounds
   * the loop fetches again and a pause ends; not after every record, to fetch in batches.
   */
  private roomMade(force = false): void {
    const max = this.config.maxBufferedRecords;
    const maxBytes = this.config.maxBufferedBytes;
    const over =
      this.queue.length > max - Math.max(1, Math.floor(max / 4)) ||
      this.queue.bytes > maxBytes - Math.floor(maxBytes / 4);
    if (!force && over) return;
    if (this.paused && !this.stopped) this.setPaused(false);
    this.onRoom?.();
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    const partitions = [...this.assigned].filter((key) => !this.revoking.has(key)).map(parsePartitionKey);
    if (partitions.length === 0 || !this.consumer.isConnected()) return;
    try {
      if (paused) this.consumer.pause(partitions);
      else this.consumer.resume(partitions);
    } catch (e) {
      this.deps.logger.warn({ err: toKafkaError(e).message, paused }, 'kafka pause/resume failed');
    }
  }

  /**
   * librdkafka keeps a revoked partition assigned, and the group waits for it, until the application
   * answers with incremental_unassign; it need not answer inside the callback (librdkafka's contract,
   * and the binding dispatches the callback to JS without answering for us when `rebalance_cb` is a
   * function). So a revocation first lets the runtime drain and commit (`onPartitionsRevoked`), then
   * releases the partitions. Events are answered in the order they came, one at a time, so a later
   * assignment of the same partition is not undone by an earlier revocation finishing late.
   */
  private onRebalance(err: RdKafka.LibrdKafkaError | undefined, assignment: RdKafka.TopicPartition[]): void {
    const code = err?.code;
    const partitions: Partition[] = assignment.map(({ topic, partition }) => ({ topic, partition }));
    this.rebalances = this.rebalances
      .then(() => this.rebalance(code, partitions))
      .catch((e: unknown) =>
        this.deps.logger.error({ err: toKafkaError(e).message }, 'kafka rebalance handling failed'),
      );
  }

  private async rebalance(code: number | undefined, partitions: Partition[]): Promise<void> {
    const keys = partitions.map((p) => partitionKey(p.topic, p.partition));
    if (code === codes.ERR__ASSIGN_PARTITIONS) {
      this.extras.incrementalAssign(partitions);
      for (const key of keys) {
        this.assigned.add(key);
        this.lost.delete(key);
        this.lastQueued.delete(key);
      }
      // An earlier revocation paused these partitions; a new assignment starts unpaused unless full.
      if (this.paused) this.consumer.pause(partitions);
      else this.consumer.resume(partitions);
      // A pause taken while the runtime stalled (it does during a revocation's drain) would
      // otherwise outlive the records it was for: the revocation dropped them from the read-ahead,
      // so nothing is pulled, nothing makes room, and the new partitions are never fetched.
      this.roomMade();
      this.deps.metrics.count('kafka_rebalances_total', { kind: 'assign' });
      this.deps.logger.info({ partitions: keys }, 'kafka partitions assigned');
      return;
    }
    if (code !== codes.ERR__REVOKE_PARTITIONS) {
      this.deps.logger.error({ code }, 'kafka rebalance error');
      return;
    }
    const lost = this.extras.assignmentLost();
    for (const key of keys) {
      this.revoking.add(key);
      if (lost) {
        // Offsets of a lost partition cannot be committed any more; commit() skips it.
        this.assigned.delete(key);
        this.lost.add(key);
      }
    }
    if (lost) this.onAssignmentLost(keys);
    this.queue.removePartitions(new Set(keys));
    if (this.consumer.isConnected() && !this.closing) {
      try {
        this.consumer.pause(partitions);
      } catch {
        // Already unassigned by a concurrent close: nothing left to fetch.
      }
    }
    this.deps.metrics.count('kafka_rebalances_total', { kind: lost ? 'lost' : 'revoke' });
    this.deps.logger.info({ partitions: keys, lost }, 'kafka partitions revoked');
    if (this.listener && !this.closing) {
      try {
        await this.listener.onPartitionsRevoked(keys);
      } catch (e) {
        this.deps.logger.error(
          { err: e instanceof Error ? e.message : String(e) },
          'onPartitionsRevoked failed',
        );
      }
    }
    for (const key of keys) {
      this.assigned.delete(key);
      this.revoking.delete(key);
      this.lastQueued.delete(key);
    }
    this.extras.incrementalUnassign(partitions);
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
    if (e.fatal) this.fail(e);
  }

  private fail(err: KafkaClientError): void {
    this.failure ??= err;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async shutdown(): Promise<void> {
    this.stop();
    this.closing = true;
    if (!this.started) return;
    try {
      await this.started;
    } catch {
      return;
    }
    this.roomMade(true);
    await this.polling;
    if (!this.consumer.isConnected()) return;
    // Closing revokes everything; with `closing` set, the rebalance handler answers at once (the
    // runtime committed before calling close).
    try {
      this.consumer.unsubscribe();
    } catch (e) {
      this.deps.logger.warn({ err: toKafkaError(e).message }, 'kafka unsubscribe failed');
    }
    await callback<RdKafka.ClientMetrics>('disconnect consumer', (cb) => this.consumer.disconnect(cb));
    await this.rebalances;
  }
}
