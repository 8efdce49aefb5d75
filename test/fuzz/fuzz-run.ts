/**
 * Runs one generated case through the whole job in this process (cli-run.ts: as the CLI child),
 * checks it against the oracle, and keeps figures for the report. `assertFuzzProperty` is
 * `fc.assert` bounded in runs and time, which still notices a run that never ends.
 *
 * Knobs (environment): FUZZ_RUNS (runs per property; alone, as long as they take), FUZZ_SECONDS
 * (time budget per property; alone, as many runs as fit), FUZZ_SEED and FUZZ_PATH (replay a
 * reported counterexample), FUZZ_HANG_SECONDS (a run longer than this counts as hung; default 120).
 */
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { runPageContentChangeJob } from '../../src/runtime/main.js';
import { jobConfig, jobPaths, readLines, type Json } from '../helpers/job-harness.js';
import { MisbehavingApi } from '../helpers/misbehaving-api.js';
import { prepareAnswers } from './answer-shapes.js';
import { answering, type AnswerPlan } from './hostile-answers.js';
import { materialise, type InputSpec, type LineSpec } from './hostile-events.js';
import { ALLOWED_DOMAINS } from './hostile-names.js';
import { deepText, hostileBytes } from './hostile-values.js';
import { checkRun, expectationsOf, type Limits, type RunResult } from './oracle.js';

const KIB = 1024;

/** The limits of the fuzz config, small so that the generated inputs cross them often. */
export const FUZZ_LIMITS: Limits = {
  maxRecordBytes: 64 * KIB,
  maxJsonDepth: 64,
  // The head kept of an over-long line is 64 KiB; each invalid UTF-8 byte becomes U+FFFD (3 bytes).
  maxRawEventBytes: 3 * 64 * KIB,
};

/** Overrides of the harness config for fuzz runs: fast retries, short timeouts, small limits. */
export function fuzzOverrides(options: {
  maxResponseBytes: number;
  readTimeoutMs: number;
  logLevel?: string;
}): Json {
  return {
    enrich: {
      allowed_domains: ALLOWED_DOMAINS,
      max_response_bytes: options.maxResponseBytes,
      request_timeout: options.readTimeoutMs / 1000,
      connect_timeout_ms: 2_000,
      batch_linger_ms: 2,
      retry: { max_retries: 2, initial_delay_ms: 5, max_delay_ms: 20, jitter: 0, retry_after_cap_ms: 50 },
    },
    runtime: {
      max_record_bytes: FUZZ_LIMITS.maxRecordBytes,
      max_json_depth: FUZZ_LIMITS.maxJsonDepth,
      commit_interval_ms: 20,
      log_level: options.logLevel ?? 'silent',
    },
  };
}

export interface FuzzCase {
  input: InputSpec;
  plan: AnswerPlan;
  /** Appended to the generated lines: valid events this large, a value nested 10,000 deep, plain edits. */
  bulk?: { giantLines: number[]; copies: number };
}

const plainEdit = (pageId: number): LineSpec => ({
  kind: 'edit',
  pageId,
  shape: 'stored',
  recent: false,
  mutations: [],
  bytes: undefined,
  replaced: undefined,
});

function withBulk(c: FuzzCase): InputSpec {
  if (!c.bulk) return c.input;
  const giants = c.bulk.giantLines.map((bytes): LineSpec => ({
    ...plainEdit(1),
    mutations: [{ op: 'size', bytes }],
  }));
  const deep: LineSpec = { ...plainEdit(2), replaced: hostileBytes(Buffer.from(deepText(10_000, 'mixed'))) };
  const copies = Array.from({ length: c.bulk.copies }, (_, i) => plainEdit(1 + (i % 4)));
  return { ...c.input, lines: [...c.input.lines, ...giants, deep, ...copies] };
}

/** Figures over all runs of a property, for the report. */
export class FuzzStats {
  runs = 0;
  lines = 0;
  nonBlank = 0;
  inputBytes = 0;
  largestLine = 0;
  outputs = 0;
  errors = 0;
  dropped = 0;
  requests = 0;
  peakRssKiB = 0;
  readonly errorTypes: Record<string, number> = {};

  add(
    m: { lines: Buffer[]; file: Buffer },
    nonBlank: number,
    verdict: { outcomes: { outputs: number; errors: number; dropped: number } },
    requests: number,
    errorTypes: Iterable<string>,
  ): void {
    this.runs += 1;
    this.lines += m.lines.length;
    this.nonBlank += nonBlank;
    this.inputBytes += m.file.length;
    this.largestLine = Math.max(this.largestLine, ...m.lines.map((l) => l.length));
    this.outputs += verdict.outcomes.outputs;
    this.errors += verdict.outcomes.errors;
    this.dropped += verdict.outcomes.dropped;
    this.requests += requests;
    for (const t of errorTypes) this.errorTypes[t] = (this.errorTypes[t] ?? 0) + 1;
  }

  toString(): string {
    const types = Object.entries(this.errorTypes)
      .sort(([, a], [, b]) => b - a)
      .map(([t, n]) => `${t}=${n}`)
      .join(' ');
    return (
      `runs=${this.runs} lines=${this.lines} non_blank=${this.nonBlank} input_bytes=${this.inputBytes} ` +
      `largest_line=${this.largestLine} outputs=${this.outputs} error_events=${this.errors} dropped=${this.dropped} ` +
      `api_requests=${this.requests}${this.peakRssKiB ? ` peak_rss_kib=${this.peakRssKiB}` : ''} error_types: ${types}`
    );
  }
}

const silent = pino({ level: 'silent' });

export interface Prepared {
  api: MisbehavingApi;
  dir: string;
  paths: ReturnType<typeof jobPaths>;
  m: ReturnType<typeof materialise>;
}

export async function prepare(c: FuzzCase): Promise<Prepared> {
  await prepareAnswers();
  const api = await MisbehavingApi.start({ deletedPageShape: c.plan.deletedPageShape });
  const dir = await mkdtemp(join(tmpdir(), 'fuzz-'));
  const paths = jobPaths(dir);
  const m = materialise(withBulk(c), api.origin);
  api.addRevision(...m.store);
  api.setFallback(answering(c.plan, m.store, api.origin));
  await writeFile(paths.input, m.file);
  return { api, dir, paths, m };
}

export async function finish(
  prepared: Prepared,
  result: RunResult,
  stats: FuzzStats,
  mustEnrich?: ReadonlyMap<number, Record<string, string>>,
): Promise<void> {
  const expected = await expectationsOf(prepared.m, FUZZ_LIMITS);
  const verdict = await checkRun(expected, result, FUZZ_LIMITS, { mustEnrich });
  const types = result.errorLines.map((l) => {
    try {
      return String((JSON.parse(l) as Json).error_type);
    } catch {
      return 'unparsable';
    }
  });
  stats.add(prepared.m, expected.length, verdict, result.requests.length, types);
  if (verdict.violations.length > 0) {
    throw new Error(
      `${verdict.violations.length} violation(s):\n  - ${verdict.violations.slice(0, 20).join('\n  - ')}`,
    );
  }
}

/**
 * Errors nobody handled while a run was going (an `error` event without a listener, a rejected
 * promise nobody awaited): in the CLI each of them kills the process. They are taken from the
 * test runner for the run's time, so that they fail the run (and fast-check shrinks it) instead of
 * the whole test at some later moment.
 */
function captureStrayErrors(): () => Promise<unknown[]> {
  const caught: unknown[] = [];
  const onError = (err: unknown) => void caught.push(err);
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const saved = events.map((e) => process.rawListeners(e) as Array<(...args: unknown[]) => void>);
  for (const e of events) {
    process.removeAllListeners(e);
    process.on(e, onError);
  }
  return async () => {
    // Let what the run left behind settle (a destroyed stream reports its error on a later tick).
    for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    events.forEach((e, i) => {
      process.off(e, onError);
      for (const listener of saved[i]!) process.on(e, listener);
    });
    return caught;
  };
}

/** The case through `runPageContentChangeJob` in this process. */
export async function runInProcess(
  c: FuzzCase,
  stats: FuzzStats,
  options: {
    maxResponseBytes: number;
    readTimeoutMs: number;
    mustEnrich?: (c: FuzzCase) => Map<number, Record<string, string>>;
  },
): Promise<void> {
  const prepared = await prepare(c);
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).join();
  const release = captureStrayErrors();
  let released = false;
  try {
    const { summary, exitCode } = await runPageContentChangeJob(
      jobConfig(prepared.paths, prepared.api.url, fuzzOverrides(options)),
      { logger: silent, signals: [] },
    );
    released = true;
    const stray = await release();
    if (stray.length > 0) {
      const first = stray[0] as Error;
      throw new Error(
        `${stray.length} unhandled error(s) during the run, each fatal to the CLI process: ${first?.stack ?? String(first)}`,
      );
    }
    if (Object.getOwnPropertyNames(Object.prototype).join() !== prototypeKeys || 'polluted' in {}) {
      throw new Error('Object.prototype was modified by the run (prototype pollution)');
    }
    const result: RunResult = {
      exitCode,
      ending: summary.failure,
      counts: { records: summary.records, ...summary.outcomes, unfinished: summary.unfinished },
      outputLines: await readLines(prepared.paths.output),
      errorLines: await readLines(prepared.paths.errors),
      requests: prepared.api.requests,
    };
    await finish(prepared, result, stats, options.mustEnrich?.(c));
  } finally {
    if (!released) await release();
    await prepared.api.close();
    await rm(prepared.dir, { recursive: true, force: true });
  }
}

export interface FuzzSettings {
  runs: number;
  timeLimitMs: number;
  hangMs: number;
  seed: number | undefined;
  path: string | undefined;
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a non-negative number, not ${JSON.stringify(raw)}`);
  return n;
}

/** The suite's bounds, unless the environment asks for a longer (or a replayed) run. */
export function fuzzSettings(defaults: { runs: number; seconds: number }): FuzzSettings {
  const runs = envNumber('FUZZ_RUNS');
  const seconds = envNumber('FUZZ_SECONDS');
  return {
    runs: runs ?? (seconds !== undefined ? 1_000_000_000 : defaults.runs),
    // FUZZ_RUNS alone asks for that many runs, however long they take.
    timeLimitMs: (seconds ?? (runs !== undefined ? 24 * 3600 : defaults.seconds)) * 1000,
    hangMs: (envNumber('FUZZ_HANG_SECONDS') ?? 120) * 1000,
    seed: envNumber('FUZZ_SEED'),
    path: process.env.FUZZ_PATH || undefined,
  };
}

/**
 * `fc.assert` with at most `settings.runs` runs and no new run after `settings.timeLimitMs`
 * (fast-check's `interruptAfterTimeLimit`, which also bounds shrinking). A run still going when the
 * time is up is not judged by fast-check, so it is awaited here: a run that does not end within
 * `hangMs` fails the test, as does one that fails after the interruption.
 */
export async function assertFuzzProperty<T>(
  t: TestContext,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  settings: FuzzSettings,
): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  const late: string[] = [];
  const property = fc.asyncProperty(arbitrary, (value) => {
    const run = predicate(value);
    const tracked = run.then(
      () => undefined,
      (err: unknown) =>
        late.push(`${String((err as Error)?.message ?? err)}\ninput: ${fc.stringify(value).slice(0, 4000)}`),
    );
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
    return run;
  });
  t.diagnostic(
    `fast-check: numRuns=${settings.runs} time limit=${settings.timeLimitMs} ms${settings.seed !== undefined ? ` seed=${settings.seed}` : ''}`,
  );
  let failure: unknown;
  try {
    await fc.assert(property, {
      numRuns: settings.runs,
      ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
      ...(settings.path !== undefined ? { path: settings.path } : {}),
      plugins: [fc.interruptAfterTimeLimit(settings.timeLimitMs), fc.timeout(settings.hangMs)],
      includeErrorInReport: true,
    });
  } catch (err) {
    failure = err;
  }
  if (pending.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>(
      (resolve) => (timer = setTimeout(() => resolve('hung'), settings.hangMs)),
    );
    const outcome = await Promise.race([Promise.all(pending).then(() => 'done' as const), hung]);
    clearTimeout(timer);
    if (outcome === 'hung' && failure === undefined) {
      throw new Error(`a run was still going ${settings.hangMs} ms after the time limit (a hang)`);
    }
  }
  if (failure !== undefined) throw failure;
  // fast-check judged every run that failed before the time limit; these ended after it.
  if (late.length > 0) {
    throw new Error(`a run interrupted by the time limit failed afterwards:\n${late[late.length - 1]}`);
  }
}
