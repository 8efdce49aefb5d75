import type { SourceRecord } from '../types.js';

/** Bytes a record holds in memory: its value and key. */
export function recordBytes(record: SourceRecord): number {
  return record.value.length + (record.key?.length ?? 0);
}

/**
 * FIFO of fetched records with O(1) shift and removal of whole partitions (on revocation), counting
 * the bytes it holds so that the read-ahead can be bounded by size as well as by count.
 */
export class RecordQueue {
  private items: (SourceRecord | undefined)[] = [];
  private head = 0;
  private heldBytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Sum of `recordBytes` over the queued records. */
  get bytes(): number {
    return this.heldBytes;
  }

  push(record: SourceRecord): void {
    this.items.push(record);
    this.heldBytes += recordBytes(record);
  }

  shift(): SourceRecord | undefined {
    if (this.head >= this.items.length) return undefined;
    const record = this.items[this.head];
    this.items[this.head++] = undefined;
    if (record) this.heldBytes -= recordBytes(record);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return record;
  }

  /** Drops the records of these partitions; returns how many were dropped. */
  removePartitions(partitions: ReadonlySet<string>): number {
    const kept = this.items.slice(this.head).filter((r) => r !== undefined && !partitions.has(r.partition));
    const dropped = this.length - kept.length;
    this.items = kept;
    this.head = 0;
    this.heldBytes = kept.reduce((sum, r) => sum + recordBytes(r!), 0);
    return dropped;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.heldBytes = 0;
  }
}
