/**
 * A counting window of records in flight. `acquire` waits while the window is full, which stops the
 * pipeline from pulling its source: that is the backpressure that bounds memory.
 */
export class InFlightWindow {
  private used = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  get inFlight(): number {
    return this.used;
  }

  acquire(): Promise<void> | undefined {
    if (this.used < this.capacity) {
      this.used++;
      return undefined;
    }
    return new Promise((resolve) => this.waiters.push(() => {
      this.used++;
      resolve();
    }));
  }

  release(): void {
    this.used--;
    const next = this.waiters.shift();
    if (next) next();
    else if (this.used === 0) for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    if (this.used === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
