/**
 * A stand-in Action API for benchmarks, run as its own process so that its CPU is not the service's.
 * Every revision id exists, with a `main` wikitext slot (deterministic per id) in MediaWiki 1.39's
 * formatversion=2 shape (bench/api-answer.ts). Unlike a bare stub it behaves like an app server pool:
 *
 * - latency: each request is held for a log-normal time given its median and 99th percentile, drawn
 *   from a seeded generator in the order requests are admitted (so a run's draws are reproducible);
 * - concurrency: at most CONCURRENCY requests are served at once; later ones wait in a FIFO queue;
 * - result size: like `$wgAPIMaxResultSize`, an answer stops before the revision whose content would
 *   take it over MAX_RESULT_BYTES and says `continue: {rvcontinue}`; revisions are answered in id
 *   order, as MediaWiki does. Simplification: an answer always carries at least one revision, even
 *   one larger than the limit (MediaWiki would answer none).
 *
 * Environment:
 *   CONTENT_BYTES       bytes of every revision's content, or `corpus`: bench/corpus.ts's size per id (1000)
 *   LARGE_REV_IDS       `from-to`: revision ids in this range have LARGE_CONTENT_BYTES instead (unset)
 *   LARGE_CONTENT_BYTES content bytes of those revisions (10000000)
 *   LATENCY_MEDIAN_MS   median service time; 0: answer at once (0)
 *   LATENCY_P99_MS      99th percentile of the service time (4 × the median)
 *   CONCURRENCY         requests served at once (16)
 *   MAX_RESULT_BYTES    content bytes per answer before it continues (8 MiB, MediaWiki's default)
 *   SEED                seed of the latency draws (1)
 *
 * Prints its port on the first line of standard output. On SIGTERM prints `cpu <µs>` (user + system
 * since it began listening) and `stats <json>` (SimulatorStats), then exits. Exits as well, without a
 * word, when its standard input closes.
 */
import { createServer, type ServerResponse } from 'node:http';
import { seeded } from '../test/helpers/random.js';
import { answerBody } from './api-answer.js';
import { contentBytesFor } from './corpus.js';

export interface SimulatorStats {
  requests: number;
  /** Ids asked for, counted once per batch (a continuation repeats them). */
  revisions_requested: number;
  /** Revisions per batch: revisions_requested / the requests that were not continuations. */
  mean_batch_size: number;
  /** Revisions answered per request (below mean_batch_size only when answers continue). */
  mean_revisions_per_request: number;
  /** Requests answered with `continue` (cut by MAX_RESULT_BYTES). */
  continued: number;
  max_concurrent: number;
  max_queued: number;
  mean_queue_wait_ms: number;
  mean_service_ms: number;
}

const env = process.env;
const contentSetting = env.CONTENT_BYTES ?? '1000';
const largeRange = (env.LARGE_REV_IDS ?? '').split('-').map(Number);
const largeBytes = Number(env.LARGE_CONTENT_BYTES ?? 10_000_000);
const median = Number(env.LATENCY_MEDIAN_MS ?? 0);
const p99 = Number(env.LATENCY_P99_MS ?? median * 4);
const concurrency = Number(env.CONCURRENCY ?? 16);
const maxResultBytes = Number(env.MAX_RESULT_BYTES ?? 8 * 1024 * 1024);
const random = seeded(Number(env.SEED ?? 1));

function bytesFor(revId: number): number {
  const [from, to] = largeRange;
  if (from !== undefined && to !== undefined && revId >= from && revId <= to) return largeBytes;
  return contentSetting === 'corpus' ? contentBytesFor(revId) : Number(contentSetting);
}

// Log-normal: ln(latency) ~ N(mu, sigma); the 99th percentile is 2.326 sigma above the median.
const mu = Math.log(median);
const sigma = median > 0 ? Math.log(Math.max(p99, median) / median) / 2.3263 : 0;

function serviceTimeMs(): number {
  if (median <= 0) return 0;
  const u = 1 - random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  return Math.exp(mu + sigma * z);
}

/**
 * The answer to `revids` (ascending, from `rvcontinue` on), cut before the revision that would take
 * its content over the limit; formatversion=2 leaves `batchcomplete` out of a continued answer.
 */
function answer(
  revIds: number[],
  rvcontinue: number,
): { body: string; answered: number; continued: boolean } {
  const ids = [...new Set(revIds)].sort((a, b) => a - b).filter((id) => id >= rvcontinue);
  const included: number[] = [];
  let bytes = 0;
  for (const id of ids) {
    if (included.length > 0 && bytes + bytesFor(id) > maxResultBytes) break;
    bytes += bytesFor(id);
    included.push(id);
  }
  const body = answerBody(included, bytesFor);
  const next = ids[included.length];
  if (next === undefined) return { body, answered: included.length, continued: false };
  const complete = '{"batchcomplete":true,';
  if (!body.startsWith(complete)) throw new Error('api-answer.ts changed its shape');
  const cont = JSON.stringify({ rvcontinue: String(next), continue: '||' });
  return {
    body: `{"continue":${cont},${body.slice(complete.length)}`,
    answered: included.length,
    continued: true,
  };
}

const counters = { requests: 0, revisions: 0, answered: 0, continued: 0, queueWaitMs: 0, serviceMs: 0 };
let active = 0;
let maxActive = 0;
let maxQueued = 0;
const queue: Array<() => void> = [];

function release(): void {
  const next = queue.shift();
  if (next) next();
  else active--;
}

/** Resolves when a slot is free; FIFO. */
function acquire(): Promise<void> {
  if (active < concurrency) {
    active++;
    maxActive = Math.max(maxActive, active);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    // A released slot passes straight to the next waiter: `active` stays as it is.
    queue.push(resolve);
    maxQueued = Math.max(maxQueued, queue.length);
  });
}

async function serve(url: URL, res: ServerResponse): Promise<void> {
  const arrived = performance.now();
  await acquire();
  const admitted = performance.now();
  let released = false;
  const done = () => {
    if (released) return;
    released = true;
    counters.serviceMs += performance.now() - admitted;
    release();
  };
  // A client that goes away frees its slot too.
  res.on('close', done);
  counters.queueWaitMs += admitted - arrived;
  const delay = serviceTimeMs();
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const revIds = (url.searchParams.get('revids') ?? '').split('|').filter(Boolean).map(Number);
  const rvcontinue = Number(url.searchParams.get('rvcontinue') ?? 0);
  const { body, answered, continued } = answer(revIds, rvcontinue);
  counters.requests++;
  counters.answered += answered;
  // Counted once per batch: continuations repeat the ids but request nothing new.
  if (rvcontinue === 0) counters.revisions += revIds.length;
  if (continued) counters.continued++;
  res
    .writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    .end(body, done);
}

const server = createServer((req, res) => {
  serve(new URL(req.url ?? '/', 'http://localhost'), res).catch((err: unknown) => {
    process.stderr.write(`api-simulator: ${String(err)}\n`);
    res.destroy();
  });
});
server.keepAliveTimeout = 60_000;

function stats(): SimulatorStats {
  const batches = counters.requests - counters.continued;
  const perRequest = (n: number) => (counters.requests > 0 ? n / counters.requests : 0);
  return {
    requests: counters.requests,
    revisions_requested: counters.revisions,
    mean_batch_size: batches > 0 ? counters.revisions / batches : 0,
    mean_revisions_per_request: perRequest(counters.answered),
    continued: counters.continued,
    max_concurrent: maxActive,
    max_queued: maxQueued,
    mean_queue_wait_ms: perRequest(counters.queueWaitMs),
    mean_service_ms: perRequest(counters.serviceMs),
  };
}

// Counted from here: loading the module (tsx compiles it) is not serving.
let cpu0 = process.cpuUsage();
server.listen(0, '127.0.0.1', () => {
  cpu0 = process.cpuUsage();
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${address.port}\n`);
});
// Started by bench/api-simulator-process.ts with a pipe as standard input: when the bench process
// ends without a SIGTERM (killed, or its output cut by a closed pipe), the pipe closes and so does this.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`cpu ${cpu.user + cpu.system}\nstats ${JSON.stringify(stats())}\n`, () =>
    process.exit(0),
  );
});
