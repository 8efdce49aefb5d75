import type { SourceRecord } from '../types.js';

/** FIFO of fetched records with O(1) shift and removal of whole partitions (on revocation). */
export class RecordQueue {
  private items: (SourceRecord | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(record: SourceRecord): void {
    this.items.push(record);
  }

  shift(): SourceRecord | undefined {
    if (this.head >= this.items.length) return undefined;
    const record = this.items[this.head];
    this.items[this.head++] = undefined;
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
    return dropped;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
