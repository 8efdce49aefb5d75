import { randomBytes } from 'node:crypto';

/**
 * Called by a builder for each string it wants written as given JSON bytes: returns what to put in
 * the value's place.
 */
export type MarkLiteral = (literal: Uint8Array, value: string) => string;

// A marker names its literal by number; the random part keeps any string of the input from being
// taken for one (and should one match all the same, every literal is written the ordinary way).
const MARKER_PREFIX = `json-literal-${randomBytes(16).toString('hex')}-`;

/**
 * `JSON.stringify(build(mark))` as UTF-8 bytes, except that each string the builder passed through
 * `mark(literal, value)` is written as `literal`, a JSON string literal (quotes included) whose
 * JSON.parse is `value`. A large string already held as JSON is thus copied, not escaped and encoded
 * again. The builder may be called twice: when a marker is not found exactly once in the serialised
 * value, the value is built again with the strings themselves and serialised whole.
 */
export function jsonBytesWithLiterals(build: (mark: MarkLiteral) => unknown): Buffer {
  const literals: Uint8Array[] = [];
  const value = build((literal) => {
    literals.push(literal);
    return `${MARKER_PREFIX}${literals.length - 1}`;
  });
  const json = JSON.stringify(value);
  if (literals.length === 0) return Buffer.from(json);
  const places = placesOf(json, literals.length);
  if (places === undefined) return Buffer.from(JSON.stringify(build((_literal, text) => text)));

  // The text between the markers, then each literal after the text before it.
  const gaps: string[] = [];
  let from = 0;
  for (const { at, length } of places) {
    gaps.push(json.slice(from, at));
    from = at + length;
  }
  gaps.push(json.slice(from));
  let size = 0;
  for (const gap of gaps) size += Buffer.byteLength(gap);
  for (const literal of literals) size += literal.length;
  const out = Buffer.allocUnsafe(size);
  let written = 0;
  places.forEach(({ index }, i) => {
    written += out.write(gaps[i]!, written);
    out.set(literals[index]!, written);
    written += literals[index]!.length;
  });
  out.write(gaps[gaps.length - 1]!, written);
  return out;
}

interface Place {
  /** Where the quoted marker starts in the JSON text, and its length. */
  at: number;
  length: number;
  /** The literal it stands for. */
  index: number;
}

/**
 * Each quoted marker's place, in text order, from one pass over the text; undefined unless every
 * marker is there exactly once and nothing else in the text starts like one.
 */
function placesOf(json: string, count: number): Place[] | undefined {
  const opening = `"${MARKER_PREFIX}`;
  const seen = new Uint8Array(count);
  const places: Place[] = [];
  for (let at = json.indexOf(opening); at !== -1; at = json.indexOf(opening, at + opening.length)) {
    const close = json.indexOf('"', at + opening.length);
    const digits = close === -1 ? '' : json.slice(at + opening.length, close);
    if (!/^(?:0|[1-9][0-9]{0,8})$/.test(digits)) return undefined;
    const index = Number(digits);
    if (index >= count || seen[index] === 1) return undefined;
    seen[index] = 1;
    places.push({ at, length: close + 1 - at, index });
  }
  return places.length === count ? places : undefined;
}
