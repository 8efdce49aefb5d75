import type { RdKafka } from '@confluentinc/kafka-javascript';
import { parsePartitionKey } from './partition-key.js';

export type Partition = { topic: string; partition: number };

/**
 * The partitions this group member owns, as it last answered the group. Records are read and
 * yielded only from partitions it owns and is not giving up; offsets are committed only for
 * partitions it owns, including those being revoked (the runtime commits them while it drains).
 */
export class PartitionOwnership {
  private readonly assigned = new Set<string>();
  private readonly revoking = new Set<string>();
  /** Taken away by a lost assignment (session timeout) and not assigned again. */
  private readonly lost = new Set<string>();

  assign(keys: readonly string[]): void {
    for (const key of keys) {
      this.assigned.add(key);
      this.lost.delete(key);
    }
  }

  /**
   * The group takes these partitions away. A lost partition stops being owned at once: the group
   * already gave it to another member, so its offsets cannot be committed any more.
   */
  beginRevoke(keys: readonly string[], lost: boolean): void {
    for (const key of keys) {
      this.revoking.add(key);
      if (lost) {
        this.assigned.delete(key);
        this.lost.add(key);
      }
    }
  }

  /** The revocation is answered: the partitions are no longer assigned. */
  release(keys: readonly string[]): void {
    for (const key of keys) {
      this.assigned.delete(key);
      this.revoking.delete(key);
    }
  }

  /** Some partitions are assigned or being revoked. */
  holdsAny(): boolean {
    return this.assigned.size > 0 || this.revoking.size > 0;
  }

  /** Records of this partition are fetched and yielded. */
  isReading(key: string): boolean {
    return this.assigned.has(key) && !this.revoking.has(key);
  }

  isLost(key: string): boolean {
    return this.lost.has(key);
  }

  /** The partitions fetched now: those pausing and resuming applies to. */
  reading(): Partition[] {
    return [...this.assigned].filter((key) => !this.revoking.has(key)).map(parsePartitionKey);
  }

  /** The offsets of `nextOffsets` this member may commit. */
  ownedOffsets(nextOffsets: ReadonlyMap<string, number>): RdKafka.TopicPartitionOffset[] {
    const offsets: RdKafka.TopicPartitionOffset[] = [];
    for (const [key, offset] of nextOffsets) {
      if (this.assigned.has(key)) offsets.push({ ...parsePartitionKey(key), offset });
    }
    return offsets;
  }
}
