/**
 * Page changes of one fixed shape (an edit on en.wikipedia.org), for benchmarks that vary one thing
 * at a time: event `i` edits page `i % pages + 1` and makes revision `firstRevId + i`, announcing
 * `revSize` bytes of content (as MediaWiki does, the size the content then has).
 */

export function fixedEvent(i: number, pages: number, firstRevId = 1, revSize = 1000): string {
  const pageId = (i % pages) + 1;
  const revId = firstRevId + i;
  const dt = '2026-11-24T00:00:00Z';
  return JSON.stringify({
    $schema: '/mediawiki/page/change/1.2.0',
    changelog_kind: 'update',
    dt,
    meta: { domain: 'en.wikipedia.org', dt, stream: 'mediawiki.page_change.v1', id: `id-${i}` },
    page: { page_id: pageId, page_title: `Page_${pageId}`, namespace_id: 0, is_redirect: false },
    page_change_kind: 'edit',
    performer: { user_text: 'Bench', user_id: 1 },
    revision: {
      rev_id: revId,
      rev_dt: dt,
      rev_parent_id: revId - 1,
      rev_size: revSize,
      is_content_visible: true,
      content_slots: {
        main: {
          slot_role: 'main',
          content_model: 'wikitext',
          content_format: 'text/x-wiki',
          origin_rev_id: revId,
        },
      },
    },
    wiki_id: 'enwiki',
  });
}
