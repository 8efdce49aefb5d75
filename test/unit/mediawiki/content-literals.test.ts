import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { locateContentLiterals, type ContentLiterals } from '../../../src/mediawiki/content-literals.js';
import { between, seeded } from '../../helpers/random.js';

const FIXTURES = new URL('../../fixtures/mediawiki/', import.meta.url);

type Json = Record<string, unknown>;

/** Every string `content` of the answer by its place, as JSON.parse reads it. */
function contentsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const json = JSON.parse(text) as Json;
  const pages = (json.query as Json | undefined)?.pages;
  if (!Array.isArray(pages)) return out;
  pages.forEach((page: Json, i) => {
    if (!Array.isArray(page?.revisions)) return;
    page.revisions.forEach((revision: Json, j: number) => {
      const slots = revision?.slots;
      if (typeof slots !== 'object' || slots === null || Array.isArray(slots)) return;
      for (const [role, slot] of Object.entries(slots as Json)) {
        const content = (slot as Json | null)?.content;
        if (typeof content === 'string') out.set(`${i}/${j}/${role}`, content);
      }
    });
  });
  return out;
}

/** What each located literal decodes to, by its place. */
function decoded(bytes: Buffer, literals: ContentLiterals): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, revisions] of literals) {
    for (const [j, slots] of revisions) {
      for (const [role, [start, end]] of slots) {
        out.set(`${i}/${j}/${role}`, JSON.parse(bytes.toString('utf8', start, end)) as string);
      }
    }
  }
  return out;
}

/** Locates with no size floor and checks every content against JSON.parse's reading. */
function assertLocatesEveryContent(text: string): Map<string, string> {
  const bytes = Buffer.from(text);
  const literals = locateContentLiterals(bytes, 0);
  assert.ok(literals, `not located: ${text}`);
  const found = decoded(bytes, literals);
  assert.deepEqual(found, contentsOf(text));
  return found;
}

function answer(slots: string): string {
  return `{"query":{"pages":[{"pageid":1,"revisions":[{"revid":5,"slots":${slots}}]}]}}`;
}

describe('locateContentLiterals', () => {
  it('finds every slot content of the real answers of MediaWiki 1.39, decoding to what JSON.parse read', () => {
    let contents = 0;
    for (const name of readdirSync(FIXTURES).filter((f) => f.startsWith('revisions-'))) {
      const text = readFileSync(new URL(name, FIXTURES), 'utf8');
      // formatversion=1 keys pages by id, which the answer's reader rejects: the scan finds nothing.
      if (name === 'revisions-single-formatversion1.json') {
        assert.deepEqual(locateContentLiterals(Buffer.from(text), 0), new Map());
        continue;
      }
      contents += assertLocatesEveryContent(text).size;
    }
    // The fixtures hold 17 slot contents (batches, hidden and empty ones, JSON content, continuations).
    assert.equal(contents, 17);
  });

  it('takes the last of a key given twice, at every level, as JSON.parse does', () => {
    const found = assertLocatesEveryContent(
      '{"query":{"pages":[]},"query":{"pages":[{"revisions":[{"slots":{"main":{"content":"a"}}}]},' +
        '{"revisions":[{"slots":{"main":{"content":"first","content":"second"},"aux":{"content":"x"},' +
        '"aux":{"content":null}}},{"slots":{"main":{"content":"old"}},"slots":{"main":{"content":"new"}}}]}],' +
        '"pages":[{"revisions":[]},{"revisions":[{"slots":{"main":{"content":"b"}}}],' +
        '"revisions":[{"slots":{"main":{"content":"kept","content":"last"}}},{"slots":{"m":{"content":"c"}}}]}]}}',
    );
    assert.deepEqual(
      [...found],
      [
        ['1/0/main', 'last'],
        ['1/1/m', 'c'],
      ],
    );
  });

  it('takes the last of a key given twice when the earlier one is not an object or array', () => {
    const found = assertLocatesEveryContent(
      '{"query":1,"query":{"pages":{},"pages":[{"revisions":7,"revisions":[{"slots":[],' +
        '"slots":{"main":"x","main":{"content":1,"content":"text"}}}]}]}}',
    );
    assert.deepEqual([...found], [['0/0/main', 'text']]);
  });

  it('holds only what it found: many pages without a content leave an empty result', () => {
    const pages = Array.from(
      { length: 10_000 },
      (_, i) => `{"revisions":[{"slots":{"main":{"content":${i}}}}]}`,
    );
    assert.deepEqual(
      locateContentLiterals(Buffer.from(`{"query":{"pages":[${pages.join(',')}]}}`), 0),
      new Map(),
    );
  });

  it('reads keys with escapes decoded, and roles of any name', () => {
    const found = assertLocatesEveryContent(
      '{"q\\u0075ery":{"pages":[{"revisions":[{"sl\\u006fts":{"m\\u0061in":{"\\u0063ontent":"escaped keys"},' +
        '"__proto__":{"content":"proto"},"r\\u00f4le":{"content":"accent"},"\\"":{"content":"quote"}}}]}]}}',
    );
    assert.deepEqual([...found.keys()], ['0/0/main', '0/0/__proto__', '0/0/rôle', '0/0/"']);
  });

  it('ignores content keys elsewhere and strings that look like structure', () => {
    const tricky = 'a \\"content\\":\\"decoy\\" } ] { [ \\\\\\" \\\\ end \\\\';
    const text =
      `{"warnings":{"content":"w"},"content":"top","query":{"content":"q","pages":[{"content":"page",` +
      `"title":"${tricky}","revisions":[{"content":"revision","comment":{"slots":{"main":{"content":"deep"}}},` +
      `"slots":{"main":{"contentmodel":"wikitext","content":"${tricky}","sha1":"${tricky}"}}}]}]}}`;
    const found = assertLocatesEveryContent(text);
    assert.deepEqual([...found.keys()], ['0/0/main']);
  });

  it('reads answers with space between the tokens', () => {
    const value = { query: { pages: [{ revisions: [{ slots: { main: { content: 'x "y" \\ z' } } }] }] } };
    assert.equal(assertLocatesEveryContent(JSON.stringify(value, null, 2)).get('0/0/main'), 'x "y" \\ z');
    assertLocatesEveryContent(' \t\r\n' + JSON.stringify(value, null, '\t').replaceAll(':', ' :') + '\n ');
  });

  it('keeps only literals of at least the size asked for', () => {
    const bytes = Buffer.from(answer('{"main":{"content":"12345678"},"aux":{"content":"123456"}}'));
    const literals = locateContentLiterals(bytes, 10);
    assert.deepEqual([...(literals?.get(0)?.get(0)?.keys() ?? [])], ['main']);
  });

  it('gives up on bytes that are not a whole JSON object', () => {
    const whole = answer('{"main":{"content":"text"}}');
    for (const bad of [whole.slice(0, -1), `${whole} x`, `${whole}{}`, '[1]', '', '{"query":{"pages":[1}}']) {
      assert.equal(locateContentLiterals(Buffer.from(bad), 0), undefined, bad);
    }
  });

  it('finds none where there are no pages', () => {
    for (const none of ['{"batchcomplete":true,"query":{"badrevids":{}}}', '{"query":{"pages":{}}}']) {
      assert.deepEqual(locateContentLiterals(Buffer.from(none), 0), new Map(), none);
    }
  });

  it('agrees with JSON.parse on 300 random answers, however they escape their strings', () => {
    const random = seeded(20261130);
    const pool = [
      'a',
      'Z',
      ' ',
      '"',
      '\\',
      '/',
      '\n',
      '\t',
      '\u0000',
      '\u001f',
      '{',
      '}',
      '[',
      ']',
      ':',
      ',',
      'é',
      '中',
      '😀',
      '\ud800',
      '\u2028',
    ];
    const text = () =>
      Array.from({ length: between(random, 0, 40) }, () => pool[between(random, 0, pool.length - 1)]).join(
        '',
      );
    // Every way JSON allows: JSON.stringify's, every UTF-16 unit as \u, or `/` as `\/`.
    const styles: Array<(s: string) => string> = [
      (s) => JSON.stringify(s),
      (s) =>
        `"${Array.from({ length: s.length }, (_, i) => `\\u${s.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`,
      (s) => JSON.stringify(s).replaceAll('/', '\\/'),
    ];
    const literal = (s: string) => styles[between(random, 0, styles.length - 1)]!(s);
    // Space between the tokens in some answers, never inside strings.
    let comma = ',';
    let colon = ':';
    const member = (key: string, value: string) => `${key}${colon}${value}`;
    const value = (depth: number): string => {
      const kind = between(random, 0, depth > 2 ? 2 : 4);
      if (kind === 0) return literal(text());
      if (kind === 1) return String(between(random, -5, 5) / 2);
      if (kind === 2) return ['true', 'false', 'null'][between(random, 0, 2)]!;
      if (kind === 3)
        return `[${Array.from({ length: between(random, 0, 3) }, () => value(depth + 1)).join(comma)}]`;
      return `{${Array.from({ length: between(random, 0, 3) }, () => member(literal(text()), value(depth + 1))).join(comma)}}`;
    };
    const object = (members: string[]) => {
      const extra = Array.from({ length: between(random, 0, 2) }, () => member(literal(text()), value(1)));
      const all = [...members, ...extra].sort(() => random() - 0.5);
      return `{${all.join(comma)}}`;
    };
    const key = (name: string) => (random() < 0.2 ? literal(name) : `"${name}"`);
    let located = 0;
    for (let n = 0; n < 300; n++) {
      const spaced = random() < 0.3;
      comma = spaced ? ' ,\n\t' : ',';
      colon = spaced ? ' :\r\n ' : ':';
      const slot = () =>
        object([random() < 0.85 ? member(key('content'), literal(text())) : member('"content"', value(2))]);
      const slots = () =>
        object(Array.from({ length: between(random, 0, 3) }, () => member(literal(text()), slot())));
      const revision = () => object([member('"revid"', String(n)), member(key('slots'), slots())]);
      const revisions = () => `[${Array.from({ length: between(random, 0, 3) }, revision).join(comma)}]`;
      const pages = `[${Array.from({ length: between(random, 0, 4) }, () => object([member(key('revisions'), revisions())])).join(comma)}]`;
      const answerText = object([member(key('query'), object([member(key('pages'), pages)]))]);
      located += assertLocatesEveryContent(spaced ? ` ${answerText}\n` : answerText).size;
    }
    assert.ok(located > 300, `only ${located} contents located`);
  });
});
