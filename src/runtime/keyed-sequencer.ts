/**
 * Runs steps one after another per key and concurrently across keys: a step starts when the previous
 * step of its key has settled. The map holds only keys with a step still running, so memory follows
 * the number of records in flight, not the number of keys ever seen.
 */
export class KeyedSequencer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string | undefined, step: () => Promise<T>): Promise<T> {
    if (key === undefined) return step();
    const previous = this.tails.get(key);
    const result = previous ? previous.then(step, step) : step();
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  get size(): number {
    return this.tails.size;
  }
}
