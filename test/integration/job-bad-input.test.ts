/**
 * Inputs that are not events the job can enrich: each becomes one error event carrying the line
 * exactly as read, no request is made for it, and the good events around it are enriched in order.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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

const edit = (revId: number, overrides: Json = {}) =>
  pageChangeEvent({
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    ...overrides,
  });

/** Spaces after commas: the error event must carry the line as read, not a re-serialisation. */
const spaced = (event: Json) => JSON.stringify(event).replace(/,"/g, ', "');

test('bad input lines become error events with the raw line; the good events around them are enriched in order', async (t) => {
  const api = await startApi(t);
  for (const revId of [31, 32, 33, 97, 98, 99]) {
    api.addRevision({
      revId,
      pageId: 1,
      title: 'Main_Page',
      slots: { main: { content: `text of ${revId}` } },
    });
  }
  const bad: Array<{ line: string; expected: ExpectedError }> = [
    {
      line: '{"comment": "naïve ✓", "meta": {"domain": "en.wikipedia.org"',
      expected: { errorType: 'InvalidEventError', message: /input is not JSON/ },
    },
    {
      line: '[ {"$schema": "/mediawiki/page/change/1.2.0"} , 2 ]',
      expected: { errorType: 'InvalidEventError', message: /input is not a JSON object/ },
    },
    { line: '42', expected: { errorType: 'InvalidEventError', message: /input is not a JSON object/ } },
    {
      line: spaced(edit(99, { page_change_kind: 'teleport' })),
      expected: {
        errorType: 'SchemaValidationError',
        message: /invalid against \/mediawiki\/page\/change\/1\.2\.0: .*page_change_kind/,
      },
    },
    {
      line: spaced(edit(98, { meta: { domain: undefined } })),
      expected: { errorType: 'InvalidEventError', message: /no meta\.domain/ },
    },
    {
      line: spaced(edit(97, { meta: { domain: 'evil.example.com' } })),
      expected: {
        errorType: 'DomainNotAllowedError',
        message: /"evil\.example\.com" is not in enrich\.allowed_domains/,
      },
    },
  ];
  const lines = [
    JSON.stringify(edit(31)),
    bad[0]!.line,
    bad[1]!.line,
    JSON.stringify(edit(32)),
    bad[2]!.line,
    bad[3]!.line,
    // A blank line is no record at all.
    ' \t ',
    bad[4]!.line,
    bad[5]!.line,
    JSON.stringify(edit(33)),
  ];
  const run = await runJob(t, api, lines, { enrich: { batch_linger_ms: 0 } });

  assert.deepEqual(outcomeCounts(run.summary), {
    records: 9,
    enriched: 3,
    passed: 0,
    dropped: 0,
    failed: 6,
    unfinished: 0,
    errors: { InvalidEventError: 4, SchemaValidationError: 1, DomainNotAllowedError: 1 },
  });
  assert.deepEqual(api.requestedRevIds().sort(), [31, 32, 33], 'no request for a bad input');

  assert.deepEqual(
    run.outputs.map((o) => (o.revision as Json).rev_id),
    [31, 32, 33],
  );
  for (const output of run.outputs) {
    await assertValidOutput(output);
    const revision = output.revision as { rev_id: number; content_slots: { main: Json } };
    assert.equal(revision.content_slots.main.content_body, `text of ${revision.rev_id}`);
  }

  // Error events carry no key order between unrelated inputs: match them by their raw line.
  assert.deepEqual(run.errors.map((e) => e.raw_event).sort(), bad.map((b) => b.line).sort());
  for (const { line, expected } of bad) {
    const event = run.errors.find((e) => e.raw_event === line)!;
    await assertErrorEventFor(event, line, expected);
  }
  // Byte-equal: raw_event, encoded as UTF-8, is exactly the bytes of its line in the input file.
  const fileLines = splitLines(await readFile(run.paths.input));
  for (const event of run.errors) {
    const raw = Buffer.from(event.raw_event as string, 'utf8');
    assert.ok(
      fileLines.some((l) => l.equals(raw)),
      `raw_event is a line of the input: ${String(event.raw_event)}`,
    );
  }
});

function splitLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  for (
    let start = 0, end = bytes.indexOf(0x0a);
    end !== -1;
    start = end + 1, end = bytes.indexOf(0x0a, start)
  ) {
    lines.push(bytes.subarray(start, end));
  }
  return lines;
}
