/**
 * `target[key] = value` as an own property whatever the key. JSON.parse makes `__proto__` an own key
 * like any other; plain assignment of that key would set the object's prototype instead, and the
 * entry would vanish from every copy and serialisation.
 */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
