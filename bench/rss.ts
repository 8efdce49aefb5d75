/**
 * Resident memory of the service as users run it: the built CLI (`node bin/mw-enrich.js
 * page-content-change`) as a child process, file → file, against the API simulator (no latency) in
 * another process. /proc/<pid>/status is read every 250 ms: VmHWM (the kernel's peak RSS) and VmRSS;
 * with `progress`, `/metrics` too, once a second, for the events done and the V8 heap.
 *
 * Three runs: the realistic corpus; a burst of revisions with 10 MB of content among small ones;
 * and a long run of small events, its RSS printed at 10, 25, 50, 75 and 100 % of the events.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt, parseSummaryLine } from '../test/helpers/cli.js';
import { freePort } from '../test/helpers/ports.js';
import { startSimulator, type SimulatorSettings } from './api-simulator-process.js';
import { generateCorpus } from './corpus.js';
import { fixedEvent } from './fixed-events.js';
import { filePaths, fileJobConfig, type FileJobPaths } from './job-config.js';
import { countLines } from './line-count.js';
import { spawnService } from './service-process.js';

const MB = 1024 * 1024;
const POLL_MS = 250;

interface Sample {
  /** Seconds since the service started. */
  t: number;
  rssBytes: number;
  /** Inputs with an outcome so far (from /metrics); undefined without `progress`. */
  done?: number;
  heapUsedBytes?: number;
}

interface Expected {
  events: number;
  enriched: number;
  passed: number;
}

interface MeasuredRun {
  seconds: number;
  peakRssBytes: number;
  samples: Sample[];
}

async function procStatus(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return undefined; // exited
  }
}

/** The sum of a metric's series, by its name as written. */
function metricSum(body: string, name: string): number {
  let sum = 0;
  for (const line of body.split('\n')) {
    const match = /^(\w+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) sum += Number(match[2]);
  }
  return sum;
}

async function progressOf(port: number): Promise<{ done: number; heapUsed: number } | undefined> {
  try {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return {
      done: metricSum(body, 'mw_enrich_outcomes_total'),
      heapUsed: metricSum(body, 'mw_enrich_nodejs_heap_size_used_bytes'),
    };
  } catch {
    return undefined; // not serving yet, or stopped
  }
}

/**
 * Runs the CLI over `paths.input` to its end; throws unless it exits 0 with exactly the expected
 * outcomes, as many output lines as events and no error event.
 */
async function measureCli(
  name: string,
  paths: FileJobPaths,
  simulator: SimulatorSettings,
  expected: Expected,
  options: { enrich?: Record<string, unknown>; runtime?: Record<string, unknown>; progress?: boolean } = {},
): Promise<MeasuredRun> {
  await ensureBuilt();
  const api = await startSimulator(simulator);
  try {
    const metricsPort = options.progress ? await freePort() : undefined;
    const config = join(paths.input, '..', 'config.json');
    const runtime = { log_level: 'warn', metrics_port: metricsPort, ...options.runtime };
    await writeFile(
      config,
      JSON.stringify(fileJobConfig(paths, api.endpoint, { enrich: options.enrich, runtime })),
    );
    const started = performance.now();
    const { child, exited, stderr } = spawnService(config, { stderrTail: 50_000 });
    let running = true;
    void exited.then(() => (running = false));
    const samples: Sample[] = [];
    let peak = 0;
    for (let tick = 0; running; tick++) {
      const status = await procStatus(child.pid!);
      if (status) peak = Math.max(peak, status.hwm, status.rss);
      if (status && tick % (1000 / POLL_MS) === 0) {
        const sample: Sample = { t: (performance.now() - started) / 1000, rssBytes: status.rss };
        const progress = metricsPort === undefined ? undefined : await progressOf(metricsPort);
        if (progress) Object.assign(sample, { done: progress.done, heapUsedBytes: progress.heapUsed });
        samples.push(sample);
      }
      await Promise.race([sleep(POLL_MS), exited]);
    }
    const [code, signal] = await exited;
    const seconds = (performance.now() - started) / 1000;
    const counts = parseSummaryLine(stderr())?.counts ?? {};
    const errors = await readFile(paths.errors, 'utf8').catch(() => '');
    const lines = await countLines(paths.output).catch(() => 0);
    if (
      code !== 0 ||
      counts.enriched !== expected.enriched ||
      counts.passed !== expected.passed ||
      lines !== expected.events ||
      errors !== ''
    ) {
      throw new Error(
        `${name}: exit ${code ?? signal}, ${lines} output lines; expected ${JSON.stringify(expected)}\n` +
          `${errors.slice(0, 2000)}\n${stderr().slice(-4000)}`,
      );
    }
    return { seconds, peakRssBytes: peak, samples };
  } finally {
    await api.stop().catch(() => undefined);
  }
}

/** Writes `count` lines from `line(i)` in chunks, never holding more than about 1 MB of them. */
async function writeLines(path: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (let i = 0; i < count; i++) {
    chunk += `${line(i)}\n`;
    if (chunk.length < MB) continue;
    if (!out.write(chunk)) await once(out, 'drain');
    chunk = '';
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function inTempDir<T>(run: (paths: FileJobPaths) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-bench-rss-'));
  try {
    return await run(filePaths(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => Math.round(bytes / MB);

export interface PeakRow {
  scenario: string;
  events: number;
  seconds: number;
  peak_rss_mb: number;
}

/** (a) The realistic corpus, zero-latency API. */
export function realisticCorpusPeak(events: number): Promise<PeakRow> {
  return inTempDir(async (paths) => {
    const { lines, stats } = generateCorpus(events);
    await writeFile(paths.input, `${lines.join('\n')}\n`);
    const expected = { events, enriched: stats.fetched, passed: events - stats.fetched };
    const run = await measureCli('RSS, realistic corpus', paths, { CONTENT_BYTES: 'corpus' }, expected);
    return {
      scenario: 'realistic corpus',
      events,
      seconds: Math.round(run.seconds * 10) / 10,
      peak_rss_mb: mb(run.peakRssBytes),
    };
  });
}

export const LARGE_CONTENT_BYTES = 10_000_000;

/**
 * (b) `events` small edits (1 KB content) with a burst of `large` consecutive revisions of 10 MB in
 * the middle. With the defaults every limit already lets a 10 MB output through: inputs stay small
 * (runtime.max_record_bytes 10 MiB), each answer carries one 10 MB revision because the simulator
 * cuts answers at 8 MiB as MediaWiki does (enrich.max_response_bytes 64 MiB), enrich.max_content_size
 * is unset, and the file sink has no size limit.
 */
export function largeContentPeak(events: number, large: number): Promise<PeakRow & { large: number }> {
  return inTempDir(async (paths) => {
    const first = Math.floor((events - large) / 2) + 1;
    // Each event announces the size its revision has, as MediaWiki's do.
    const isLarge = (revId: number) => revId >= first && revId < first + large;
    await writeLines(paths.input, events, (i) =>
      fixedEvent(i, events, 1, isLarge(i + 1) ? LARGE_CONTENT_BYTES : 1_000),
    );
    const simulator = {
      CONTENT_BYTES: 1_000,
      LARGE_REV_IDS: `${first}-${first + large - 1}`,
      LARGE_CONTENT_BYTES,
    };
    const expected = { events, enriched: events, passed: 0 };
    const run = await measureCli('RSS, 10 MB revisions', paths, simulator, expected);
    return {
      scenario: `${large} revisions of 10 MB among ${events} small`,
      events,
      large,
      seconds: Math.round(run.seconds * 10) / 10,
      peak_rss_mb: mb(run.peakRssBytes),
    };
  });
}

export const LONG_RUN_FRACTIONS = [0.1, 0.25, 0.5, 0.75, 1];

export interface LongRun {
  events: number;
  seconds: number;
  events_per_s: number;
  peak_rss_mb: number;
  /** RSS and V8 heap used at the first sample at or past each fraction of the events. */
  at: Array<{ percent: number; done: number; seconds: number; rss_mb: number; heap_used_mb: number }>;
  /** Least-squares slope of RSS (MB) over events done, from 25 % of the events on, × 100,000. */
  rss_growth_mb_per_100k_events: number;
}

/** MB of RSS per event done: the least-squares line through the samples (0 with fewer than two). */
function slope(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const xs = samples.map((s) => s.done!);
  const ys = samples.map((s) => s.rssBytes / MB);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** (c) `events` small edits (1 KB content, 50,000 pages), written to the input file as a stream. */
export function longRun(events: number): Promise<LongRun> {
  return inTempDir(async (paths) => {
    await writeLines(paths.input, events, (i) => fixedEvent(i, 50_000));
    const expected = { events, enriched: events, passed: 0 };
    const run = await measureCli('RSS, long run', paths, { CONTENT_BYTES: 1_000 }, expected, {
      progress: true,
    });
    const progressed = run.samples.filter((s) => s.done !== undefined);
    const at = LONG_RUN_FRACTIONS.map((fraction) => {
      // The last sample may come before the final outcomes (/metrics stops with the process).
      const s = progressed.find((x) => x.done! >= fraction * events) ?? progressed.at(-1)!;
      return {
        percent: fraction * 100,
        done: s.done!,
        seconds: Math.round(s.t),
        rss_mb: mb(s.rssBytes),
        heap_used_mb: mb(s.heapUsedBytes ?? 0),
      };
    });
    const warm = progressed.filter((x) => x.done! >= 0.25 * events);
    return {
      events,
      seconds: Math.round(run.seconds),
      events_per_s: Math.round(events / run.seconds),
      peak_rss_mb: mb(run.peakRssBytes),
      at,
      rss_growth_mb_per_100k_events: Math.round(slope(warm) * 100_000 * 10) / 10,
    };
  });
}
