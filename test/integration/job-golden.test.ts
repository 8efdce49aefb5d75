/**
 * Golden run: one input of each kind the job meets (every page_change_kind, a suppressed delete, a
 * hidden revision, multi-slot revisions, a canary, schema versions 1.0.0, 1.2.0 and an unknown newer
 * 1.11.0) through the whole job, compared whole with `test/fixtures/golden/expected-outputs.json`
 * (the volatile `meta.id` and `meta.dt` masked), plus the normalisation rules checked one by one.
 *
 * After an intended change of the output, regenerate the expectation and review its diff:
 *     UPDATE_GOLDEN=1 node --import tsx --test test/integration/job-golden.test.ts
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import {
  assertValidOutput,
  buildJob,
  outcomeCounts,
  runJob,
  SINK_STREAM,
  startApi,
  USER_AGENT,
  type Json,
} from '../helpers/job-harness.js';
import type { StoredRevision } from '../helpers/misbehaving-api.js';

const GOLDEN = new URL('../fixtures/golden/', import.meta.url);
const EXPECTED = new URL('expected-outputs.json', GOLDEN);
const MASKED_ID = '<new meta.id>';
const MASKED_DT = '<ingestion time>';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const lines = (await readFile(new URL('input.ndjson', GOLDEN), 'utf8'))
  .split('\n')
  .filter((l) => l.length > 0);
const inputs = lines.map((l) => JSON.parse(l) as Json);
const stored = JSON.parse(await readFile(new URL('revisions.json', GOLDEN), 'utf8')) as StoredRevision[];

type Event = Json & { meta: Json; revision: Json & { content_slots?: Record<string, Json> }; page: Json };
const requestId = (e: Json) => (e as Event).meta.request_id as string;
const inputFor = new Map(inputs.map((e) => [requestId(e), e as Event]));

/** What the server holds for an input's revision on its wiki. */
function storedFor(input: Event): StoredRevision | undefined {
  return stored.find((r) => r.revId === input.revision.rev_id && r.domain === input.meta.domain);
}

const ENRICHED = [
  'golden-create',
  'golden-edit',
  'golden-move',
  'golden-undelete',
  'golden-multi-slot',
  'golden-slot-not-in-event',
  'golden-schema-1.0.0',
  'golden-schema-1.11.0',
];
const PASSED = ['golden-delete', 'golden-suppressed-delete', 'golden-visibility-change'];

test('golden: every kind of input through the whole job', async (t) => {
  // gzip answers, as Wikimedia's servers give them to clients that accept them.
  const api = await startApi(t, { gzip: true });
  api.addRevision(...stored);
  const run = await runJob(t, api, lines);

  assert.deepEqual(outcomeCounts(run.summary), {
    records: 12,
    enriched: 8,
    passed: 3,
    dropped: 1,
    failed: 0,
    unfinished: 0,
    errors: {},
  });
  assert.deepEqual(run.summary.reasons.passed, { delete: 2, hidden: 1 });
  assert.deepEqual(run.summary.reasons.enriched, { create: 1, edit: 5, move: 1, undelete: 1 });
  assert.equal(run.summary.job?.hidden_slots, 0);
  assert.deepEqual(run.errors, []);

  // Deletes and hidden content are never requested; every other revision once, from its own wiki.
  const requested = api.requests
    .flatMap((r) => r.revIds.map((id) => `${String(r.headers.host)} ${id}`))
    .sort();
  assert.deepEqual(
    requested,
    ENRICHED.map((id) => {
      const e = inputFor.get(id)!;
      return `${String(e.meta.domain)} ${String(e.revision.rev_id)}`;
    }).sort(),
  );

  // Every request is the documented revisions query, with the etiquette headers.
  for (const request of api.requests) {
    assert.equal(request.headers['user-agent'], USER_AGENT);
    assert.match(String(request.headers['accept-encoding']), /\bgzip\b/);
    const query = Object.fromEntries([...request.query].filter(([k]) => k !== 'revids'));
    assert.deepEqual(query, {
      action: 'query',
      format: 'json',
      formatversion: '2',
      prop: 'revisions',
      rvprop: 'ids|timestamp|content|contentmodel|sha1|size',
      rvslots: '*',
      maxlag: '5',
    });
  }

  // One output per enriched or passed input (the canary is dropped), in input order per page.
  assert.deepEqual(run.outputs.map(requestId).sort(), [...ENRICHED, ...PASSED].sort());
  const page101 = run.outputs.filter((o) => (o as Event).page.page_id === 101).map(requestId);
  assert.deepEqual(page101, ['golden-create', 'golden-edit', 'golden-move']);

  const ids = new Set<string>();
  for (const output of run.outputs as Event[]) {
    await assertValidOutput(output);
    const input = inputFor.get(requestId(output))!;
    assert.equal(output.$schema, '/mediawiki/page/change/1.2.0');
    assert.equal(output.meta.stream, SINK_STREAM);
    assert.match(String(output.meta.id), UUID);
    assert.notEqual(output.meta.id, input.meta.id);
    ids.add(String(output.meta.id));
    const ingested = Date.parse(String(output.meta.dt));
    assert.ok(
      ingested >= run.startedAt.getTime() && ingested <= run.endedAt.getTime(),
      `meta.dt ${String(output.meta.dt)} is the time of the run`,
    );
    assert.equal(output.dt, input.dt, 'dt (event time) is kept');
    for (const field of ['domain', 'uri', 'request_id'])
      assert.equal(output.meta[field], input.meta[field], `meta.${field} is kept`);
    const slots = output.revision.content_slots ?? {};
    const served = storedFor(input);
    if (ENRICHED.includes(requestId(output))) {
      assert.deepEqual(Object.keys(slots).sort(), Object.keys(served!.slots).sort());
      for (const [role, slot] of Object.entries(served!.slots))
        assert.equal(slots[role]!.content_body, slot.content, `${requestId(output)} ${role}`);
    } else {
      for (const slot of Object.values(slots))
        assert.equal('content_body' in slot, false, `${requestId(output)} has no content`);
    }
  }
  assert.equal(ids.size, run.outputs.length, 'every output has its own meta.id');

  const byInput = inputs
    .map((e) => run.outputs.find((o) => requestId(o) === requestId(e)))
    .filter((o) => o !== undefined);
  const masked = byInput.map((o) => ({ ...o, meta: { ...(o.meta as Json), id: MASKED_ID, dt: MASKED_DT } }));
  if (process.env.UPDATE_GOLDEN === '1') {
    await writeFile(EXPECTED, `${JSON.stringify(masked, null, 2)}\n`);
    t.diagnostic(`wrote ${EXPECTED.pathname}`);
  }
  const expected = JSON.parse(await readFile(EXPECTED, 'utf8')) as Json[];
  assert.deepEqual(masked, expected);
});

test('golden: the newer 1.11.0 input is projected onto 1.2.0, its extra field dropped and counted', async (t) => {
  const api = await startApi(t);
  api.addRevision(...stored);
  const job = await buildJob(t, api);
  const line = lines[inputs.findIndex((e) => requestId(e) === 'golden-schema-1.11.0')]!;
  assert.ok('future_field' in JSON.parse(line));
  const outcome = await job.handle(line);
  assert.equal(outcome.kind, 'enriched');
  const output = JSON.parse(outcome.kind === 'enriched' ? outcome.output.value.toString() : '{}') as Json;
  assert.equal('future_field' in output, false);
  assert.equal(output.$schema, '/mediawiki/page/change/1.2.0');
  // Field names come from inputs: counted without a label, named in a log line instead.
  assert.deepEqual(
    [...job.metrics.counts].filter(([k]) => k.startsWith('input_fields_dropped')),
    [['input_fields_dropped_total', 1]],
  );
});

test('golden: output records are keyed {"wiki_id":…,"page_id":…} and stamped with dt', async (t) => {
  const api = await startApi(t);
  api.addRevision(...stored);
  const job = await buildJob(t, api);
  const keys: Array<[string, string | null, number | undefined]> = [];
  for (const line of lines) {
    const outcome = await job.handle(line);
    if (outcome.kind === 'dropped') continue;
    assert.ok(
      outcome.kind === 'enriched' || outcome.kind === 'passed',
      `${outcome.kind} for ${line.slice(0, 200)}`,
    );
    keys.push([requestId(JSON.parse(line) as Json), outcome.output.key, outcome.output.timestamp]);
  }
  const expected = inputs
    .filter((e) => (e as Event).meta.domain !== 'canary')
    .map((e): [string, string, number] => [
      requestId(e),
      `{"wiki_id":"${String(e.wiki_id)}","page_id":${String((e as Event).page.page_id)}}`,
      Date.parse(String(e.dt)),
    ]);
  assert.deepEqual(keys, expected);
});
