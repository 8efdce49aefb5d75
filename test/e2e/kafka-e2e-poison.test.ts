/**
 * Poison records on a real broker: among 2,000 good page_change events on 4 partitions, records
 * that are too deep, too large, not UTF-8, name a domain or a schema they must not, or have an
 * empty value. Each becomes one error event of its type, the events after it are enriched, the
 * committed offsets move past it, and a restarted service on the same group does not meet it again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSummaryLine } from '../helpers/cli.js';
import { endOffsets, produceRaw, sum, type RawRecord } from '../helpers/kafka.js';
import { e2eRun } from '../helpers/kafka-e2e.js';
import {
  assertOutputsOf,
  assertPerPageOrder,
  revisionsOfKey,
  type OutcomeRecord,
} from '../helpers/kafka-e2e-books.js';
import {
  addRevisions,
  editEvent,
  messageKey,
  pageChanges,
  produceInputs,
  type Input,
  type Json,
} from '../helpers/kafka-e2e-inputs.js';
import { kcatConsume } from '../helpers/kcat.js';

const PARTITIONS = 4;
const GOOD = 2_000;
const MAX_RECORD_BYTES = 65_536;
const NESTING = 6_000;

interface Poison {
  /** Marker inside the record (its `meta.request_id`), or `(empty)` for a record without bytes. */
  readonly id: string;
  readonly pageId: number;
  readonly revId: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The error event's `error_type`; undefined: the record is a good event and must be enriched. */
  readonly errorType: string | undefined;
  /** What the error event's message must say: the check that caught it, not another one. */
  readonly reason?: RegExp;
}

interface PoisonOptions {
  /** Merged over the edit event. */
  overrides?: Json;
  /** Changes the event's JSON text, to hold what a JSON object cannot build. */
  edit?: (value: string) => Buffer;
  /** The record key; default the page's `{"wiki_id":…,"page_id":…}`. */
  key?: Buffer;
}

/** An edit event of its own page and revision, `meta.request_id` `e2e-poison-<name>`. */
function poisonEdit(
  name: string,
  pageId: number,
  revId: number,
  expected: Pick<Poison, 'errorType' | 'reason'>,
  options: PoisonOptions = {},
): Poison {
  const input = editEvent(`e2e-poison-${name}`, pageId, revId, options.overrides ?? {});
  return {
    id: input.id,
    pageId,
    revId,
    key: options.key ?? Buffer.from(messageKey(pageId)),
    value: options.edit ? options.edit(input.value) : Buffer.from(input.value),
    ...expected,
  };
}

function poisons(): Poison[] {
  const deep = `${'{"d":'.repeat(NESTING - 1)}{}${'}'.repeat(NESTING - 1)}`;
  const invalid = 'InvalidEventError';
  const list: Poison[] = [
    // Valid against the schema (meta allows other fields) and smaller than the size limit, only deep.
    poisonEdit(
      'depth',
      1011,
      900_001,
      { errorType: invalid, reason: /max_json_depth/ },
      { edit: (v) => Buffer.from(v.replace('"meta":{', `"meta":{"nested":${deep},`)) },
    ),
    // A valid event, only too large: the filler comes after meta, so the head keeps the marker.
    poisonEdit(
      'size',
      1012,
      900_002,
      { errorType: invalid, reason: /max_record_bytes/ },
      { overrides: { revision: { comment: 'x'.repeat(200 * 1024) } } },
    ),
    // A byte sequence that is not UTF-8 inside the page title of a valid event.
    poisonEdit(
      'utf8',
      1013,
      900_003,
      { errorType: invalid, reason: /UTF-8/ },
      {
        edit: (v) => {
          const [head, tail] = v.split('"page_title":"Page_1013');
          return Buffer.concat([
            Buffer.from(`${head}"page_title":"Page_1013`),
            Buffer.from([0xc3, 0x28, 0xff]),
            Buffer.from(tail!),
          ]);
        },
      },
    ),
    poisonEdit(
      'domain-newline',
      1014,
      900_004,
      { errorType: 'DomainNotAllowedError' },
      { overrides: { meta: { domain: 'en.wikipedia.org\n' } } },
    ),
    poisonEdit(
      'domain-localhost',
      1015,
      900_005,
      { errorType: 'DomainNotAllowedError' },
      { overrides: { meta: { domain: 'LOCALHOST', uri: 'http://LOCALHOST/wiki/Page_1015' } } },
    ),
    poisonEdit(
      'schema-traversal',
      1016,
      900_006,
      { errorType: 'SchemaValidationError' },
      { overrides: { $schema: '/mediawiki/page/change/%2e%2e/%2e%2e/etc/passwd' } },
    ),
    // The service keys outputs from the event, never from the record key: a good event, enriched.
    poisonEdit(
      'nul-key',
      1017,
      900_007,
      { errorType: undefined },
      { key: Buffer.from('\u0000en\u0000wiki\u0000') },
    ),
  ];
  const empty = { id: '(empty)', pageId: 0, revId: 0, errorType: invalid, reason: /not JSON/ };
  return [
    ...list,
    { ...empty, key: null, value: Buffer.alloc(0) },
    // A tombstone: no value at all.
    { ...empty, key: Buffer.from(messageKey(1018)), value: null },
  ];
}

/** Which poison an error event is for: its marker in `raw_event`, or `(empty)`. */
function poisonIdOf(error: OutcomeRecord): string {
  return error.event.raw_event === '' ? '(empty)' : error.id;
}

describe('kafka-e2e-poison: poison records among good ones', { timeout: 600_000 }, () => {
  it('each poison record becomes one error event, the rest is enriched once in page order, offsets pass it, a restart does not meet it again', async (t) => {
    const started = Date.now();
    const run = await e2eRun(t, 'poison', {
      partitions: { input: PARTITIONS },
      api: { seed: 31, minMs: 1, maxMs: 5 },
    });
    const { bootstrap, topics, offsets, api } = run;

    const good = pageChanges(GOOD, { pages: 40, seed: 32 });
    const bad = poisons();
    // Every poison's revision exists too: one the service wrongly lets through is enriched, visibly.
    addRevisions(api, [...good, ...bad]);

    // Half the good events, the poison spread over the partitions, the other half.
    await produceInputs(bootstrap, topics.input, good.slice(0, GOOD / 2));
    await produceRaw(
      bootstrap,
      topics.input,
      bad.map((p, i): RawRecord => ({ partition: i % PARTITIONS, key: p.key, value: p.value })),
    );
    await produceInputs(bootstrap, topics.input, good.slice(GOOD / 2));
    const ends = endOffsets(await kcatConsume(bootstrap, topics.input), topics.input, PARTITIONS);
    assert.equal(sum(ends), GOOD + bad.length, 'every record is in the input topic');
    assert.ok(
      [...ends.values()].every((end) => end > 0),
      'the records are spread over every partition',
    );

    const config = await run.config({ runtime: { max_record_bytes: MAX_RECORD_BYTES } });
    const service = run.start(config, 'first run');
    await run.finish(service, ends, 180_000);

    const { outputs, errors } = await run.outcomes();
    const failing = bad.filter((p) => p.errorType !== undefined);
    const passing = bad.filter((p) => p.errorType === undefined);

    // One error event per poison record, of its type.
    assert.deepEqual(
      errors.map((e) => [poisonIdOf(e), e.event.error_type]).sort(),
      failing.map((p) => [p.id, p.errorType]).sort(),
      'one error event per poison record, with its error_type',
    );
    const value = (p: Poison) => p.value?.toString('utf8') ?? '';
    for (const e of errors) {
      const poison = failing.find((p) => p.id === poisonIdOf(e))!;
      const raw = String(e.event.raw_event);
      if (poison.id === 'e2e-poison-size') {
        assert.ok(raw.length < poison.value!.length, 'an oversized input is carried cut');
        assert.ok(value(poison).startsWith(raw), 'the error event carries the head of the oversized input');
      } else if (poison.id === 'e2e-poison-utf8') {
        assert.ok(raw.includes(poison.id), 'the error event carries the input that is not UTF-8');
      } else {
        assert.equal(raw, value(poison), `${poison.id}: raw_event is the input`);
      }
      assert.equal(e.event.emitter_id, 'mw-page-content-change-enrich');
      if (poison.reason)
        assert.match(String(e.event.message), poison.reason, `${poison.id}: the check that caught it`);
    }
    // The API was never asked about a poison record's revision.
    const asked = new Set(api.requestedRevIds());
    assert.deepEqual(
      failing.filter((p) => asked.has(p.revId)).map((p) => p.id),
      [],
      'no Action API request for a poison record',
    );

    // Every good event (and the one with a NUL-byte key) enriched exactly once, in page order.
    const enriched = [...good, ...passing];
    assertOutputsOf(outputs, enriched, 'every good event enriched exactly once');
    assertPerPageOrder(outputs);
    for (const page of new Set(good.map((g) => g.pageId))) {
      const want = good.filter((g) => g.pageId === page).map((g) => g.revId);
      assert.deepEqual(
        revisionsOfKey(outputs, messageKey(page)),
        want,
        `page ${page}: outputs in input order`,
      );
    }

    assert.deepEqual(parseSummaryLine(service.stderr())?.counts, {
      records: GOOD + bad.length,
      enriched: enriched.length,
      passed: 0,
      dropped: 0,
      failed: failing.length,
      unfinished: 0,
      ...countBy(failing.map((p) => p.errorType!)),
    });
    assert.deepEqual(await offsets.read(ends), ends, 'committed = end offsets');

    // A restart on the same group meets none of it again. One new good event per partition shows
    // that it ran and reached the end; it must be the only thing it writes.
    const sentinels: Input[] = Array.from({ length: PARTITIONS }, (_, p) =>
      editEvent(`e2e-sentinel-${p}`, 100 + p, 950_000 + p),
    );
    addRevisions(api, sentinels);
    await produceRaw(
      bootstrap,
      topics.input,
      sentinels.map((s, p) => ({ partition: p, key: Buffer.from(s.key), value: Buffer.from(s.value) })),
    );
    const endsAfter = new Map([...ends].map(([partition, end]) => [partition, end + 1]));
    const restarted = run.start(config, 'restart');
    await run.finish(restarted, endsAfter, 120_000, 'the restart to commit its new records');
    const { outputs: outputsAfter, errors: errorsAfter } = await run.outcomes();
    const before = new Set(outputs.map((o) => `${o.partition}/${o.offset}`));
    assert.deepEqual(
      outputsAfter
        .filter((o) => !before.has(`${o.partition}/${o.offset}`))
        .map((o) => o.id)
        .sort(),
      sentinels.map((s) => s.id).sort(),
      'the restart wrote only the new events',
    );
    assert.equal(errorsAfter.length, errors.length, 'the restart wrote no error event');
    assert.deepEqual(parseSummaryLine(restarted.stderr())?.counts, {
      records: PARTITIONS,
      enriched: PARTITIONS,
      passed: 0,
      dropped: 0,
      failed: 0,
      unfinished: 0,
    });
    assert.deepEqual(await offsets.read(endsAfter), endsAfter, 'committed = end offsets after the restart');
    console.log(
      `kafka-e2e-poison: ${GOOD} good and ${bad.length} poison records, ${outputs.length} outputs, ` +
        `${errors.length} error events; restart read ${PARTITIONS} new records; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
