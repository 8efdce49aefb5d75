import { ConfigError } from './errors.js';

/**
 * Reads one object of configuration options with types, defaults and bounds. Every problem names
 * the full key (`stream_manager.source.options.path`); keys that were never read are reported by
 * `unknownKeys()` so a typo does not pass silently. Never mutates the input.
 */
export class OptionReader {
  private readonly raw: Readonly<Record<string, unknown>>;
  private readonly seen = new Set<string>();
  private readonly children: OptionReader[] = [];

  constructor(
    raw: unknown,
    readonly path: string,
  ) {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(path, 'must be a mapping');
    this.raw = raw as Record<string, unknown>;
  }

  /**
   * A reader over this object once `check` has accepted it (a compiled configuration schema, which
   * fills in the defaults); every key of this one counts as read, since the schema knows them all.
   */
  checkedBy(check: (raw: unknown, at: string) => Record<string, unknown>): OptionReader {
    const checked = check(this.raw, this.path);
    for (const key of Object.keys(this.raw)) this.seen.add(key);
    return new OptionReader(checked, this.path);
  }

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** Whether the option is set (and not null); counts as reading it. */
  has(name: string): boolean {
    this.seen.add(name);
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  /** Whether the option is given as an explicit null (to switch a default off); counts as reading it. */
  isNull(name: string): boolean {
    this.seen.add(name);
    return this.raw[name] === null;
  }

  private value(name: string): unknown {
    this.seen.add(name);
    const v = this.raw[name];
    return v === null ? undefined : v;
  }

  private missing(name: string): never {
    throw new ConfigError(this.key(name), 'is required');
  }

  string(name: string, fallback?: string): string {
    const v = this.value(name);
    if (v === undefined) return fallback ?? this.missing(name);
    if (typeof v !== 'string' || v.length === 0)
      throw new ConfigError(this.key(name), 'must be a non-empty string');
    return v;
  }

  /** A string that may be empty (`kafka_topic_prefix: ""`). */
  rawString(name: string): string {
    const v = this.value(name);
    if (typeof v !== 'string') throw new ConfigError(this.key(name), 'must be a string');
    return v;
  }

  optionalString(name: string): string | undefined {
    return this.has(name) ? this.string(name) : (this.value(name) as undefined);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const v = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(
        this.key(name),
        `must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`,
      );
    }
    return v as T;
  }

  number(
    name: string,
    fallback?: number,
    bounds: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const v = this.value(name);
    if (v === undefined) return fallback ?? this.missing(name);
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ConfigError(this.key(name), 'must be a number');
    if (bounds.integer && !Number.isInteger(v)) throw new ConfigError(this.key(name), 'must be an integer');
    if (bounds.min !== undefined && v < bounds.min)
      throw new ConfigError(this.key(name), `must be >= ${bounds.min}`);
    if (bounds.max !== undefined && v > bounds.max)
      throw new ConfigError(this.key(name), `must be <= ${bounds.max}`);
    return v;
  }

  integer(name: string, fallback?: number, bounds: { min?: number; max?: number } = {}): number {
    return this.number(name, fallback, { ...bounds, integer: true });
  }

  optionalInteger(name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
    return this.has(name) ? this.integer(name, undefined, bounds) : (this.value(name) as undefined);
  }

  boolean(name: string, fallback?: boolean): boolean {
    const v = this.value(name);
    if (v === undefined) return fallback ?? this.missing(name);
    if (typeof v !== 'boolean') throw new ConfigError(this.key(name), 'must be true or false');
    return v;
  }

  /** A list of strings; a single string is accepted as a list of one. */
  stringList(name: string, fallback?: readonly string[]): string[] {
    const v = this.value(name);
    if (v === undefined) return fallback ? [...fallback] : this.missing(name);
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x.length > 0)) {
      throw new ConfigError(this.key(name), 'must be a list of non-empty strings');
    }
    return [...list];
  }

  /** A mapping of string → string (numbers and booleans are turned into strings, as properties files do). */
  stringMap(name: string, fallback: Readonly<Record<string, string>> = {}): Record<string, string> {
    const v = this.value(name);
    if (v === undefined) return { ...fallback };
    if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(this.key(name), 'must be a mapping');
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
        throw new ConfigError(`${this.key(name)}.${k}`, 'must be a string, number or boolean');
      }
      out[k] = String(x);
    }
    return out;
  }

  /** A nested mapping, read by its own reader. */
  child(name: string): OptionReader {
    const child = new OptionReader(this.value(name), this.key(name));
    this.children.push(child);
    return child;
  }

  /** Full keys present in the input that nobody read, here and in every child reader. */
  unknownKeys(): string[] {
    const own = Object.keys(this.raw)
      .filter((k) => !this.seen.has(k))
      .map((k) => this.key(k));
    return [...own, ...this.children.flatMap((c) => c.unknownKeys())];
  }
}
