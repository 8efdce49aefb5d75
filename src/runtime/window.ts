/**
 * The records in flight, counted and weighed. `acquire` waits while the window is full — by count
 * (`capacity`) or by bytes (`maxBytes`) — which stops the pipeline from pulling its source: that is
 * the backpressure that bounds memory. A record is weighed by its input bytes when it enters, and
 * by its output bytes once they exist (`charge`), so a few huge records hold back the source as
 * many small ones do. A record heavier than the whole byte budget still enters, alone, so that no
 * input can stop the stream. The count in force, `limit`, can be set anywhere up to `capacity`
 * (`resize`): a smaller limit admits no one until enough records have left, and takes none back.
 */
export class InFlightWindow {
  private used = 0;
  private bytesUsed = 0;
  private current: number;
  private readonly waiters: Array<{ bytes: number; admit: () => void }> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    readonly capacity: number,
    readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.current = capacity;
  }

  /** The most records admitted now: between 1 and `capacity`. */
  get limit(): number {
    return this.current;
  }

  /** Sets the limit (clamped to 1..`capacity`); a larger one admits the waiters it has room for. */
  resize(limit: number): void {
    this.current = clamp(limit, this.capacity);
    this.admitWaiters();
  }

  get inFlight(): number {
    return this.used;
  }

  get inFlightBytes(): number {
    return this.bytesUsed;
  }

  /** Takes a slot for a record of `bytes` input bytes; a promise when it must wait (FIFO). */
  acquire(bytes = 0): Promise<void> | undefined {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return undefined;
    }
    return new Promise((resolve) =>
      this.waiters.push({
        bytes,
        admit: () => {
          this.take(bytes);
          resolve();
        },
      }),
    );
  }

  /** Adds bytes to a record already in flight (its output), or gives some back; never waits. */
  charge(bytes: number): void {
    this.bytesUsed += bytes;
    if (bytes < 0) this.admitWaiters();
  }

  /** Gives back a record's slot and every byte it was weighed with. */
  release(bytes = 0): void {
    this.used--;
    this.bytesUsed -= bytes;
    this.admitWaiters();
    if (this.used === 0) for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.used === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private fits(bytes: number): boolean {
    if (this.used >= this.current) return false;
    return this.used === 0 || this.bytesUsed + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.used++;
    this.bytesUsed += bytes;
  }

  private admitWaiters(): void {
    for (let next = this.waiters[0]; next !== undefined && this.fits(next.bytes); next = this.waiters[0]) {
      this.waiters.shift();
      next.admit();
    }
  }
}

function clamp(limit: number, capacity: number): number {
  if (Number.isNaN(limit)) return capacity;
  return Math.min(capacity, Math.max(1, Math.floor(limit)));
}
