/**
 * Inputs built to stop the job: values nested thousands of levels deep, lines longer than
 * `runtime.max_record_bytes`, a byte order mark, CRLF line endings, bytes that are not UTF-8. Each
 * bad input ends in one error event, no request is made for it, and the events after it still get
 * their outcome, in order.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { runPageContentChangeJob } from '../../src/runtime/main.js';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertErrorEventFor,
  assertValidErrorEvent,
  assertValidOutput,
  buildJob,
  jobConfig,
  jobPaths,
  outcomeCounts,
  readLines,
  runJob,
  startApi,
  tempDir,
  type Json,
} from '../helpers/job-harness.js';
import type { MisbehavingApi } from '../helpers/misbehaving-api.js';

const KIB = 1024;

const edit = (revId: number, overrides: Json = {}) =>
  pageChangeEvent({
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    ...overrides,
  });

async function apiWith(t: TestContext, revIds: number[]): Promise<MisbehavingApi> {
  const api = await startApi(t);
  for (const revId of revIds) {
    api.addRevision({
      revId,
      pageId: 1,
      title: 'Main_Page',
      slots: { main: { content: `text of ${revId}` } },
    });
  }
  return api;
}

/** `{"a":{"a":…1…}}`, `levels` objects deep, as text: the value itself could not be serialised. */
const nestedObjects = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** The line of `event` with the placeholder string `"$DEEP"` replaced by `json`. */
const withValue = (event: Json, json: string) => {
  const line = JSON.stringify(event);
  assert.ok(line.includes('"$DEEP"'));
  return line.replace('"$DEEP"', json);
};

/** Runs the job on an input file of exactly these bytes (the harness writes whole lines only). */
async function runBytes(t: TestContext, api: MisbehavingApi, bytes: Buffer, overrides: Json = {}) {
  const paths = jobPaths(await tempDir(t));
  await mkdir(dirname(paths.input), { recursive: true });
  await writeFile(paths.input, bytes);
  const { summary, exitCode } = await runPageContentChangeJob(jobConfig(paths, api.url, overrides), {
    logger: pino({ level: 'silent' }),
    signals: [],
  });
  const outputLines = await readLines(paths.output);
  const errorLines = await readLines(paths.errors);
  return {
    summary,
    exitCode,
    outputs: outputLines.map((l) => JSON.parse(l) as Json),
    errors: errorLines.map((l) => JSON.parse(l) as Json),
    errorLines,
  };
}

/**
 * raw_event of an input cut to its head: at most 64 KiB once encoded in the error event (quotes and
 * backslashes count twice), and not much less. Returns its length in bytes.
 */
function assertHeadWithinBudget(raw: string): number {
  const encoded = Buffer.byteLength(JSON.stringify(raw)) - 2;
  assert.ok(encoded <= 64 * KIB && encoded > 60 * KIB, `raw_event is ${encoded} bytes once encoded`);
  return Buffer.byteLength(raw);
}

const revIds = (outputs: Json[]) => outputs.map((o) => (o.revision as Json).rev_id);

test('values nested deeper than runtime.max_json_depth (6,000 levels under meta, prior_state, in arrays) become error events; the events after them are enriched in order', async (t) => {
  const api = await apiWith(t, [41, 42, 43, 44, 90, 91, 92]);
  const deep = [
    withValue(edit(90, { meta: { extra: '$DEEP' } }), nestedObjects(6000)),
    withValue(edit(91, { prior_state: { extra: '$DEEP' } }), nestedObjects(6000)),
    withValue(edit(92, { prior_state: { extra: '$DEEP' } }), nestedArrays(6000)),
  ];
  const lines = [
    JSON.stringify(edit(41)),
    deep[0]!,
    JSON.stringify(edit(42)),
    deep[1]!,
    JSON.stringify(edit(43)),
    deep[2]!,
    JSON.stringify(edit(44)),
  ];
  const run = await runJob(t, api, lines, { enrich: { batch_linger_ms: 0 } });

  assert.equal(run.exitCode, 0);
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 7,
    enriched: 4,
    passed: 0,
    dropped: 0,
    failed: 3,
    unfinished: 0,
    errors: { InvalidEventError: 3 },
  });
  assert.deepEqual(revIds(run.outputs), [41, 42, 43, 44]);
  for (const output of run.outputs) await assertValidOutput(output);
  assert.deepEqual(api.requestedRevIds().sort(), [41, 42, 43, 44], 'no request for a deep input');
  assert.equal(run.errors.length, 3);
  for (const line of deep) {
    const event = run.errors.find((e) => e.raw_event === line);
    assert.ok(event, 'one error event per deep input, carrying it whole');
    // Parsed only for the fields the error event names (stream, schema, domain), never walked.
    await assertErrorEventFor(event, line, {
      errorType: 'InvalidEventError',
      message: /^input nests arrays and objects more than 64 levels deep \(runtime\.max_json_depth\)$/,
    });
  }
});

test('runtime.max_json_depth is exact: an event at the limit is enriched with its nested value, one level more is an error event', async (t) => {
  const api = await apiWith(t, [45, 46, 47]);
  // The event is level 1 and meta level 2: the value under meta.extra adds the rest.
  const atLimit = withValue(edit(46, { meta: { extra: '$DEEP' } }), nestedObjects(14));
  const overLimit = withValue(edit(47, { meta: { extra: '$DEEP' } }), nestedObjects(15));
  const run = await runJob(t, api, [atLimit, overLimit, JSON.stringify(edit(45))], {
    runtime: { max_json_depth: 16 },
    enrich: { batch_linger_ms: 0 },
  });
  assert.deepEqual(revIds(run.outputs), [46, 45]);
  assert.deepEqual((run.outputs[0]!.meta as Json).extra, JSON.parse(nestedObjects(14)));
  assert.equal(run.errors.length, 1);
  await assertErrorEventFor(run.errors[0]!, overLimit, {
    errorType: 'InvalidEventError',
    message: /more than 16 levels deep \(runtime\.max_json_depth\)/,
  });
});

test('lines longer than runtime.max_record_bytes (in the middle, and last without a newline) become error events carrying their head; the lines after them get their outcome', async (t) => {
  const api = await apiWith(t, [51, 52, 53]);
  const limit = 64 * KIB;
  // Padded with different letters, so that the two heads differ.
  const long = (revId: number, bytes: number, pad: string) => {
    const line = JSON.stringify(edit(revId, { comment: '$PAD' }));
    return line.replace('$PAD', pad.repeat(bytes - line.length + '$PAD'.length));
  };
  const middle = long(93, 200 * KIB, 'x');
  const last = long(94, 300 * KIB, 'y');
  assert.equal(Buffer.byteLength(middle), 200 * KIB);
  const input = [
    JSON.stringify(edit(51)),
    middle,
    JSON.stringify(edit(52)),
    'not json',
    JSON.stringify(edit(53)),
    last,
  ].join('\r\n');
  const run = await runBytes(t, api, Buffer.from(input), {
    runtime: { max_record_bytes: limit },
    enrich: { batch_linger_ms: 0 },
  });

  assert.equal(run.exitCode, 0);
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 6,
    enriched: 3,
    passed: 0,
    dropped: 0,
    failed: 3,
    unfinished: 0,
    errors: { InvalidEventError: 3 },
  });
  assert.deepEqual(revIds(run.outputs), [51, 52, 53]);
  assert.deepEqual(api.requestedRevIds().sort(), [51, 52, 53]);
  const byHead = new Map(run.errors.map((e) => [String(e.raw_event).slice(0, 40), e]));
  assert.equal(byHead.get('not json')?.raw_event, 'not json', 'CR is no part of the line');
  for (const [line, bytes] of [
    [middle, 200 * KIB],
    [last, 300 * KIB],
  ] as const) {
    const event = run.errors.find(
      (e) => line.startsWith(String(e.raw_event)) && String(e.raw_event).length > 60 * KIB,
    );
    assert.ok(event, `an error event carrying the head of the ${bytes}-byte line`);
    await assertValidErrorEvent(event);
    const rawBytes = assertHeadWithinBudget(String(event.raw_event));
    assert.equal(event.error_type, 'InvalidEventError');
    assert.equal(
      event.message,
      `input is ${bytes} bytes, over the limit of ${limit} bytes (runtime.max_record_bytes); raw_event is cut to its first ${rawBytes} bytes`,
    );
    // The head holds no event: nothing is taken from it.
    assert.equal(event.errored_stream_name, undefined);
  }
  for (const line of run.errorLines) assert.ok(line.length < 80 * KIB, `error event of ${line.length} bytes`);
});

test('a record over runtime.max_record_bytes from a source that does not cut it (Kafka) is an error event too', async (t) => {
  const api = await apiWith(t, []);
  const job = await buildJob(t, api, { runtime: { max_record_bytes: 1024 } });
  const padded = (bytes: number) => {
    const line = JSON.stringify(edit(95, { comment: '$PAD' }));
    return line.replace('$PAD', '✓'.repeat(Math.ceil((bytes - Buffer.byteLength(line)) / 3)));
  };
  const small = padded(5 * KIB);
  const outcome = await job.handle(small);
  assert.equal(outcome.kind, 'failed');
  assert.equal(outcome.kind === 'failed' && outcome.reason, 'InvalidEventError');
  const event = outcome.kind === 'failed' ? (JSON.parse(outcome.errorEvent.value.toString()) as Json) : {};
  await assertValidErrorEvent(event);
  assert.equal(event.raw_event, small, 'under the error event budget: carried whole');
  assert.equal(
    event.message,
    `input is ${Buffer.byteLength(small)} bytes, over the limit of 1024 bytes (runtime.max_record_bytes)`,
  );

  const big = padded(200 * KIB);
  const cut = await job.handle(big);
  const cutEvent = cut.kind === 'failed' ? (JSON.parse(cut.errorEvent.value.toString()) as Json) : {};
  const raw = String(cutEvent.raw_event);
  assert.ok(big.startsWith(raw), 'the head of the record');
  // Cut at a character boundary: no replacement character.
  assert.ok(!raw.includes('\ufffd'));
  const rawBytes = assertHeadWithinBudget(raw);
  assert.equal(
    cutEvent.message,
    `input is ${Buffer.byteLength(big)} bytes, over the limit of 1024 bytes (runtime.max_record_bytes); raw_event is cut to its first ${rawBytes} bytes`,
  );
});

test('a UTF-8 byte order mark at the start of the file is dropped and CRLF line endings are read', async (t) => {
  const api = await apiWith(t, [61, 62, 63]);
  const input = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(
      [JSON.stringify(edit(61)), JSON.stringify(edit(62)), '', 'not json', JSON.stringify(edit(63))].join(
        '\r\n',
      ),
    ),
  ]);
  const run = await runBytes(t, api, input, { enrich: { batch_linger_ms: 0 } });
  assert.equal(run.exitCode, 0);
  assert.deepEqual(revIds(run.outputs), [61, 62, 63]);
  assert.deepEqual(
    run.errors.map((e) => [e.error_type, e.raw_event]),
    [['InvalidEventError', 'not json']],
  );
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 4,
    enriched: 3,
    passed: 0,
    dropped: 0,
    failed: 1,
    unfinished: 0,
    errors: { InvalidEventError: 1 },
  });
});

test('lines that are not valid UTF-8 become error events naming the offset of the first bad sequence; valid UTF-8 is enriched as it is', async (t) => {
  const api = await apiWith(t, [71, 72, 73, 74, 75]);
  const withComment = (revId: number, comment: Buffer) => {
    const [before, after] = JSON.stringify(edit(revId, { comment: '$C' })).split('$C') as [string, string];
    return {
      line: Buffer.concat([Buffer.from(before), comment, Buffer.from(after)]),
      offset: Buffer.byteLength(before),
    };
  };
  const bad = [
    {
      name: 'truncated multi-byte character',
      ...withComment(96, Buffer.from([0x63, 0x61, 0x66, 0xc3])),
      skip: 3,
    },
    { name: 'overlong encoding of "/"', ...withComment(97, Buffer.from([0xc0, 0xaf])), skip: 0 },
    { name: 'lone continuation byte', ...withComment(98, Buffer.from([0x61, 0x80, 0x62])), skip: 1 },
    { name: 'encoded surrogate', ...withComment(99, Buffer.from([0xed, 0xa0, 0x80])), skip: 0 },
  ];
  const good = (revId: number) => Buffer.from(JSON.stringify(edit(revId, { comment: 'naïve ✓ 😀' })));
  const lines = [
    good(71),
    bad[0]!.line,
    good(72),
    bad[1]!.line,
    good(73),
    bad[2]!.line,
    good(74),
    bad[3]!.line,
    good(75),
  ];
  const run = await runBytes(t, api, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])), {
    enrich: { batch_linger_ms: 0 },
  });

  assert.equal(run.exitCode, 0);
  assert.deepEqual(revIds(run.outputs), [71, 72, 73, 74, 75]);
  for (const output of run.outputs) assert.equal(output.comment, 'naïve ✓ 😀');
  assert.deepEqual(api.requestedRevIds().sort(), [71, 72, 73, 74, 75]);
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 9,
    enriched: 5,
    passed: 0,
    dropped: 0,
    failed: 4,
    unfinished: 0,
    errors: { InvalidEventError: 4 },
  });
  for (const { name, line, offset, skip } of bad) {
    const raw = line.toString('utf8');
    const event = run.errors.find((e) => e.raw_event === raw);
    assert.ok(event, `an error event for the ${name}, carrying the line with U+FFFD replacements`);
    assert.ok(raw.includes('\ufffd'));
    await assertErrorEventFor(event, raw, {
      errorType: 'InvalidEventError',
      message: new RegExp(
        `^input is not valid UTF-8: the first invalid byte sequence is at byte offset ${offset + skip}; raw_event is the input with each invalid sequence replaced by U\\+FFFD, so it is not byte-exact$`,
      ),
    });
  }
});
