/**
 * The output with literals against the output without them, over random answers with large
 * contents: the answer's reader, the enrichment and the serialisation of the job, compared with
 * JSON.stringify of the same event. Whatever the answer's escapes, the two parse to the same value
 * and both are UTF-8.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import { it } from 'node:test';
import { jsonBytesWithLiterals } from '../../../src/core/json-literals.js';
import { enrichEvent, markContentLiterals } from '../../../src/jobs/page-content-change/enrich.js';
import { MIN_LITERAL_BYTES, parseRevisionsResponse } from '../../../src/mediawiki/revisions.js';
import { between, seeded } from '../../helpers/random.js';

const POOL = ['a', 'b', ' ', '\n', '"', '\\', '/', '\t', '\u0001', 'é', 'ß', '中', '😀', '\u2028', '{', '}'];

it('writes the same value with or without literals, for 400 random answers', () => {
  const random = seeded(1130);
  /** A JSON literal of `text`, each character escaped as `\u` with probability `rate`. */
  const literal = (text: string, rate: number) => {
    let out = '"';
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      const plain = JSON.stringify(text[i]).slice(1, -1);
      const escape = random() < rate || (unit >= 0xd800 && unit <= 0xdfff);
      out += escape ? `\\u${unit.toString(16).padStart(4, '0')}` : plain;
    }
    return `${out}"`;
  };
  // Wikitext-like, as long as one to three times the smallest literal, with any characters mixed in.
  const text = () =>
    'Lorem ipsum "dolor" sit/amet.\n'.repeat(between(random, 1, 3) * Math.ceil(MIN_LITERAL_BYTES / 30)) +
    Array.from({ length: 40 }, () => POOL[between(random, 0, POOL.length - 1)]).join('');
  let outputs = 0;
  let withLiterals = 0;
  let refused = 0;
  for (let n = 0; n < 400; n++) {
    // Mostly the escapes of a wiki's answer; now and then far more than the text needs.
    const rate = random() < 0.8 ? 0 : random() < 0.5 ? 0.02 : 0.6;
    const roles = ['main', 'aux', 'x'].slice(0, between(random, 1, 3));
    const texts = roles.map(() => (random() < 0.8 ? text() : 'short'));
    const slots = roles.map(
      (role, i) => `"${role}":{"contentmodel":"wikitext","content":${literal(texts[i]!, rate)}}`,
    );
    const body = Buffer.from(
      `{"query":{"pages":[{"pageid":1,"revisions":[{"revid":${n},"slots":{${slots.join(',')}}}]}]}}`,
    );
    const revision = parseRevisionsResponse(body).revisions.get(n);
    assert.ok(revision && !(revision instanceof Error));
    assert.deepEqual(
      roles.map((role) => revision.slots[role]?.content),
      texts,
    );
    const input = {
      meta: { domain: 'x' },
      revision: { rev_id: n, content_slots: { main: { slot_role: 'main' } } },
    };
    const { event } = enrichEvent(input, revision);
    const plain = Buffer.from(JSON.stringify(event));
    const out = jsonBytesWithLiterals((mark) => markContentLiterals(event, revision, mark));
    assert.ok(isUtf8(out));
    assert.ok(
      isDeepStrictEqual(JSON.parse(out.toString('utf8')), JSON.parse(plain.toString('utf8'))),
      `answer ${n}`,
    );
    outputs += 1;
    const literals = Object.values(revision.slots).filter((slot) => slot.contentJson !== undefined);
    if (literals.length > 0) withLiterals += 1;
    for (const slot of literals)
      assert.ok(out.includes(slot.contentJson!), `answer ${n}: literal not written`);
    if (rate === 0.6 && texts.some((t) => t !== 'short')) refused += literals.length === 0 ? 1 : 0;
  }
  assert.equal(outputs, 400);
  assert.ok(withLiterals > 200, `${withLiterals} outputs with literals`);
  assert.ok(refused > 10, `${refused} answers escaping throughout had their literals refused`);
});
