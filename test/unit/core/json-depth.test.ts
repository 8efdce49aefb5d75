import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonNestingDepth, nestsDeeperThan } from '../../../src/core/json-depth.js';

const depth = (text: string, limit?: number) => jsonNestingDepth(Buffer.from(text), limit);

describe('jsonNestingDepth', () => {
  it('counts nested arrays and objects; scalars are depth 0', () => {
    assert.equal(depth('42'), 0);
    assert.equal(depth('"text"'), 0);
    assert.equal(depth('{}'), 1);
    assert.equal(depth('[[], {"a": [1, {"b": {}}]}]'), 5);
    assert.equal(depth('{"a":{"b":1},"c":{"d":{"e":[]}}}'), 4);
  });

  it('ignores brackets inside strings, and quotes and backslashes that are escaped', () => {
    assert.equal(depth('{"a": "[[[{{{"}'), 1);
    assert.equal(depth('{"a": "\\"[[[", "b": "\\\\"}'), 1);
    assert.equal(depth('{"a\\"[": "x\\\\", "b": [["\\u005b"]]}'), 3);
    // A multi-byte character whose bytes are not ASCII cannot end a string or open a bracket.
    assert.equal(depth('{"a": "naïve ✓ 😀 [", "b": []}'), 2);
  });

  it('stops past the limit and says limit + 1', () => {
    const deep = '['.repeat(1000) + ']'.repeat(1000);
    assert.equal(depth(deep), 1000);
    assert.equal(depth(deep, 64), 65);
    assert.equal(depth(deep, 1000), 1000);
    assert.equal(depth(deep, 999), 1000);
  });

  it('reads a value nested a million levels deep without recursion', () => {
    const n = 1_000_000;
    assert.equal(depth('{"a":'.repeat(n) + '1' + '}'.repeat(n)), n);
    assert.equal(depth('['.repeat(n) + ']'.repeat(n), 64), 65);
  });

  it('V8 parses deep JSON without recursion (the handler relies on it for the error event)', () => {
    const n = 1_000_000;
    assert.doesNotThrow(() => JSON.parse('['.repeat(n) + ']'.repeat(n)));
  });

  it('gives a number for invalid JSON, which the parser then rejects', () => {
    assert.equal(depth(']]]'), 0);
    assert.equal(depth('[[["unterminated'), 3);
  });
});

describe('nestsDeeperThan', () => {
  it('agrees with jsonNestingDepth on any bytes, with brackets in and out of strings', () => {
    const piece = fc.constantFrom('{', '}', '[', ']', '"', '\\', 'a', ':', ',', ' ');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.integer({ min: 0, max: 12 }), (pieces, limit) => {
        const bytes = Buffer.from(pieces.join(''));
        assert.equal(nestsDeeperThan(bytes, limit), jsonNestingDepth(bytes, limit) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads only as many brackets as it needs: deep input past the limit, shallow input with many', () => {
    assert.equal(nestsDeeperThan(Buffer.from('['.repeat(100_000)), 64), true);
    assert.equal(nestsDeeperThan(Buffer.from(`[${'[],'.repeat(100)}[]]`), 64), false);
    assert.equal(nestsDeeperThan(Buffer.from(`{"a": "${'['.repeat(100)}"}`), 64), false);
  });
});
