/**
 * Property-based fuzzing of the built CLI as a child process, so that "no process death" and
 * "bounded memory" are about the real process: generated hostile lines and Action API answers (as in
 * test/integration/fuzz-job.test.ts), plus in every run one to three valid event lines of up to
 * 64 MiB each, a line nested 10,000 levels deep and up to 1,000 plain edits. Each run must exit 0
 * with its summary line, one outcome per non-blank line, and a peak RSS (VmHWM, sampled from /proc)
 * under 600 MB. The input is a file, a gzip file or standard input; outputs go to a file or
 * standard output.
 * `npm run fuzz` runs it longer (FUZZ_SECONDS, FUZZ_RUNS, FUZZ_SEED, FUZZ_PATH).
 */
import fc from 'fast-check';
import { before, test } from 'node:test';
import { ensureBuilt } from '../helpers/cli.js';
import { answerPlan } from '../fuzz/hostile-answers.js';
import { inputSpec } from '../fuzz/hostile-events.js';
import { runCli, type CliIo } from '../fuzz/cli-run.js';
import { assertFuzzProperty, FUZZ_LIMITS, FuzzStats, fuzzSettings, type FuzzCase } from '../fuzz/fuzz-run.js';

const MIB = 1024 * 1024;
const MAX_RESPONSE_BYTES = 8 * MIB;
const MAX_RSS_KIB = 600 * 1000;
const bounds = { maxRecordBytes: FUZZ_LIMITS.maxRecordBytes, maxLineBytes: MIB };

before(() => ensureBuilt());

test('fuzz: the CLI survives hostile lines and answers: exit 0, one outcome per line, peak RSS under 600 MB', async (t) => {
  const stats = new FuzzStats();
  await assertFuzzProperty(
    t,
    fc.record({
      input: inputSpec(bounds, 12),
      plan: answerPlan(MAX_RESPONSE_BYTES, 6),
      io: fc.record({
        source: fc.constantFrom('file' as const, 'gzip' as const, 'stdin' as const),
        sink: fc.constantFrom('file' as const, 'stdout' as const),
      }),
      bulk: fc.record({
        giantLines: fc.array(fc.integer({ min: MIB, max: 64 * MIB }), { minLength: 1, maxLength: 3 }),
        copies: fc.integer({ min: 0, max: 1_000 }),
      }),
    }),
    (c: FuzzCase & { io: CliIo }) =>
      runCli(t, c, c.io, stats, {
        maxResponseBytes: MAX_RESPONSE_BYTES,
        readTimeoutMs: 1_000,
        maxRssKiB: MAX_RSS_KIB,
      }),
    fuzzSettings({ runs: 10, seconds: 40 }),
  );
  t.diagnostic(stats.toString());
});
