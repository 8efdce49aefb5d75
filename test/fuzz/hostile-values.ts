/**
 * Building blocks of hostile JSON, as text: values nested far deeper than any parser, validator or
 * serialiser should recurse, strings far longer than a field needs, objects with thousands of keys,
 * keys that are special to JavaScript objects, and a value of every JSON type. Text, not objects:
 * a value nested 10,000 levels deep cannot go through `JSON.stringify` here without the same stack
 * risk the service is tested for, and `__proto__` cannot be an own key of an object literal.
 */
import fc from 'fast-check';

/**
 * A hostile text with a short label: fast-check prints the label in counterexamples instead of
 * hundreds of kilobytes of brackets.
 */
export interface Hostile {
  readonly text: string;
  readonly label: string;
}

export function hostile(text: string, label?: string): Hostile {
  const shown =
    label ??
    (text.length <= 80
      ? JSON.stringify(text)
      : `${JSON.stringify(text.slice(0, 60))}…(${text.length} chars)`);
  return { text, label: shown, [fc.toStringMethod]: () => shown } as Hostile;
}

/** The same for bytes that need not be UTF-8. */
export interface HostileBytes {
  readonly bytes: Uint8Array;
  readonly label: string;
}

export function hostileBytes(bytes: Uint8Array, label?: string): HostileBytes {
  const shown =
    label ??
    (bytes.length <= 80
      ? `bytes(${JSON.stringify(Buffer.from(bytes).toString('latin1'))})`
      : `bytes(${bytes.length})`);
  return { bytes, label: shown, [fc.toStringMethod]: () => shown } as HostileBytes;
}

/** JSON text of a value nested `depth` levels deep (objects, arrays, or both in turn). */
export function deepText(depth: number, shape: 'object' | 'array' | 'mixed'): string {
  if (shape === 'object') return '{"d":'.repeat(depth) + 'null' + '}'.repeat(depth);
  if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  const pairs = Math.floor(depth / 2);
  const odd = depth % 2 === 1;
  return '[{"d":'.repeat(pairs) + (odd ? '[]' : 'null') + '}]'.repeat(pairs);
}

/** JSON text of an object with `count` keys (`k0`, `k1`, … or, with `same`, one key repeated). */
export function manyKeysText(count: number, same: boolean): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i += 1) parts.push(`"${same ? 'k' : `k${i}`}":${i}`);
  return `{${parts.join(',')}}`;
}

export const deepValue = fc
  .record({
    // Around the default limit (64, counting the levels above the value), and far beyond it.
    depth: fc.oneof(
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 81, max: 10_000 }),
      fc.constant(10_000),
    ),
    shape: fc.constantFrom('object' as const, 'array' as const, 'mixed' as const),
  })
  .map(({ depth, shape }) => hostile(deepText(depth, shape), `deep(${shape}, ${depth})`));

/** Characters whose JSON or UTF-8 encoding is longer than one byte, or that end lines somewhere. */
const WIDE_CHARS = ['a', 'é', '\u2028', '\u3000', '"', '\\', '\u0000', '\n', '😀', '\ufeff'];

export const hugeString = fc
  .record({
    length: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2_000, max: 300_000 })),
    char: fc.constantFrom(...WIDE_CHARS),
  })
  .map(({ length, char }) =>
    hostile(JSON.stringify(char.repeat(length)), `string(${JSON.stringify(char)} x ${length})`),
  );

export const manyKeys = fc
  .record({ count: fc.integer({ min: 1, max: 5_000 }), same: fc.boolean() })
  .map(({ count, same }) => hostile(manyKeysText(count, same), `keys(${count}${same ? ', one name' : ''})`));

/** Keys that mean something to JavaScript objects. */
export const SPECIAL_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  '',
] as const;

/** `{"__proto__": {"polluted": true}}` and relatives: JSON that pollutes a prototype if merged naively. */
export const pollutingValue = fc
  .constantFrom(...SPECIAL_KEYS)
  .map((key) => hostile(`{${JSON.stringify(key)}:{"polluted":true,"prototype":{"polluted":true}}}`));

/** Scalars that are edge cases of JSON numbers and strings. */
export const ODD_SCALARS = [
  'null',
  'true',
  'false',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '1152921504606846976',
  '""',
  '"x"',
  '"\\u0000"',
  '"\\ud800"',
  '"\\u2028"',
  '"NaN"',
  '[]',
  '{}',
  '[null]',
  '{"":null}',
] as const;

/** Any hostile JSON value, as text. */
export const hostileValue: fc.Arbitrary<Hostile> = fc.oneof(
  { arbitrary: fc.constantFrom(...ODD_SCALARS).map((t) => hostile(t, t)), weight: 4 },
  {
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 40 })
      .map((s) => hostile(JSON.stringify(s), JSON.stringify(s))),
    weight: 2,
  },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => hostile(JSON.stringify(v) ?? 'null')), weight: 2 },
  { arbitrary: deepValue, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: manyKeys, weight: 1 },
  { arbitrary: pollutingValue, weight: 1 },
);

/**
 * Deepest nesting of arrays and objects in JSON-ish bytes, counting brackets outside strings: the
 * test's own measure, independent of the service's.
 */
export function nestingDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i += 1) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i += 1;
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (b === 0x7d || b === 0x5d) depth -= 1;
  }
  return deepest;
}
