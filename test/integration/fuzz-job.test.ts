/**
 * Property-based fuzzing of the whole job (in this process): structurally hostile input lines and
 * Action API answers (test/fuzz/), and for every generated run: one outcome per non-blank line,
 * summary counts that agree, outputs valid against page/change 1.2.0, error events valid against
 * error/2.1.0 whose raw_event is their line, exit 0 with nothing unfinished, requests only for allowed
 * wikis under their canonical names, no prototype pollution. The suite runs a fixed number of runs,
 * also bounded in time; `npm run fuzz` runs longer (FUZZ_SECONDS, FUZZ_RUNS; FUZZ_SEED and FUZZ_PATH
 * replay a counterexample that fast-check printed).
 */
import fc from 'fast-check';
import { test } from 'node:test';
import { answerPlan, type AnswerSpec } from '../fuzz/hostile-answers.js';
import { contentOf, inputSpec, lineSpec, revIdOf, type LineSpec } from '../fuzz/hostile-events.js';
import {
  assertFuzzProperty,
  FUZZ_LIMITS,
  FuzzStats,
  fuzzSettings,
  runInProcess,
  type FuzzCase,
} from '../fuzz/fuzz-run.js';

const MAX_RESPONSE_BYTES = 1024 * 1024;
const bounds = { maxRecordBytes: FUZZ_LIMITS.maxRecordBytes, maxLineBytes: 4 * FUZZ_LIMITS.maxRecordBytes };

test('fuzz: hostile events and hostile Action API answers end in one valid outcome per line, exit 0', async (t) => {
  const stats = new FuzzStats();
  await assertFuzzProperty(
    t,
    fc.record({ input: inputSpec(bounds, 12), plan: answerPlan(MAX_RESPONSE_BYTES, 6) }),
    (c: FuzzCase) => runInProcess(c, stats, { maxResponseBytes: MAX_RESPONSE_BYTES, readTimeoutMs: 300 }),
    fuzzSettings({ runs: 150, seconds: 30 }),
  );
  t.diagnostic(stats.toString());
});

/** An unmutated event whose revision the API has: whatever surrounds it, it must be enriched. */
const goodLine: fc.Arbitrary<LineSpec> = fc.record({
  kind: fc.constantFrom('edit' as const, 'create' as const, 'multi-slot' as const),
  pageId: fc.integer({ min: 1, max: 4 }),
  shape: fc.constant('stored' as const),
  recent: fc.boolean(),
  mutations: fc.constant([]),
  bytes: fc.constantFrom(undefined, { op: 'crlf' as const }),
  replaced: fc.constant(undefined),
});

const isGood = (line: LineSpec) =>
  line.shape === 'stored' &&
  ['edit', 'create', 'multi-slot'].includes(line.kind) &&
  line.mutations.length === 0 &&
  line.replaced === undefined &&
  (line.bytes === undefined || line.bytes.op === 'crlf');

function mustEnrich(c: FuzzCase): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  c.input.lines.forEach((line, i) => {
    if (!isGood(line)) return;
    const id = revIdOf(i);
    out.set(
      id,
      line.kind === 'multi-slot'
        ? { main: contentOf(id), mediainfo: contentOf(id, 'mediainfo') }
        : { main: contentOf(id) },
    );
  });
  return out;
}

test('fuzz: valid events among hostile ones are enriched with their revision text by an honest API', async (t) => {
  const stats = new FuzzStats();
  await assertFuzzProperty(
    t,
    fc.record({
      input: fc.record({
        lines: fc.array(fc.oneof(goodLine, lineSpec(bounds)), { minLength: 1, maxLength: 12 }),
        fileBom: fc.boolean(),
        finalNewline: fc.boolean(),
      }),
      plan: fc.record({
        answers: fc.constant<AnswerSpec[]>([]),
        deletedPageShape: fc.constantFrom('badrevids' as const, 'missing-page' as const),
      }),
    }),
    (c: FuzzCase) =>
      runInProcess(c, stats, { maxResponseBytes: MAX_RESPONSE_BYTES, readTimeoutMs: 30_000, mustEnrich }),
    fuzzSettings({ runs: 60, seconds: 15 }),
  );
  t.diagnostic(stats.toString());
});
