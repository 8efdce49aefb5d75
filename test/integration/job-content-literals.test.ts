/**
 * A large content is written to the output as the wiki's answer wrote its JSON literal, not decoded
 * and serialised again: through the whole job (HTTP, batching, the handler, the file sink) against a
 * local server whose answers escape `/` as `\/` (PHP's json_encode does by default). Whatever the
 * bytes, each output parses to the content JSON.parse read from the answer, and an answer that
 * escapes far more than the text needs does not make the output grow with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MIN_LITERAL_BYTES } from '../../src/mediawiki/revisions.js';
import { pageChangeEvent } from '../helpers/events.js';
import { assertValidOutput, runJob, startApi, type Json } from '../helpers/job-harness.js';
import type { Behaviour } from '../helpers/misbehaving-api.js';

/** JSON with `/` written `\/`. */
function phpJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('/', '\\/');
}

/** The same with every non-ASCII character as `\uXXXX` too (PHP's default without JSON_UNESCAPED_UNICODE). */
function asciiJson(value: unknown): string {
  return phpJson(value).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const large = (revId: number) =>
  `${revId}: café "déjà vu" </nowiki> 😀\n${'Lorem [[ipsum]] {{dolor}}/sit ámet.\n'.repeat(80)}`;
const small = (revId: number) => `${revId}: petit café/été`;

function answer(
  revIds: readonly number[],
  contentOf: (revId: number) => string,
  title = 'Page',
  json = phpJson,
): string {
  const pages = revIds.map((revid) => ({
    pageid: revid,
    ns: 0,
    title,
    revisions: [
      {
        revid,
        slots: {
          main: { contentmodel: 'wikitext', contentformat: 'text/x-wiki', content: contentOf(revid) },
        },
      },
    ],
  }));
  return json({ batchcomplete: true, query: { pages } });
}

const edit = (revId: number): Json =>
  pageChangeEvent({
    page: { page_id: revId },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

const contentOf = (revId: number) => (revId % 2 === 0 ? large(revId) : small(revId));
const bodyOf = (output: Json) =>
  ((output.revision as Json).content_slots as Record<string, Json>).main!.content_body as string;

test('large contents are written as the answer wrote them, small ones as JSON.stringify writes them', async (t) => {
  assert.ok(Buffer.byteLength(phpJson(large(2))) >= MIN_LITERAL_BYTES);
  assert.ok(Buffer.byteLength(phpJson(small(1))) < MIN_LITERAL_BYTES);
  const api = await startApi(t);
  api.setFallback((request): Behaviour => ({ kind: 'raw', body: answer(request.revIds, contentOf) }));
  const revIds = [1, 2, 3, 4, 5, 6];
  const run = await runJob(t, api, revIds.map(edit));

  assert.deepEqual(run.summary.outcomes, { enriched: 6, passed: 0, dropped: 0, failed: 0 });
  assert.deepEqual(run.outputs.map(bodyOf), revIds.map(contentOf));
  run.outputLines.forEach((line, i) => {
    const revId = revIds[i]!;
    const literal = phpJson(contentOf(revId));
    if (revId % 2 === 0)
      assert.ok(line.includes(`"content_body":${literal}`), `revision ${revId}: not the literal`);
    else {
      assert.ok(!line.includes(literal), `revision ${revId}: the literal of a small content`);
      assert.ok(line.includes(`"content_body":${JSON.stringify(contentOf(revId))}`));
    }
  });
  for (const output of run.outputs) await assertValidOutput(output);
});

test('a gzipped answer gives the same literals', async (t) => {
  const api = await startApi(t);
  api.setFallback((request): Behaviour => ({
    kind: 'raw',
    body: gzipSync(answer(request.revIds, large)),
    headers: { 'content-encoding': 'gzip' },
  }));
  const run = await runJob(t, api, [edit(8), edit(10)]);
  assert.deepEqual(run.outputs.map(bodyOf), [large(8), large(10)]);
  run.outputLines.forEach((line, i) =>
    assert.ok(line.includes(`"content_body":${phpJson(large([8, 10][i]!))}`)),
  );
});

test('an answer with bytes that are not UTF-8 is decoded and its contents serialised again', async (t) => {
  const api = await startApi(t);
  api.setFallback((request): Behaviour => {
    const text = answer(request.revIds, large, 'TITLE');
    // The title's bytes become an invalid sequence: the text holds U+FFFD there, the bytes do not.
    const [before, after] = text.split('TITLE') as [string, string];
    return {
      kind: 'raw',
      body: Buffer.concat([Buffer.from(before), Buffer.from([0xc3, 0x28]), Buffer.from(after)]),
    };
  });
  const run = await runJob(t, api, [edit(12)]);
  assert.deepEqual(run.outputs.map(bodyOf), [large(12)]);
  assert.ok(!run.outputLines[0]!.includes(phpJson(large(12))), 'the literal of an answer that is not UTF-8');
  assert.ok(run.outputLines[0]!.includes(`"content_body":${JSON.stringify(large(12))}`));
});

test('a literal much longer than its text (escapes throughout) is not written: the output keeps its size', async (t) => {
  const accented = (revId: number) => `${revId}: ${'àéîõü çñ '.repeat(400)}`;
  const api = await startApi(t);
  api.setFallback((request): Behaviour => ({
    kind: 'raw',
    body: answer(request.revIds, accented, 'Page', asciiJson),
  }));
  const run = await runJob(t, api, [edit(14)]);
  assert.deepEqual(run.outputs.map(bodyOf), [accented(14)]);
  assert.ok(asciiJson(accented(14)).length > 2 * Buffer.byteLength(accented(14)));
  assert.ok(run.outputLines[0]!.includes(`"content_body":${JSON.stringify(accented(14))}`));
});
