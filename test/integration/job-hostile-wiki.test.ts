/**
 * Wiki names and Action API answers that used to stop the job, through the whole job: each becomes
 * one error event carrying its input line, and every event after it is enriched, in order. All
 * events are edits of the same page, so each outcome waits for the one before it (the case where an
 * escaped exception used to stop the job without a summary).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertErrorEventFor,
  assertValidOutput,
  outcomeCounts,
  runJob,
  startApi,
  type ExpectedError,
  type Json,
} from '../helpers/job-harness.js';
import type { Behaviour } from '../helpers/misbehaving-api.js';

const edit = (revId: number, domain?: string): Json =>
  pageChangeEvent({
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    ...(domain === undefined ? {} : { meta: { domain } }),
  });

const notPlain: ExpectedError = { errorType: 'DomainNotAllowedError', message: /is not a plain host name/ };

test('bad wiki names and malformed or oversized answers between good events: error events, the rest enriched in order', async (t) => {
  const api = await startApi(t);
  const good = [1, 3, 5, 7, 9, 11, 13, 15, 17];
  for (const revId of [...good, 6, 8, 10])
    api.addRevision({
      revId,
      pageId: 1,
      title: 'Main_Page',
      slots: { main: { content: `text of ${revId}` } },
    });

  // Revision 14's first answer is cut short (retried), the second is served.
  let cutOnce = false;
  api.setFallback((request): Behaviour => {
    if (request.revIds.includes(4))
      return { kind: 'raw-bytes', bytes: 'HTTP/1.1 200 OK\r\nbad header\r\n\r\n{}' };
    if (request.revIds.includes(6)) return { kind: 'raw-bytes', bytes: 'garbage, not HTTP\r\n\r\n' };
    if (request.revIds.includes(8)) return { kind: 'huge', bytes: 600 * 1024 * 1024 };
    if (request.revIds.includes(10)) return { kind: 'raw-bytes', bytes: '{"query":{}}' };
    if (request.revIds.includes(14) && !cutOnce) {
      cutOnce = true;
      return { kind: 'raw-bytes', bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n{"query"' };
    }
    return { kind: 'serve' };
  });
  api.addRevision({ revId: 14, pageId: 1, title: 'Main_Page', slots: { main: { content: 'text of 14' } } });

  const invalidHttp: ExpectedError = { errorType: 'ResponseFormatError', message: /invalid HTTP response/ };
  const lines: Array<{ event: Json; expected?: ExpectedError }> = [
    { event: edit(1) },
    { event: edit(2, 'en.wikipedia.org\n'), expected: notPlain },
    { event: edit(3) },
    { event: edit(4), expected: invalidHttp },
    { event: edit(5) },
    { event: edit(6), expected: invalidHttp },
    { event: edit(7) },
    { event: edit(8), expected: { errorType: 'ResponseFormatError', message: /answer too large/ } },
    { event: edit(9) },
    { event: edit(10), expected: invalidHttp },
    { event: edit(11, 'EN.Wikipedia.ORG') },
    { event: edit(12, 'en.wikipedia.org.'), expected: notPlain },
    { event: edit(13) },
    { event: edit(14) },
    { event: edit(15) },
    { event: edit(16, ' en.wikipedia.org\u2028'), expected: notPlain },
    { event: edit(2, '\ufeffen.wikipedia.org\u3000'), expected: notPlain },
    { event: edit(2, 'en.wikipedia.org\u00a0'), expected: notPlain },
    { event: edit(2, 'en.wikipedia.org\r\n'), expected: notPlain },
    { event: edit(17) },
  ];
  const run = await runJob(
    t,
    api,
    lines.map((l) => l.event),
    { enrich: { batch_size: 1, max_response_bytes: 1024 * 1024 } },
  );

  const failed = lines.filter((l) => l.expected !== undefined);
  const enrichedRevs = [1, 3, 5, 7, 9, 11, 13, 14, 15, 17];
  assert.equal(run.exitCode, 0);
  assert.deepEqual(outcomeCounts(run.summary), {
    records: lines.length,
    enriched: enrichedRevs.length,
    passed: 0,
    dropped: 0,
    failed: failed.length,
    unfinished: 0,
    errors: { DomainNotAllowedError: 6, ResponseFormatError: 4 },
  });
  assert.deepEqual(
    run.outputs.map((o) => (o.revision as Json).rev_id),
    enrichedRevs,
  );
  for (const output of run.outputs) {
    await assertValidOutput(output);
    const revision = output.revision as { rev_id: number; content_slots: { main: Json } };
    assert.equal(revision.content_slots.main.content_body, `text of ${revision.rev_id}`);
  }
  const failedLines = lines.flatMap((l, i) => (l.expected === undefined ? [] : [run.lines[i]!]));
  assert.deepEqual(
    run.errors.map((e) => e.raw_event),
    failedLines,
  );
  for (const [i, error] of run.errors.entries()) {
    await assertErrorEventFor(error, failedLines[i]!, failed[i]!.expected!);
  }
  // No request for a bad name; one for each malformed or oversized answer (not retried); two for
  // revision 14 (its cut answer was retried); one for each other good event. (Fetches of one page
  // may run ahead of each other; only their outcomes are ordered.)
  assert.deepEqual(
    api.requestedRevIds().sort((a, b) => a - b),
    [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 14, 15, 17],
  );
  assert.equal(api.requests.find((r) => r.revIds.includes(11))?.headers.host, 'en.wikipedia.org');
});
