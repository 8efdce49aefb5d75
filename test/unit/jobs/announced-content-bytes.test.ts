import assert from 'node:assert/strict';
import { test } from 'node:test';
import { announcedContentBytes } from '../../../src/jobs/page-content-change/handler.js';
import { pageChangeEvent } from '../../helpers/events.js';

const withRevision = (kind: string, revision: Record<string, unknown>) =>
  pageChangeEvent({ page_change_kind: kind, revision }) as Record<string, unknown>;

test('an input to be enriched announces its rev_size; bounded by max_content_size and 64 MiB', () => {
  assert.equal(announcedContentBytes(withRevision('edit', { rev_size: 12_345 }), undefined), 12_345);
  assert.equal(announcedContentBytes(withRevision('create', { rev_size: 12_345 }), 1_000), 1_000);
  assert.equal(
    announcedContentBytes(withRevision('edit', { rev_size: 2 ** 40 }), undefined),
    64 * 1024 * 1024,
  );
});

test('nothing is announced for what is not fetched or a size that is no size', () => {
  assert.equal(announcedContentBytes(withRevision('delete', { rev_size: 5_000 }), undefined), undefined);
  assert.equal(
    announcedContentBytes(withRevision('edit', { rev_size: 5_000, is_content_visible: false }), undefined),
    undefined,
  );
  for (const size of [0, -1, 1.5, '5000', null, Number.NaN, 2 ** 60]) {
    assert.equal(
      announcedContentBytes(withRevision('edit', { rev_size: size }), undefined),
      undefined,
      String(size),
    );
  }
  assert.equal(announcedContentBytes({ page_change_kind: 'edit', revision: [] }, undefined), undefined);
});
