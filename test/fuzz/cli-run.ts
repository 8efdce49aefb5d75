/**
 * One generated case through the built CLI as a child process (`node bin/mw-enrich.js`), reading
 * a plain file, a gzip file or standard input, writing outputs to a file or standard output; its
 * peak RSS is sampled from /proc while it runs.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseSummaryLine, spawnCli } from '../helpers/cli.js';
import { jobConfig, readLines } from '../helpers/job-harness.js';
import { finish, fuzzOverrides, prepare, type FuzzCase, type FuzzStats } from './fuzz-run.js';
import type { RunResult } from './oracle.js';

export interface CliIo {
  source: 'file' | 'gzip' | 'stdin';
  sink: 'file' | 'stdout';
}

/** Peak resident set of a process: VmHWM from /proc, polled until it exits (Linux). */
function watchPeakRss(pid: number): { stop(): number } {
  let peak = 0;
  const sample = async () => {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
      if (match) peak = Math.max(peak, Number(match[1]));
    } catch {
      // The process has exited.
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), 20);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** The case through the CLI; its peak RSS must stay under `maxRssKiB`. */
export async function runCli(
  t: TestContext,
  c: FuzzCase,
  io: CliIo,
  stats: FuzzStats,
  options: { maxResponseBytes: number; readTimeoutMs: number; maxRssKiB: number },
): Promise<void> {
  const prepared = await prepare(c);
  try {
    const { paths } = prepared;
    const inputPath = io.source === 'gzip' ? `${paths.input}.gz` : paths.input;
    if (io.source === 'gzip') await writeFile(inputPath, gzipSync(prepared.m.file));
    const doc = jobConfig({ ...paths, input: inputPath }, prepared.api.url, {
      ...fuzzOverrides({ ...options, logLevel: 'error' }),
      stream_manager: {
        ...(io.source === 'stdin' ? { source: { connector: 'stdin', options: undefined } } : {}),
        ...(io.sink === 'stdout' ? { sink: { connector: 'stdout', options: undefined } } : {}),
      },
    });
    const config = join(prepared.dir, 'config.json');
    await writeFile(config, JSON.stringify(doc));
    const run = spawnCli(t, ['page-content-change', '--config', config], {
      ...(io.source === 'stdin' ? { input: prepared.m.file } : {}),
    });
    const rss = watchPeakRss(run.pid);
    const { code, signal } = await run.exited;
    const peakKiB = rss.stop();
    stats.peakRssKiB = Math.max(stats.peakRssKiB, peakKiB);
    const summary = parseSummaryLine(run.stderr());
    const n = (key: string) => summary?.counts[key] ?? 0;
    const result: RunResult = {
      exitCode: code,
      ending: [
        signal && `signal ${signal}`,
        summary ? undefined : 'no summary line',
        run.stderr().slice(-2000),
      ]
        .filter(Boolean)
        .join('; '),
      counts: summary && {
        records: n('records'),
        enriched: n('enriched'),
        passed: n('passed'),
        dropped: n('dropped'),
        failed: n('failed'),
        unfinished: n('unfinished'),
      },
      outputLines:
        io.sink === 'stdout'
          ? run
              .stdout()
              .split('\n')
              .filter((l) => l.length > 0)
          : await readLines(paths.output),
      errorLines: await readLines(paths.errors),
      requests: prepared.api.requests,
    };
    if (peakKiB > options.maxRssKiB) {
      throw new Error(
        `peak RSS ${peakKiB} KiB is over ${options.maxRssKiB} KiB (input ${prepared.m.file.length} bytes)`,
      );
    }
    if (peakKiB === 0) throw new Error('no RSS sample of the CLI process was taken');
    await finish(prepared, result, stats);
  } finally {
    await prepared.api.close();
    await rm(prepared.dir, { recursive: true, force: true });
  }
}
