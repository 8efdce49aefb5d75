import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import { rawEventHead, RECORD_HEAD_BYTES } from '../../../src/core/record-head.js';
import { firstInvalidUtf8Offset, utf8Prefix } from '../../../src/core/utf8.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('firstInvalidUtf8Offset', () => {
  it('is -1 for valid text, including 2-, 3- and 4-byte characters and the edges of the ranges', () => {
    assert.equal(firstInvalidUtf8Offset(bytes('plain ascii')), -1);
    assert.equal(firstInvalidUtf8Offset(bytes('naïve ✓ 😀')), -1);
    assert.equal(firstInvalidUtf8Offset(bytes([0xc2, 0x80, 0xed, 0x9f, 0xbf, 0xee, 0x80, 0x80])), -1);
    assert.equal(firstInvalidUtf8Offset(bytes([0xf0, 0x90, 0x80, 0x80, 0xf4, 0x8f, 0xbf, 0xbf])), -1);
    assert.equal(firstInvalidUtf8Offset(Buffer.alloc(0)), -1);
  });

  const cases: Array<[string, Buffer, number]> = [
    ['truncated 2-byte character', bytes('ab', [0xc3]), 2],
    ['truncated 3-byte character before ASCII', bytes('ab', [0xe2, 0x9c], '"'), 2],
    ['truncated 4-byte character', bytes('x', [0xf0, 0x9f, 0x98], 'y'), 1],
    ['overlong 2-byte form of "/"', bytes('ab', [0xc0, 0xaf]), 2],
    ['overlong 3-byte form', bytes('a', [0xe0, 0x80, 0xaf]), 1],
    ['overlong 4-byte form', bytes('a', [0xf0, 0x80, 0x80, 0xaf]), 1],
    ['lone continuation byte', bytes('abc', [0x80], 'd'), 3],
    ['UTF-8 encoded surrogate U+D800', bytes('é', [0xed, 0xa0, 0x80]), 2],
    ['above U+10FFFF', bytes([0xf4, 0x90, 0x80, 0x80]), 0],
    ['byte that never occurs (F5..FF)', bytes('ok', [0xff]), 2],
  ];
  for (const [name, input, offset] of cases) {
    it(`finds a ${name} at byte ${offset}`, () => {
      assert.equal(isUtf8(input), false);
      assert.equal(firstInvalidUtf8Offset(input), offset);
    });
  }

  it('agrees with isUtf8 on random bytes, and the bytes before the offset are valid', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    for (let n = 0; n < 20_000; n++) {
      // Mostly bytes from the interesting high range, so that many inputs are valid and many are not.
      const input = Buffer.from(
        Array.from({ length: random() % 12 }, () =>
          random() % 3 === 0 ? random() % 128 : 0x80 + (random() % 128),
        ),
      );
      const offset = firstInvalidUtf8Offset(input);
      assert.equal(offset === -1, isUtf8(input), input.toString('hex'));
      if (offset !== -1) assert.ok(isUtf8(input.subarray(0, offset)), input.toString('hex'));
    }
  });
});

describe('utf8Prefix', () => {
  it('never ends inside a character', () => {
    const text = Buffer.from('a😀b');
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => utf8Prefix(text, n).toString()),
      ['a', 'a', 'a', 'a', 'a😀', 'a😀b'],
    );
  });
});

describe('rawEventHead', () => {
  it('keeps text that fits whole', () => {
    assert.deepEqual(rawEventHead(Buffer.from('{"a": "✓"}'), 100), { text: '{"a": "✓"}', cut: false });
  });

  it('cuts at a character boundary to the budget', () => {
    const head = rawEventHead(Buffer.from('✓'.repeat(100)), 100);
    assert.equal(head.text, '✓'.repeat(33));
    assert.equal(head.cut, true);
  });

  it('counts JSON escaping, so control characters cannot blow up the error event', () => {
    const head = rawEventHead(Buffer.alloc(RECORD_HEAD_BYTES * 4, 0x01));
    assert.ok(Buffer.byteLength(JSON.stringify(head.text)) - 2 <= RECORD_HEAD_BYTES);
    assert.ok(head.text.length > RECORD_HEAD_BYTES / 8, `kept ${head.text.length} characters`);
    assert.equal(head.cut, true);
  });
});
