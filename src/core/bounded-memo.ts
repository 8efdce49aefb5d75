/**
 * `compute` remembered per key, in a map of at most `max` entries that forgets everything when
 * full: for a question asked for every record about the few names a stream carries (its wikis),
 * where the names come from input and so the memory must stay bounded whatever they are. `compute`
 * must be a function of its key alone; a key whose computation throws is not remembered.
 */
export function boundedMemo<K, V>(compute: (key: K) => V, max: number): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    const value = known.get(key);
    if (value !== undefined || known.has(key)) return value as V;
    const computed = compute(key);
    if (known.size >= max) known.clear();
    known.set(key, computed);
    return computed;
  };
}
