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
    // The next step of the key runs after this one whether it fulfils or rejects (`then(step, step)`),
    // so the result itself is the key's tail; the same reaction that forgets it handles a rejection.
    const result = previous ? previous.then(step, step) : step();
    this.tails.set(key, result);
    const forget = () => {
      if (this.tails.get(key) === result) this.tails.delete(key);
    };
    result.then(forget, forget);
    return result;
  }

  /** Whether a step of `key` is still running or waiting: a step given now would wait for it. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  get size(): number {
    return this.tails.size;
  }
}
