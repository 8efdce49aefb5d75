import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EnrichmentError } from '../../../src/core/errors.js';
import {
  RVPROP,
  buildRevisionsQuery,
  parseRevisionsResponse,
  resolveRevisionResults,
  type RevisionResult,
} from '../../../src/mediawiki/revisions.js';

function body(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/mediawiki/${name}.json`, import.meta.url));
}

function parseError(answer: Buffer | string, options?: { retryAfterMs?: number }): EnrichmentError {
  try {
    parseRevisionsResponse(Buffer.from(answer), options);
  } catch (error) {
    assert.ok(error instanceof EnrichmentError, `not an EnrichmentError: ${String(error)}`);
    return error;
  }
  assert.fail('parseRevisionsResponse did not throw');
}

const jsonBytes = (value: unknown) => Buffer.from(JSON.stringify(value));

function summary(results: Map<number, RevisionResult>): Record<number, string> {
  return Object.fromEntries(
    [...results].map(([id, r]) => [
      id,
      r.ok
        ? `ok:${Object.keys(r.revision.slots).join(',')}`
        : `${r.error.type}:${String(r.error.details.reason ?? '')}`,
    ]),
  );
}

describe('buildRevisionsQuery', () => {
  it('asks for ids, timestamp, content, model, sha1 and size of every slot, without contentformat', () => {
    const params = buildRevisionsQuery([3, 5, 8]);
    assert.deepEqual(Object.fromEntries(params), {
      action: 'query',
      format: 'json',
      formatversion: '2',
      prop: 'revisions',
      revids: '3|5|8',
      rvprop: 'ids|timestamp|content|contentmodel|sha1|size',
      rvslots: '*',
    });
    assert.equal(RVPROP.includes('contentformat'), false);
  });

  it('adds maxlag and every continue parameter', () => {
    const params = buildRevisionsQuery([15, 19], {
      maxlag: 5,
      continueParams: { rvcontinue: '19', continue: '||' },
    });
    assert.equal(params.get('maxlag'), '5');
    assert.equal(params.get('rvcontinue'), '19');
    assert.equal(params.get('continue'), '||');
    assert.equal(params.get('revids'), '15|19');
  });
});

describe('parseRevisionsResponse on real responses', () => {
  it('reads one revision with its slot model, format and content', () => {
    const part = parseRevisionsResponse(body('revisions-single-existing-no-contentformat-prop'));
    assert.deepEqual(part.revisions.get(3), {
      revId: 3,
      pageId: 2,
      slots: {
        main: {
          role: 'main',
          contentModel: 'wikitext',
          contentFormat: 'text/x-wiki',
          content: 'Second version of [[Fixture A]], with more text.',
          textHidden: false,
        },
      },
    });
    assert.equal(part.revisions.size, 1);
    assert.equal(part.badRevIds.size, 0);
    assert.equal(part.hasMissingPage, false);
    assert.equal(part.continueParams, undefined);
  });

  it('keeps json content as the normalised text and empty content as an empty string', () => {
    const json = parseRevisionsResponse(body('revisions-single-json-contentmodel')).revisions.get(6);
    assert.ok(json && !(json instanceof EnrichmentError));
    assert.equal(json.slots.main?.contentModel, 'json');
    assert.equal(json.slots.main?.contentFormat, 'application/json');
    assert.equal(json.slots.main?.content, '{\n\t"a": 1,\n\t"b": [\n\t\ttrue,\n\t\tnull\n\t]\n}');
    const empty = parseRevisionsResponse(body('revisions-single-empty-content')).revisions.get(14);
    assert.ok(empty && !(empty instanceof EnrichmentError));
    assert.equal(empty.slots.main?.content, '');
    assert.equal(empty.slots.main?.textHidden, false);
  });

  it('splits a mixed batch: found revisions across pages, one bad id', () => {
    const part = parseRevisionsResponse(body('revisions-batch-mixed'));
    const results = resolveRevisionResults([2, 3, 4, 5, 6, 999999], [part]);
    assert.deepEqual(summary(results), {
      2: 'ok:main',
      3: 'ok:main',
      4: 'ok:main',
      5: 'ok:main',
      6: 'ok:main',
      999999: 'MissingRevisionError:badrevids',
    });
    const r4 = results.get(4);
    assert.ok(r4?.ok);
    assert.equal(
      r4.revision.slots.main?.content,
      'Third version of [[Fixture A]]. ünïcödé ✓ — "quotes" & <tags>',
    );
    assert.equal(r4.revision.pageId, 2);
    const r5 = results.get(5);
    assert.ok(r5?.ok);
    assert.equal(r5.revision.pageId, 3);
  });

  it('marks hidden and suppressed content as textHidden without content', () => {
    const part = parseRevisionsResponse(body('revisions-batch-with-hidden-and-bad'));
    const results = resolveRevisionResults([9, 10, 11, 12, 999999, 1000000], [part]);
    assert.deepEqual(summary(results), {
      9: 'ok:main',
      10: 'ok:main',
      11: 'ok:main',
      12: 'ok:main',
      999999: 'MissingRevisionError:badrevids',
      1000000: 'MissingRevisionError:badrevids',
    });
    for (const id of [10, 11]) {
      const r = results.get(id);
      assert.ok(r?.ok);
      assert.deepEqual(r.revision.slots.main, {
        role: 'main',
        contentModel: 'wikitext',
        contentFormat: undefined,
        content: undefined,
        textHidden: true,
      });
    }
  });

  it('drops hidden content even when a privileged session was sent it', () => {
    const admin = parseRevisionsResponse(body('revisions-revdel-content-hidden-admin')).revisions.get(10);
    const anon = parseRevisionsResponse(body('revisions-revdel-content-hidden-anon')).revisions.get(10);
    assert.ok(admin && !(admin instanceof EnrichmentError) && anon && !(anon instanceof EnrichmentError));
    assert.equal(admin.slots.main?.textHidden, true);
    assert.equal(admin.slots.main?.content, undefined);
    assert.equal(anon.slots.main?.textHidden, true);
    assert.equal(anon.slots.main?.content, undefined);
  });

  it('answers a duplicate id once, and both askers share it', () => {
    const part = parseRevisionsResponse(body('revisions-batch-duplicate-ids'));
    assert.deepEqual([...part.revisions.keys()], [2]);
    assert.deepEqual(summary(resolveRevisionResults([2, 2], [part])), { 2: 'ok:main' });
  });

  it('treats both shapes of a deleted page as missing', () => {
    const anon = resolveRevisionResults([8], [parseRevisionsResponse(body('revisions-deleted-page-anon'))]);
    assert.deepEqual(summary(anon), { 8: 'MissingRevisionError:badrevids' });
    const adminPart = parseRevisionsResponse(body('revisions-deleted-page-admin'));
    assert.equal(adminPart.hasMissingPage, true);
    assert.equal(adminPart.badRevIds.size, 0);
    assert.deepEqual(summary(resolveRevisionResults([8], [adminPart])), {
      8: 'MissingRevisionError:page_missing',
    });
    const error = resolveRevisionResults([8], [adminPart]).get(8);
    assert.ok(error && !error.ok);
    assert.equal(error.error.details.rev_id, 8);
  });

  it('reads badrevids given as a JSON array', () => {
    const part = parseRevisionsResponse(body('revisions-revid-zero'));
    assert.deepEqual([...part.badRevIds], [0]);
    assert.deepEqual(summary(resolveRevisionResults([0], [part])), { 0: 'MissingRevisionError:badrevids' });
  });

  it('follows a truncated answer: continue params, then the rest', () => {
    const first = parseRevisionsResponse(body('revisions-batch-large-needs-continue'));
    assert.deepEqual(first.continueParams, { rvcontinue: '19', continue: '||' });
    assert.deepEqual([...first.revisions.keys()], [15, 16, 17, 18]);
    const second = parseRevisionsResponse(body('revisions-batch-large-continued'));
    assert.equal(second.continueParams, undefined);
    assert.deepEqual(summary(resolveRevisionResults([15, 16, 17, 18, 19], [first, second])), {
      15: 'ok:main',
      16: 'ok:main',
      17: 'ok:main',
      18: 'ok:main',
      19: 'ok:main',
    });
  });

  it('counts an id absent from every part of a complete answer as missing', () => {
    const part = parseRevisionsResponse(body('revisions-single-existing-no-contentformat-prop'));
    assert.deepEqual(summary(resolveRevisionResults([3, 77], [part])), {
      3: 'ok:main',
      77: 'MissingRevisionError:absent',
    });
  });

  it('turns maxlag into a retryable MaxlagError carrying Retry-After', () => {
    const error = parseError(body('maxlag-minus2'), { retryAfterMs: 5000 });
    assert.equal(error.type, 'MaxlagError');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 5000);
    assert.equal(error.details.api_code, 'maxlag');
    assert.equal(error.details.api_info, 'Waiting for a database server: -1 second lagged.');
  });

  it('turns readonly into a retryable ReadonlyError and other codes into ApiError', () => {
    const readonly = parseError('{"error":{"code":"readonly","info":"The wiki is in read-only mode"}}');
    assert.equal(readonly.type, 'ReadonlyError');
    assert.equal(readonly.retryable, true);
    const tooMany = parseError(body('revisions-batch-too-many-revids-anon'));
    assert.equal(tooMany.type, 'ApiError');
    assert.equal(tooMany.retryable, false);
    assert.equal(tooMany.details.api_code, 'toomanyvalues');
  });

  it('rejects bodies that are not JSON or not the formatversion=2 shape', () => {
    for (const [text, reason] of [
      ['<html>Bad gateway</html>', 'body is not JSON'],
      ['[1,2]', 'body is not a JSON object'],
      ['{"batchcomplete":true}', 'no query object'],
      [body('revisions-single-formatversion1').toString('utf8'), 'query.pages is not an array'],
      ['{"query":{"pages":[{"revisions":[{"slots":{}}]}]}}', 'a revision has no numeric revid'],
      ['{"query":{"badrevids":"8"}}', 'query.badrevids is not a list or object'],
      ['{"error":"oops"}', 'error without a code'],
    ] as const) {
      const error = parseError(text);
      assert.equal(error.type, 'ResponseFormatError', text);
      assert.equal(error.retryable, false);
      assert.equal(error.details.reason, reason, text);
    }
  });

  it('fails only the revision whose entry cannot be read', () => {
    const part = parseRevisionsResponse(
      jsonBytes({
        query: {
          pages: [
            {
              pageid: 1,
              revisions: [
                { revid: 1, slots: { main: { contentmodel: 'wikitext', content: 'ok' } } },
                { revid: 2, content: 'legacy shape without slots' },
                { revid: 3, slots: { main: { contentmodel: 'wikitext', textmissing: true } } },
              ],
            },
          ],
        },
      }),
    );
    assert.deepEqual(summary(resolveRevisionResults([1, 2, 3], [part])), {
      1: 'ok:main',
      2: 'ResponseFormatError:revision without slots',
      3: 'ResponseFormatError:slot has no content',
    });
  });

  it('reads several slots of one revision', () => {
    const part = parseRevisionsResponse(
      jsonBytes({
        batchcomplete: true,
        query: {
          pages: [
            {
              pageid: 7,
              revisions: [
                {
                  revid: 70,
                  slots: {
                    main: { contentmodel: 'wikitext', contentformat: 'text/x-wiki', content: 'Caption' },
                    mediainfo: {
                      contentmodel: 'wikibase-mediainfo',
                      contentformat: 'application/json',
                      content: '{"a":1}',
                    },
                  },
                },
              ],
            },
          ],
        },
      }),
    );
    const revision = part.revisions.get(70);
    assert.ok(revision && !(revision instanceof EnrichmentError));
    assert.deepEqual(Object.keys(revision.slots), ['main', 'mediainfo']);
    assert.equal(revision.slots.mediainfo?.content, '{"a":1}');
    assert.equal(revision.slots.mediainfo?.contentModel, 'wikibase-mediainfo');
  });
});

describe('buildRevisionsQuery with a hostile continue', () => {
  it('never lets an answer change the parameters of the request, only add its own', () => {
    const params = buildRevisionsQuery([1, 2], {
      maxlag: 5,
      continueParams: {
        action: 'edit',
        revids: '7|8|9',
        format: 'xml',
        maxlag: '999',
        rvcontinue: '2',
        continue: '||',
      },
    });
    assert.equal(params.get('action'), 'query');
    assert.equal(params.get('revids'), '1|2');
    assert.equal(params.get('format'), 'json');
    assert.equal(params.get('maxlag'), '5');
    assert.equal(params.get('rvcontinue'), '2');
    assert.equal(params.get('continue'), '||');
  });
});
