import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { SourceRecord } from '../types.js';
import { partitionKey } from './partition-key.js';
import { RecordQueue } from './record-queue.js';

/** At most this many records per consume call, whatever the bounds allow. */
export const POLL_BATCH = 500;
const EMPTY = Buffer.alloc(0);

export interface ReadAheadBounds {
  /** `max_buffered_records` */
  readonly maxRecords: number;
  /** `max_buffered_bytes` (values and keys) */
  readonly maxBytes: number;
}

/** The fields of a fetched message the read-ahead keeps. */
export type FetchedMessage = Pick<
  RdKafka.Message,
  'topic' | 'partition' | 'offset' | 'key' | 'value' | 'timestamp'
>;

/**
 * Records fetched ahead of the runtime, bounded by count and by bytes, and how many one consume call
 * may take so that the bounds hold. `slack` (1, or 2 while a commit waits for its answer) multiplies
 * both bounds.
 */
export class ReadAhead {
  private readonly queue = new RecordQueue();
  /** Last offset queued per partition: a record re-delivered after pause/resume is not yielded twice. */
  private readonly lastQueued = new Map<string, number>();
  /**
   * The largest record of the latest consume call that returned any, or half the previous value
   * when that is larger (so one huge record does not slow reading for long). Starts at the whole
   * byte bound: the first call takes one record, and the batch grows as the sizes become known.
   */
  private largestRecordBytes: number;
  private wasStopped = false;

  constructor(
    private readonly bounds: ReadAheadBounds,
    /** Whether records of this partition are wanted now (owned and not being revoked). */
    private readonly wanted: (partition: string) => boolean,
  ) {
    this.largestRecordBytes = bounds.maxBytes;
  }

  get length(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.queue.bytes;
  }

  /** Stopped: empty, and it takes nothing more. */
  get stopped(): boolean {
    return this.wasStopped;
  }

  stop(): void {
    this.wasStopped = true;
    this.queue.clear();
  }

  /** Queues the records of one consume call, skipping stale ones, and learns their sizes. */
  add(messages: readonly FetchedMessage[]): void {
    let largest = 0;
    for (const message of messages) largest = Math.max(largest, this.accept(message));
    if (messages.length > 0) {
      this.largestRecordBytes = Math.max(largest, Math.floor(this.largestRecordBytes / 2), 1);
    }
  }

  shift(): SourceRecord | undefined {
    return this.queue.shift();
  }

  /** Drops what was fetched of these partitions (revoked: another member reads them now). */
  drop(keys: readonly string[]): void {
    this.queue.removePartitions(new Set(keys));
  }

  /** These partitions were (re)assigned or released: their next record is not a re-delivery. */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.lastQueued.delete(key);
  }

  /**
   * Records one consume call may take: what fits under both bounds, sized by the largest recent
   * record. A consume call does not stop at librdkafka's prefetch bound (queued.max.messages.kbytes):
   * the client keeps fetching while the call drains its queue, so a call asking for POLL_BATCH
   * records of 600 KB took 25 MB at once. At least one record is taken, so that a record larger
   * than the whole bound still passes (alone).
   */
  batchSize(slack: number): number {
    const byCount = slack * this.bounds.maxRecords - this.queue.length;
    const byBytes = Math.floor((slack * this.bounds.maxBytes - this.queue.bytes) / this.largestRecordBytes);
    return Math.max(1, Math.min(POLL_BATCH, byCount, byBytes));
  }

  /** Full by count or by bytes. */
  isFull(slack: number): boolean {
    return (
      this.queue.length >= slack * this.bounds.maxRecords || this.queue.bytes >= slack * this.bounds.maxBytes
    );
  }

  /** Below three quarters of both bounds: worth fetching again (not after every record, to fetch in batches). */
  hasRoom(): boolean {
    const max = this.bounds.maxRecords;
    const maxBytes = this.bounds.maxBytes;
    return (
      this.queue.length <= max - Math.max(1, Math.floor(max / 4)) &&
      this.queue.bytes <= maxBytes - Math.floor(maxBytes / 4)
    );
  }

  /** Queues the record unless it is stale; returns its size in bytes either way. */
  private accept(message: FetchedMessage): number {
    const bytes = (message.value?.length ?? 0) + (message.key?.length ?? 0);
    const key = partitionKey(message.topic, message.partition);
    if (this.wasStopped || !this.wanted(key)) return bytes;
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
}
