import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.js';

/**
 * The deepest nesting of arrays and objects in serialised JSON, read from the bytes in one pass with
 * a counter, so that it is safe on any input: the parsed value is what recursive code (serialisation,
 * validation, deep equality) must not see when it is too deep. Brackets inside strings do not count;
 * escapes are skipped. Stops as soon as the depth passes `limit` and returns `limit + 1`. The input
 * need not be valid JSON: whatever this says, the parser still decides validity.
 */
export function jsonNestingDepth(bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return limit + 1;
      }
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
  }
  return deepest;
}

/**
 * Whether the nesting of `bytes` is deeper than `limit`. Nesting cannot be deeper than the number of
 * opening brackets, which native searches count quickly; only an input with more of them than
 * `limit` (rare: events nest a few levels) is read byte by byte.
 */
export function nestsDeeperThan(bytes: Buffer, limit: number): boolean {
  let openings = 0;
  for (const bracket of [OPEN_OBJECT, OPEN_ARRAY]) {
    for (let at = bytes.indexOf(bracket); at !== -1; at = bytes.indexOf(bracket, at + 1)) {
      if (++openings > limit) return jsonNestingDepth(bytes, limit) > limit;
    }
  }
  return false;
}
