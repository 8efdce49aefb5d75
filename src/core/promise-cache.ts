/**
 * Memoises asynchronous loads by key: concurrent callers share one load, a result is kept, and a
 * failure is forgotten so that a later call tries again.
 */
export class PromiseCache<K, V> {
  private readonly entries = new Map<K, Promise<V>>();

  get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    let pending = this.entries.get(key);
    if (!pending) {
      pending = load(key);
      this.entries.set(key, pending);
      const settled = pending;
      settled.catch(() => {
        if (this.entries.get(key) === settled) this.entries.delete(key);
      });
    }
    return pending;
  }
}
