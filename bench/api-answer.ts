/**
 * The Action API's answer to `action=query&prop=revisions&revids=…&rvslots=*&formatversion=2`, as the
 * stub API serves it and as the CPU floor parses it: one page per revision (a batch of different
 * pages), each revision with a `main` wikitext slot whose content is deterministic per revision id.
 */

const TEXT = 'Lorem ipsum [[dolor]] sit amet, {{consectetur}} adipiscing elit. ';
let base = TEXT;

/** `bytes` bytes of wikitext-like ASCII, starting with the revision id. */
export function contentFor(revId: number, bytes: number): string {
  while (base.length < bytes) base += base;
  const head = `${revId} `;
  return head + base.slice(0, Math.max(0, bytes - head.length));
}

export function answerBody(revIds: readonly number[], bytesFor: (revId: number) => number): string {
  const pages = revIds.map((revid) => {
    const size = bytesFor(revid);
    return {
      pageid: revid,
      ns: 0,
      title: `Page ${revid}`,
      revisions: [
        {
          revid,
          parentid: revid - 1,
          timestamp: '2026-11-24T00:00:00Z',
          size,
          sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
          slots: {
            main: {
              contentmodel: 'wikitext',
              contentformat: 'text/x-wiki',
              content: contentFor(revid, size),
            },
          },
        },
      ],
    };
  });
  return JSON.stringify({ batchcomplete: true, query: { pages } });
}
