/**
 * Throughput against an Action API that takes its time: the realistic corpus, file → file, with the
 * simulator answering after a log-normal delay (median 50 ms, p99 200 ms) and serving 16 requests at
 * once. The same job twice: with the configuration's defaults (batch_size 50, max_concurrent_requests
 * 8, batch_linger_ms 5, runtime.max_in_flight 1000), then with one revision per request (batch_size
 * 1), as the pyflink job asks, under the same request budget. The batch-1 side is slower, so it gets
 * fewer events (a prefix of the same corpus); events/s are compared.
 *
 * In process (runPageContentChangeJob), not the CLI: throughput here is bound by the API's latency
 * and the request budget, not by CPU, and the job's summary gives the outcomes without parsing.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_MEDIAWIKI_OPTIONS } from '../src/mediawiki/options.js';
import { startSimulator } from './api-simulator-process.js';
import { builtService } from './built-service.js';
import { generateCorpus } from './corpus.js';
import { filePaths, fileJobConfig } from './job-config.js';
import { countLines } from './line-count.js';

export const LATENCY = { LATENCY_MEDIAN_MS: 50, LATENCY_P99_MS: 200, CONCURRENCY: 16 } as const;

export interface LatencyRow {
  scenario: string;
  batch_size: number;
  events: number;
  enriched: number;
  seconds: number;
  events_per_s: number;
  requests: number;
  mean_batch_size: number;
  api_max_concurrent: number;
  api_mean_queue_wait_ms: number;
  api_mean_service_ms: number;
}

/** `enrich` is merged over the configuration's defaults. */
export async function runLatencyScenario(
  name: string,
  events: number,
  enrich: Record<string, unknown> = {},
): Promise<LatencyRow> {
  const { lines, stats } = generateCorpus(events);
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-bench-latency-'));
  const api = await startSimulator({ CONTENT_BYTES: 'corpus', ...LATENCY });
  try {
    const paths = filePaths(dir);
    await writeFile(paths.input, `${lines.join('\n')}\n`);
    const config = fileJobConfig(paths, api.endpoint, { enrich });
    const { runPageContentChangeJob } = (await builtService()).main;
    const t0 = performance.now();
    const { summary } = await runPageContentChangeJob(config, {
      logger: pino({ level: 'silent' }),
      signals: [],
    });
    const seconds = (performance.now() - t0) / 1000;
    const sim = await api.stop();
    const errors = await readFile(paths.errors, 'utf8');
    const written = await countLines(paths.output);
    const { enriched, passed } = summary.outcomes;
    if (
      enriched !== stats.fetched ||
      passed !== events - stats.fetched ||
      written !== events ||
      errors !== '' ||
      sim.revisions_requested === 0
    ) {
      throw new Error(
        `${name}: expected ${stats.fetched} enriched and ${events - stats.fetched} passed, ${events} lines; ` +
          `got ${JSON.stringify(summary)}, ${written} lines\n${errors.slice(0, 2000)}`,
      );
    }
    return {
      scenario: name,
      batch_size: Number(enrich.batch_size ?? DEFAULT_MEDIAWIKI_OPTIONS.batchSize),
      events,
      enriched,
      seconds: Math.round(seconds * 10) / 10,
      events_per_s: Math.round(events / seconds),
      requests: sim.requests,
      mean_batch_size: Math.round(sim.mean_batch_size * 10) / 10,
      api_max_concurrent: sim.max_concurrent,
      api_mean_queue_wait_ms: Math.round(sim.mean_queue_wait_ms * 10) / 10,
      api_mean_service_ms: Math.round(sim.mean_service_ms * 10) / 10,
    };
  } finally {
    await api.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export interface LatencySection {
  rows: LatencyRow[];
  /** events/s with batching / events/s with one revision per request. */
  batching_speedup: number;
}

/** `batchedEvents` with the defaults, `unbatchedEvents` with batch_size 1. */
export async function runLatencyScenarios(
  batchedEvents: number,
  unbatchedEvents: number,
): Promise<LatencySection> {
  const batched = await runLatencyScenario('realistic corpus, API 50 ms, defaults (batch 50)', batchedEvents);
  const unbatched = await runLatencyScenario('realistic corpus, API 50 ms, batch 1', unbatchedEvents, {
    batch_size: 1,
  });
  return {
    rows: [batched, unbatched],
    batching_speedup: Math.round((batched.events_per_s / unbatched.events_per_s) * 10) / 10,
  };
}
