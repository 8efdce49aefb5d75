/**
 * Per partition, the offsets handed to the pipeline and which of them are done. The committable
 * position of a partition is the offset just after the longest done prefix: a commit never covers
 * an offset whose outcome is not acknowledged, whatever order the outcomes finish in.
 */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionState>();

  /** Registers an offset in the order the source yields it (increasing per partition). */
  begin(partition: string, offset: number): void {
    let state = this.partitions.get(partition);
    if (!state) {
      state = new PartitionState();
      this.partitions.set(partition, state);
    }
    state.begin(offset);
  }

  done(partition: string, offset: number): void {
    this.partitions.get(partition)?.done(offset);
  }

  /** Offsets registered but not done, in all partitions or in the given ones. */
  pending(partitions?: Iterable<string>): number {
    let sum = 0;
    if (partitions === undefined) for (const state of this.partitions.values()) sum += state.pending;
    else for (const p of partitions) sum += this.partitions.get(p)?.pending ?? 0;
    return sum;
  }

  /** For each partition with progress since `since`, the next offset to read. */
  committable(partitions?: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    const names = partitions === undefined ? this.partitions.keys() : partitions;
    for (const p of names) {
      const next = this.partitions.get(p)?.nextToCommit;
      if (next !== undefined) out.set(p, next);
    }
    return out;
  }

  /** Forgets partitions (revoked): later `done` calls for them are ignored. */
  forget(partitions: Iterable<string>): void {
    for (const p of partitions) this.partitions.delete(p);
  }
}

class PartitionState {
  /** Offsets in begin order; `head` is the first not yet known to be done. */
  private offsets: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  /** Last offset of the done prefix + 1, or undefined before anything finished. */
  nextToCommit: number | undefined;

  get pending(): number {
    return this.offsets.length - this.head - this.finished.size;
  }

  begin(offset: number): void {
    const last = this.offsets[this.offsets.length - 1];
    if (last !== undefined && offset <= last) {
      throw new Error(`offset ${offset} is not after ${last}: a source must yield increasing offsets`);
    }
    this.offsets.push(offset);
  }

  done(offset: number): void {
    if (this.offsets[this.head] !== offset) {
      this.finished.add(offset);
      return;
    }
    this.head++;
    this.nextToCommit = offset + 1;
    for (
      let next = this.offsets[this.head];
      next !== undefined && this.finished.delete(next);
      next = this.offsets[this.head]
    ) {
      this.head++;
      this.nextToCommit = next + 1;
    }
    // Drop the consumed prefix now and then, so the array does not grow with the input.
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }
}
