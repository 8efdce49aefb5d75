import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonBytesWithLiterals, type MarkLiteral } from '../../../src/core/json-literals.js';

const literal = (json: string) => Buffer.from(json);

describe('jsonBytesWithLiterals', () => {
  it('is JSON.stringify as UTF-8 bytes when nothing is marked', () => {
    const value = { a: 'é\u2028"', b: [1, null, { c: '😀\ud800' }] };
    assert.deepEqual(
      jsonBytesWithLiterals(() => value),
      Buffer.from(JSON.stringify(value)),
    );
  });

  it('writes each marked string as its literal, byte for byte, and the rest as JSON.stringify does', () => {
    const text = 'café "Ünïcode"\n';
    const escaped = '"caf\\u00e9 \\"\\u00dcn\\u00efcode\\"\\n"';
    const other = 'x\\/y';
    const out = jsonBytesWithLiterals((mark) => ({
      head: 'ß',
      slots: {
        main: { body: mark(literal(escaped), text), size: 3 },
        aux: { body: mark(literal(`"${other}"`), 'x/y') },
      },
      tail: ['中', 1],
    }));
    assert.equal(
      out.toString('utf8'),
      `{"head":"ß","slots":{"main":{"body":${escaped},"size":3},"aux":{"body":"${other}"}},"tail":["中",1]}`,
    );
    assert.deepEqual(JSON.parse(out.toString('utf8')), {
      head: 'ß',
      slots: { main: { body: text, size: 3 }, aux: { body: 'x/y' } },
      tail: ['中', 1],
    });
  });

  it('writes the literals in the order they stand in the text, whatever order they were marked in', () => {
    const out = jsonBytesWithLiterals((mark) => {
      const second = mark(literal('"2"'), '2');
      const first = mark(literal('"1"'), '1');
      return { a: first, b: second };
    });
    assert.equal(out.toString(), '{"a":"1","b":"2"}');
  });

  it('serialises the strings themselves when a marker is found twice', () => {
    let builds = 0;
    const build = (mark: MarkLiteral) => {
      builds += 1;
      const marked = mark(literal('"\\u0061"'), 'a');
      // An input that happens to hold the same text as a marker.
      return { body: marked, copy: builds === 1 ? marked : 'copy' };
    };
    const out = jsonBytesWithLiterals(build);
    assert.equal(builds, 2);
    assert.equal(out.toString(), '{"body":"a","copy":"copy"}');
  });

  it('serialises the strings themselves when a marker is lost', () => {
    const out = jsonBytesWithLiterals((mark) => {
      mark(literal('"\\u0062"'), 'b');
      return { body: 'plain' };
    });
    assert.equal(out.toString(), '{"body":"plain"}');
  });

  it('serialises the strings themselves when another string starts like a marker', () => {
    let builds = 0;
    const out = jsonBytesWithLiterals((mark) => {
      builds += 1;
      const marked = mark(literal('"\\u0063"'), 'c');
      return { body: marked, other: builds === 1 ? `${marked}9` : 'other' };
    });
    assert.equal(builds, 2);
    assert.equal(out.toString(), '{"body":"c","other":"other"}');
  });

  it('writes thousands of literals in one value, each in its place', () => {
    const texts = Array.from({ length: 5000 }, (_, i) => `text ${i} é`);
    const out = jsonBytesWithLiterals((mark) =>
      Object.fromEntries(
        texts.map((text, i) => [
          `slot${i}`,
          { body: mark(literal(JSON.stringify(text).replace('é', '\\u00e9')), text) },
        ]),
      ),
    );
    const json = out.toString('utf8');
    assert.ok(json.includes('"slot4999":{"body":"text 4999 \\u00e9"}'));
    assert.deepEqual(
      JSON.parse(json),
      Object.fromEntries(texts.map((text, i) => [`slot${i}`, { body: text }])),
    );
  });
});
