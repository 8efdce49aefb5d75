/**
 * Where each slot's `content` string literal lies in the bytes of a revisions answer that JSON.parse
 * has accepted: `query.pages[i].revisions[j].slots[role].content`. The output can then carry the
 * literal's bytes as the wiki wrote them, instead of serialising the decoded text once more and
 * encoding it to UTF-8 again: for large pages those two steps were the largest cost of an event.
 *
 * The scan follows JSON.parse's reading of the same bytes: array elements by position, and for a
 * key given twice in one object the last value (JSON.parse keeps the last). Keys are compared
 * decoded, so `"\u0063ontent"` is `content`. Strings are skipped from quote to quote with
 * `indexOf`, so a large content costs a few jumps, not a loop over its characters. Nothing is
 * recursive beyond the fixed depth of the path, and anything the scan does not expect gives up on
 * the whole answer (the caller then serialises every content as before).
 */

import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from '../core/json-bytes.js';

/** `[start, end)`: the literal with its quotes. */
export type LiteralSpan = readonly [start: number, end: number];

/**
 * Page index → revision index → slot role → span, holding only the spans found: an answer of many
 * pages without a large content costs no memory here.
 */
export type ContentLiterals = ReadonlyMap<number, ReadonlyMap<number, ReadonlyMap<string, LiteralSpan>>>;

/** The bytes are not the answer JSON.parse read: the scan gives up. */
class Unexpected extends Error {}

/**
 * The spans of the slot contents of at least `minBytes` bytes (quotes included), or undefined when
 * the bytes are not what a revisions answer that parsed looks like.
 */
export function locateContentLiterals(bytes: Buffer, minBytes: number): ContentLiterals | undefined {
  try {
    const scan = new Scanner(bytes, minBytes);
    const pages = scan.root();
    scan.skipSpace();
    if (scan.pos !== bytes.length) throw new Unexpected();
    return pages ?? new Map();
  } catch {
    // Unexpected, or anything else the bytes could provoke: the contents are serialised as before.
    return undefined;
  }
}

type Slots = Map<string, LiteralSpan>;
type Revisions = Map<number, Slots>;
type Pages = Map<number, Revisions>;

class Scanner {
  pos = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly minBytes: number,
  ) {}

  /** `{"query": {"pages": [...]}}`, the last `query` and its last `pages`. */
  root(): Pages | undefined {
    let pages: Pages | undefined;
    this.members(() => {
      if (!this.keyIs('query')) return this.skipValue();
      pages = undefined;
      this.members(() => {
        if (!this.keyIs('pages')) return this.skipValue();
        pages = this.found(() => this.page());
      });
    }, 'fail');
    return pages;
  }

  private page(): Revisions | undefined {
    let revisions: Revisions | undefined;
    this.members(() => {
      if (!this.keyIs('revisions')) return this.skipValue();
      revisions = this.found(() => this.revision());
    });
    return revisions;
  }

  private revision(): Slots | undefined {
    let slots: Slots | undefined;
    this.members(() => {
      if (!this.keyIs('slots')) return this.skipValue();
      let found: Slots | undefined;
      this.members(() => {
        const role = this.keyText();
        const span = this.slot();
        if (span !== undefined && span[1] - span[0] >= this.minBytes) (found ??= new Map()).set(role, span);
        else found?.delete(role);
      });
      slots = found?.size ? found : undefined;
    });
    return slots;
  }

  /** The span of the slot's last `content`, when that is a string. */
  private slot(): LiteralSpan | undefined {
    let span: LiteralSpan | undefined;
    this.members(() => {
      if (!this.keyIs('content')) return this.skipValue();
      this.skipSpace();
      if (this.bytes[this.pos] !== QUOTE) {
        span = undefined;
        return this.skipValue();
      }
      const start = this.pos;
      this.pos = this.stringEnd(start);
      span = [start, this.pos];
    });
    return span;
  }

  /**
   * Calls `member` for each member of the object at `pos`, with the key read (`keyIs`, `keyText`)
   * and `pos` at its value, which `member` must consume. A value that is not an object is skipped
   * unless `other` is `fail`: JSON.parse's result is checked, and rejected, by the answer's reader,
   * and a later key of the same name may still bring the object.
   */
  private members(member: () => void, other: 'skip' | 'fail' = 'skip'): void {
    this.skipSpace();
    if (this.bytes[this.pos] !== OPEN_OBJECT) {
      if (other === 'fail') throw new Unexpected();
      this.skipValue();
      return;
    }
    this.pos += 1;
    this.skipSpace();
    if (this.bytes[this.pos] === CLOSE_OBJECT) {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.skipSpace();
      this.readKey();
      this.skipSpace();
      if (this.bytes[this.pos] !== COLON) throw new Unexpected();
      this.pos += 1;
      member();
      this.skipSpace();
      const next = this.bytes[this.pos];
      this.pos += 1;
      if (next === CLOSE_OBJECT) return;
      if (next !== COMMA) throw new Unexpected();
    }
  }

  /**
   * What `element` found in each element of the array at `pos`, by index, only where it found
   * something; undefined when it found nothing or the value is no array (then skipped).
   */
  private found<T>(element: () => T | undefined): Map<number, T> | undefined {
    this.skipSpace();
    if (this.bytes[this.pos] !== OPEN_ARRAY) {
      this.skipValue();
      return undefined;
    }
    this.pos += 1;
    const out = new Map<number, T>();
    this.skipSpace();
    if (this.bytes[this.pos] === CLOSE_ARRAY) {
      this.pos += 1;
      return undefined;
    }
    for (let index = 0; ; index++) {
      const value = element();
      if (value !== undefined) out.set(index, value);
      this.skipSpace();
      const next = this.bytes[this.pos];
      this.pos += 1;
      if (next === CLOSE_ARRAY) return out.size > 0 ? out : undefined;
      if (next !== COMMA) throw new Unexpected();
    }
  }

  /** The key at `pos`: where its text lies and whether it has escapes; `pos` after it. */
  private readKey(): void {
    const start = this.pos;
    if (this.bytes[start] !== QUOTE) throw new Unexpected();
    const end = this.stringEnd(start);
    this.pos = end;
    this.keyStart = start + 1;
    this.keyEnd = end - 1;
    let escaped = false;
    for (let i = this.keyStart; i < this.keyEnd && !escaped; i++) escaped = this.bytes[i] === BACKSLASH;
    this.keyEscaped = escaped;
  }

  private keyStart = 0;
  private keyEnd = 0;
  private keyEscaped = false;

  /** Whether the key just read is `name` (ASCII), compared byte by byte unless it has escapes. */
  private keyIs(name: string): boolean {
    if (this.keyEscaped) return this.keyText() === name;
    if (this.keyEnd - this.keyStart !== name.length) return false;
    for (let i = 0; i < name.length; i++) {
      if (this.bytes[this.keyStart + i] !== name.charCodeAt(i)) return false;
    }
    return true;
  }

  /** The key just read, decoded. */
  private keyText(): string {
    if (!this.keyEscaped) return this.bytes.toString('utf8', this.keyStart, this.keyEnd);
    const key: unknown = JSON.parse(this.bytes.toString('utf8', this.keyStart - 1, this.keyEnd + 1));
    if (typeof key !== 'string') throw new Unexpected();
    return key;
  }

  /** The index after the closing quote of the string whose opening quote is at `start`. */
  private stringEnd(start: number): number {
    const { bytes } = this;
    // Most strings of an answer are short: a loop finds their end sooner than a call to indexOf.
    const near = Math.min(bytes.length, start + 32);
    for (let i = start + 1; i < near; i++) {
      const c = bytes[i];
      if (c === BACKSLASH) break;
      if (c === QUOTE) return i + 1;
    }
    let from = start + 1;
    for (;;) {
      const quote = this.bytes.indexOf(QUOTE, from);
      if (quote === -1) throw new Unexpected();
      let backslashes = 0;
      while (this.bytes[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
      if (backslashes % 2 === 0) return quote + 1;
      from = quote + 1;
    }
  }

  /** Moves `pos` past the value at `pos` (after any space before it). */
  skipValue(): void {
    this.skipSpace();
    const first = this.bytes[this.pos];
    if (first === QUOTE) {
      this.pos = this.stringEnd(this.pos);
      return;
    }
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      this.skipContainer();
      return;
    }
    // A number, true, false or null: up to the next delimiter.
    const start = this.pos;
    while (this.pos < this.bytes.length && !isDelimiter(this.bytes[this.pos]!)) this.pos += 1;
    if (this.pos === start) throw new Unexpected();
  }

  /** Past the object or array at `pos`, counting brackets outside strings. */
  private skipContainer(): void {
    const { bytes } = this;
    let depth = 0;
    let i = this.pos;
    while (i < bytes.length) {
      const c = bytes[i]!;
      if (c === QUOTE) {
        i = this.stringEnd(i);
        continue;
      }
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth += 1;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        depth -= 1;
        if (depth === 0) {
          this.pos = i + 1;
          return;
        }
      }
      i += 1;
    }
    throw new Unexpected();
  }

  skipSpace(): void {
    const { bytes } = this;
    while (this.pos < bytes.length && isSpace(bytes[this.pos]!)) this.pos += 1;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c);
}
