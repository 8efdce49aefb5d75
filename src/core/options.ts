import { ConfigError } from './errors.js';

/**
 * Reads one object of configuration options as typed values. Every problem names the full key
 * (`stream_manager.source.options.path`). Unknown keys and defaults are the business of the
 * declared schema (`checkedBy`), not of the reader. Never mutates the input.
 */
export class OptionReader {
  private readonly raw: Readonly<Record<string, unknown>>;

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
   * refuses unknown keys and fills in the defaults).
   */
  checkedBy(check: (raw: unknown, at: string) => Record<string, unknown>): OptionReader {
    return new OptionReader(check(this.raw, this.path), this.path);
  }

  key(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** Whether the option is set (and not null). */
  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  private value(name: string): unknown {
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
}
