import type { Labels, Metrics } from '../../core/metrics.js';
import { parsePartitionKey, partitionKey } from './partition-key.js';

/** Timestamps kept per partition at most; past it they are thinned (see `TimestampQueue`). */
export const MAX_TIMESTAMPS_PER_PARTITION = 4096;

/** A record as fetched: where it is and its Kafka timestamp (ms; absent or negative: none). */
export interface FetchedPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp?: number | undefined;
}

/** The next offset to read of a partition, as committed. */
export interface CommittedPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * The part of librdkafka's statistics JSON (`statistics.interval.ms`) read here, per
 * topics.<topic>.partitions.<partition> (librdkafka's STATISTICS.md):
 *
 *     hi_offset         Partition's high watermark offset on broker
 *     committed_offset  Last committed offset
 *     next_offset       Next offset to fetch
 *
 * Offsets are -1001 (RD_KAFKA_OFFSET_INVALID) when unknown; partition -1 is librdkafka's internal
 * unassigned partition.
 */
interface Statistics {
  readonly topics?: Readonly<
    Record<
      string,
      {
        readonly partitions?: Readonly<
          Record<
            string,
            {
              readonly hi_offset?: unknown;
              readonly committed_offset?: unknown;
              readonly next_offset?: unknown;
            }
          >
        >;
      }
    >
  >;
}

/**
 * Offsets and Kafka timestamps of the records fetched and not yet committed, in offset order, at
 * most `capacity` of them. When full, it keeps only offsets that are multiples of a stride, doubled
 * each time (and the first record, the oldest); so after a commit the record at the committed offset
 * may be known only by one up to a stride later, with a stride of at most about 2n/capacity for n
 * records uncommitted (16 records with 20,000 uncommitted at the default capacity): a small error
 * on a consumer that far behind. An empty queue starts again with every record.
 */
export class TimestampQueue {
  private offsets: number[] = [];
  private stamps: number[] = [];
  private head = 0;
  private last = -1;
  private stride = 1;

  constructor(private readonly capacity = MAX_TIMESTAMPS_PER_PARTITION) {}

  get size(): number {
    return this.offsets.length - this.head;
  }

  /** A fetched record; one at or below an offset already seen (a re-delivery) is ignored. */
  push(offset: number, timestamp: number): void {
    if (offset <= this.last) return;
    this.last = offset;
    if (this.size > 0 && offset % this.stride !== 0) return;
    this.offsets.push(offset);
    this.stamps.push(timestamp);
    while (this.size > this.capacity) this.thin();
  }

  /** Forgets the records below `offset` (committed). */
  dropBelow(offset: number): void {
    while (this.head < this.offsets.length && this.offsets[this.head]! < offset) this.head++;
    if (this.size === 0) {
      this.offsets = [];
      this.stamps = [];
      this.head = 0;
      this.stride = 1;
    } else if (this.head > 1024 && this.head * 2 > this.offsets.length) this.compact();
  }

  /** The timestamp of the first record kept at or after `offset`. */
  firstFrom(offset: number): number | undefined {
    for (let i = this.head; i < this.offsets.length; i++) {
      if (this.offsets[i]! >= offset) return this.stamps[i];
    }
    return undefined;
  }

  private thin(): void {
    this.compact();
    this.stride *= 2;
    const keep = (o: number, i: number) => i === 0 || o % this.stride === 0;
    const kept = this.offsets.map(keep);
    this.offsets = this.offsets.filter((_, i) => kept[i]);
    this.stamps = this.stamps.filter((_, i) => kept[i]);
  }

  private compact(): void {
    this.offsets = this.offsets.slice(this.head);
    this.stamps = this.stamps.slice(this.head);
    this.head = 0;
  }
}

interface PartitionState {
  readonly labels: Labels;
  /** The high watermark of the latest statistics. */
  highWatermark: number | undefined;
  /** The offset after the last record fetched: the high watermark is at least there. */
  fetchedEnd: number;
  /** The group's committed offset: this consumer's commits, or the statistics' (fetched at assignment). */
  committed: number | undefined;
  /**
   * While the group has no committed offset: where this consumer started reading (the first record
   * fetched, or before any, librdkafka's fetch position), which `offsets_initializer` chose.
   */
  start: number | undefined;
  readonly timestamps: TimestampQueue;
}

/**
 * Consumer lag per assigned partition, in records and in seconds, with the committed offset and
 * the high watermark (`mw_enrich_kafka_consumer_lag_records`, `…_lag_seconds`, `…_committed_offset`,
 * `…_high_watermark_offset`).
 *
 * - lag in records = high watermark − committed offset. The high watermark comes from librdkafka's
 *   statistics (every `statistics.interval.ms`), raised to the offset after the last record fetched
 *   or committed since. Before the group ever committed the partition, the offset this consumer
 *   started reading at stands for the committed one.
 * - lag in seconds = 0 when the lag in records is 0; otherwise now − the Kafka timestamp of the
 *   oldest record not yet committed that this consumer has fetched (the record at the committed
 *   offset, unless it is not fetched yet or has no timestamp). With none fetched the series is
 *   absent: the age is not known.
 *
 * The gauges are set when statistics arrive and when a commit succeeds; a partition's series are
 * removed when it is revoked. Memory: at most `MAX_TIMESTAMPS_PER_PARTITION` timestamps per
 * assigned partition.
 */
export class ConsumerLag {
  private readonly partitions = new Map<string, PartitionState>();

  constructor(
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
    private readonly capacity = MAX_TIMESTAMPS_PER_PARTITION,
  ) {}

  /** Partitions assigned to this consumer: each starts afresh. */
  assigned(keys: readonly string[]): void {
    for (const key of keys) {
      this.remove(key);
      const { topic, partition } = parsePartitionKey(key);
      this.partitions.set(key, {
        labels: { topic, partition },
        highWatermark: undefined,
        fetchedEnd: 0,
        committed: undefined,
        start: undefined,
        timestamps: new TimestampQueue(this.capacity),
      });
    }
  }

  /** Partitions revoked or lost: their series go. */
  revoked(keys: readonly string[]): void {
    for (const key of keys) this.remove(key);
  }

  /** Records fetched from librdkafka, in fetch order. */
  fetched(records: readonly FetchedPosition[]): void {
    for (const record of records) {
      const state = this.partitions.get(partitionKey(record.topic, record.partition));
      if (!state) continue;
      state.start ??= record.offset;
      state.fetchedEnd = Math.max(state.fetchedEnd, record.offset + 1);
      if (record.timestamp !== undefined && record.timestamp >= 0) {
        state.timestamps.push(record.offset, record.timestamp);
      }
    }
  }

  /** A commit of these next offsets succeeded. */
  committed(offsets: readonly CommittedPosition[]): void {
    for (const { topic, partition, offset } of offsets) {
      const key = partitionKey(topic, partition);
      const state = this.partitions.get(key);
      if (!state) continue;
      state.committed = Math.max(state.committed ?? offset, offset);
      state.timestamps.dropBelow(state.committed);
      this.publish(state);
    }
  }

  /** librdkafka's statistics (the JSON of an `event.stats`). */
  onStatistics(json: string): void {
    let stats: Statistics;
    try {
      stats = JSON.parse(json) as Statistics;
    } catch {
      return;
    }
    for (const [key, state] of this.partitions) {
      const { topic, partition } = parsePartitionKey(key);
      const p = stats.topics?.[topic]?.partitions?.[String(partition)];
      if (!p) continue;
      const hi = offsetOf(p.hi_offset);
      const committed = offsetOf(p.committed_offset);
      if (hi !== undefined) state.highWatermark = hi;
      if (committed !== undefined) {
        state.committed = Math.max(state.committed ?? committed, committed);
        state.timestamps.dropBelow(state.committed);
      }
      state.start ??= offsetOf(p.next_offset);
      this.publish(state);
    }
  }

  private publish(state: PartitionState): void {
    const { labels } = state;
    const base = state.committed ?? state.start;
    if (state.committed !== undefined) this.metrics.gauge('kafka_committed_offset', state.committed, labels);
    if (state.highWatermark === undefined || base === undefined) return;
    // Statistics are up to statistics.interval.ms old: records fetched or committed since are below
    // the high watermark too.
    const highWatermark = Math.max(state.highWatermark, state.fetchedEnd, base);
    const records = highWatermark - base;
    this.metrics.gauge('kafka_high_watermark_offset', highWatermark, labels);
    this.metrics.gauge('kafka_consumer_lag_records', records, labels);
    const oldest = records === 0 ? undefined : state.timestamps.firstFrom(base);
    if (records === 0) this.metrics.gauge('kafka_consumer_lag_seconds', 0, labels);
    else if (oldest !== undefined) {
      this.metrics.gauge('kafka_consumer_lag_seconds', Math.max(0, this.now() - oldest) / 1000, labels);
    } else this.metrics.remove('kafka_consumer_lag_seconds', labels);
  }

  private remove(key: string): void {
    const state = this.partitions.get(key);
    if (!state) return;
    this.partitions.delete(key);
    for (const name of [
      'kafka_consumer_lag_records',
      'kafka_consumer_lag_seconds',
      'kafka_committed_offset',
      'kafka_high_watermark_offset',
    ]) {
      this.metrics.remove(name, state.labels);
    }
  }
}

/** An offset of the statistics, or undefined for librdkafka's "unknown" values (negative). */
function offsetOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
