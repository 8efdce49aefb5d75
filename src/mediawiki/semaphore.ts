/** A FIFO counting semaphore: the global budget of concurrent Action API requests across all wikis. */
export class Semaphore {
  private available: number;
  private readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private closedWith: unknown;

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  async acquire(): Promise<void> {
    if (this.closedWith !== undefined) throw this.closedWith;
    if (this.available > 0) {
      this.available -= 1;
      return;
    }
    await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hands the slot straight to the longest waiter, so a burst cannot overtake the queue. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve();
    else this.available += 1;
  }

  /** Rejects every waiter and every later `acquire` with `error`. */
  close(error: unknown): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  get waiting(): number {
    return this.waiters.length;
  }
}
