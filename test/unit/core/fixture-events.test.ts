import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepMerge, pageChangeEvent } from '../../helpers/events.js';

// The fixture builder is shared by every suite; these pin the behaviour they rely on.
describe('test helper pageChangeEvent', () => {
  it('is an edit of enwiki page 1, revision 2, with a main slot', () => {
    const event = pageChangeEvent() as {
      page_change_kind: string;
      wiki_id: string;
      meta: { domain: string };
      page: { page_id: number };
      revision: { rev_id: number; content_slots: Record<string, unknown> };
    };
    assert.equal(event.page_change_kind, 'edit');
    assert.equal(event.wiki_id, 'enwiki');
    assert.equal(event.meta.domain, 'en.wikipedia.org');
    assert.equal(event.page.page_id, 1);
    assert.equal(event.revision.rev_id, 2);
    assert.deepEqual(Object.keys(event.revision.content_slots), ['main']);
  });

  it('returns new objects on each call', () => {
    const a = pageChangeEvent();
    const b = pageChangeEvent();
    assert.notEqual(a.revision, b.revision);
    (a.revision as { rev_id: number }).rev_id = 99;
    assert.equal((pageChangeEvent().revision as { rev_id: number }).rev_id, 2);
  });
});

describe('test helper deepMerge', () => {
  it('merges objects, replaces arrays and scalars, removes keys set to undefined', () => {
    const base = { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 };
    const overrides = { a: { c: [3], d: undefined, f: { g: 1 } }, e: undefined, h: null };
    const merged = deepMerge(base, overrides);
    assert.deepEqual(merged, { a: { b: 1, c: [3], f: { g: 1 } }, h: null });
    assert.deepEqual(base, { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 });
    (merged.a as { f: { g: number } }).f.g = 2;
    assert.deepEqual(overrides.a.f, { g: 1 }, 'override values are copied');
  });
});
