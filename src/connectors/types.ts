/**
 * The contract between the runtime and the connectors. A source yields records with a position
 * (partition + offset); the runtime tells it, per partition, the offset of the next record to read
 * once every record before that offset has its outcome acknowledged by a sink. So a source's
 * committed position only ever advances over inputs whose outputs were acknowledged.
 */

/** One input record. `partition` is a topic-partition ("topic/3"), a file path, or "stdin". */
export interface SourceRecord {
  readonly partition: string;
  /** Position within the partition; strictly increasing in the order the source yields them. */
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer;
  /** Record timestamp in milliseconds since the epoch, when the source knows one. */
  readonly timestamp?: number;
  /**
   * Set when the record was longer than the source assembles (`runtime.max_record_bytes`): `value`
   * then holds only its head, and this is its full length in bytes.
   */
  readonly oversizeBytes?: number;
}

/** Callbacks a source makes into the runtime. */
export interface SourceListener {
  /**
   * The source is about to give up these partitions (a consumer-group rebalance). Resolves once
   * every record already yielded from them has an acknowledged outcome (or a drain timeout passed)
   * and the resulting positions were committed; records of them still yielded after this are ignored
   * by the runtime, because another consumer will read them again.
   */
  onPartitionsRevoked(partitions: readonly string[]): Promise<void>;
}

export interface Source {
  /**
   * Records in partition order. Ends when a finite input ends or soon after `stop()`. The runtime
   * pulls at its own pace: a source must not buffer without bound while it is not being pulled.
   */
  records(listener: SourceListener): AsyncIterable<SourceRecord>;
  /**
   * Commits, per partition, the offset of the next record to read: every record below it is done.
   * Offsets only ever grow per partition; a source may ignore a partition it no longer owns.
   */
  commit(nextOffsets: ReadonlyMap<string, number>): Promise<void>;
  /** Stops yielding new records; idempotent. */
  stop(): void;
  /** Releases resources after the last commit. */
  close(): Promise<void>;
}

/** One output record. */
export interface SinkRecord {
  /** Message key, serialised (JSON `{"wiki_id":…,"page_id":…}`), or null. */
  readonly key: string | null;
  /** The serialised event. */
  readonly value: Buffer;
  /** Record timestamp in milliseconds (the event's `dt`), when known. */
  readonly timestamp?: number;
}

export interface Sink {
  /**
   * The largest serialised value the sink accepts, when it has such a limit (Kafka's
   * message.max.bytes). The runtime turns a larger output into an error event instead of sending it.
   */
  readonly maxRecordBytes?: number;
  /**
   * Resolves when the sink has acknowledged the record durably (written to the file, acked by the
   * broker); rejects when it cannot, after its own retries. A rejection is never a silent drop:
   * the runtime treats it as an infrastructure failure and stops without committing past it.
   */
  send(record: SinkRecord): Promise<void>;
  /** Resolves when everything sent so far is acknowledged. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Optional capability of a source that commits through a transaction shared with its sinks
 * (Kafka exactly-once). The runtime then commits only at a barrier where no send is in progress,
 * and emits outputs in partition order so that a transaction never holds the output of an input
 * whose offset it does not also commit.
 */
export interface TransactionalSource extends Source {
  readonly transactional: true;
}

export function isTransactional(source: Source): source is TransactionalSource {
  return (source as Partial<TransactionalSource>).transactional === true;
}
