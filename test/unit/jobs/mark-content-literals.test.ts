import assert from 'node:assert/strict';
import { it } from 'node:test';
import { markContentLiterals } from '../../../src/jobs/page-content-change/enrich.js';
import type { RevisionContent } from '../../../src/mediawiki/types.js';

const literal = (text: string) => Buffer.from(JSON.stringify(text));

it('marks only the slots whose content_body is still the answer content with a literal (whatever their role), and changes nothing given', () => {
  const revision: RevisionContent = {
    revId: 5,
    slots: {
      main: { role: 'main', content: 'main text', contentJson: literal('main text'), textHidden: false },
      aux: { role: 'aux', content: 'aux text', contentJson: literal('aux text'), textHidden: false },
      small: { role: 'small', content: 'small', textHidden: false },
      ['__proto__']: { role: '__proto__', content: 'p', contentJson: literal('p'), textHidden: false },
    },
  };
  const slots = JSON.parse(
    '{"main":{"slot_role":"main","content_body":"main text"},"aux":{"content_body":"changed"},' +
      '"small":{"content_body":"small"},"__proto__":{"content_body":"p"}}',
  ) as Record<string, unknown>;
  const event = { meta: { id: 'x' }, revision: { rev_id: 5, content_slots: slots } };
  const before = structuredClone(event);
  const marks: string[] = [];
  const marked = markContentLiterals(event, revision, (bytes, value) => {
    marks.push(`${bytes.toString()}=${value}`);
    return `<${value}>`;
  });

  assert.deepEqual(marks, ['"main text"=main text', '"p"=p']);
  assert.deepEqual(event, before);
  const markedSlots = (marked.revision as { content_slots: Record<string, unknown> }).content_slots;
  assert.deepEqual(Object.keys(markedSlots), ['main', 'aux', 'small', '__proto__']);
  assert.deepEqual(markedSlots.main, { slot_role: 'main', content_body: '<main text>' });
  assert.equal(markedSlots.aux, slots.aux);
  assert.deepEqual(Object.getOwnPropertyDescriptor(markedSlots, '__proto__')?.value, { content_body: '<p>' });
  assert.equal(Object.getPrototypeOf(markedSlots), Object.prototype);
  assert.equal(marked.meta, event.meta);
});

it('gives the event itself back when no slot has a literal', () => {
  const event = { revision: { content_slots: { main: { content_body: 't' } } } };
  const revision: RevisionContent = {
    revId: 1,
    slots: { main: { role: 'main', content: 't', textHidden: false } },
  };
  assert.equal(
    markContentLiterals(event, revision, () => assert.fail('marked')),
    event,
  );
});
