/**
 * Memory of a long Kafka run: N small page_change events (default 500,000) are written to a fresh
 * topic, the built CLI enriches them Kafka → Kafka against the stub Action API (another process),
 * and the service's RSS (/proc/<pid>/status VmRSS), V8 heap and progress (/metrics) are sampled
 * every second. Prints RSS and heap at 10, 25, 50, 75 and 100 % of the run, and events/s. A
 * benchmark, not a test: it fails only when the run does (exit status, error events, a stall).
 *
 *   npm run bench:kafka-rss
 *   KAFKA_RSS_EVENTS=120000 KAFKA_RSS_NODE_ARGS='--max-semi-space-size=16' MALLOC_ARENA_MAX=2 npm run bench:kafka-rss
 *
 * Environment: KAFKA_RSS_EVENTS (events), KAFKA_RSS_PAGES (distinct pages, default 50,000),
 * KAFKA_RSS_CONTENT_BYTES (content per revision, default 500), KAFKA_RSS_PARTITIONS (default 4),
 * KAFKA_RSS_PAD_BYTES (a `comment` of that many bytes in every input, for large records),
 * KAFKA_RSS_NODE_ARGS (flags for the service's node), KAFKA_RSS_SAMPLES (a file for every sample as
 * CSV); MALLOC_ARENA_MAX and the like pass through to the service. The broker is the tests'
 * (`KAFKA_PORT`, started when it does not answer); the topics are deleted at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopics } from '../src/connectors/kafka/index.js';
import { ensureBuilt } from '../test/helpers/cli.js';
import { pageChangeEvent } from '../test/helpers/events.js';
import { uniqueName } from '../test/helpers/kafka.js';
import { freePort } from '../test/helpers/ports.js';
import { produceLines } from './kafka-kcat.js';
import {
  deleteTopics,
  kafkaServiceConfig,
  metricValues,
  outcomeTotals,
  startApi,
  statusBytes,
  withBroker,
} from './kafka-tools.js';
import { spawnService } from './service-process.js';

const EVENTS = Number(process.env.KAFKA_RSS_EVENTS ?? 500_000);
const PAGES = Number(process.env.KAFKA_RSS_PAGES ?? 50_000);
const CONTENT_BYTES = Number(process.env.KAFKA_RSS_CONTENT_BYTES ?? 500);
const PARTITIONS = Number(process.env.KAFKA_RSS_PARTITIONS ?? 4);
const PAD_BYTES = Number(process.env.KAFKA_RSS_PAD_BYTES ?? 0);
const NODE_ARGS = (process.env.KAFKA_RSS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const SAMPLES_FILE = process.env.KAFKA_RSS_SAMPLES;
/** No progress for this long means the run is stuck. */
const STALL_MS = 120_000;
const FRACTIONS = [0.1, 0.25, 0.5, 0.75, 1];
const MB = 1024 * 1024;

interface Sample {
  /** Seconds since the service started. */
  readonly t: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  /** V8 heap after the latest full (mark-compact) collection: the live heap; 0 before the first. */
  readonly liveHeapBytes: number;
  /** Inputs with an outcome so far, by kind. */
  readonly outcomes: Record<string, number>;
  readonly done: number;
}

/** Page changes whose revision ids grow with the index; one object reused, serialised per event. */
function* events(): Generator<string> {
  const event = pageChangeEvent();
  const meta = event.meta as Record<string, unknown>;
  const page = event.page as Record<string, unknown>;
  const revision = event.revision as Record<string, unknown>;
  const slot = (revision.content_slots as Record<string, Record<string, unknown>>).main!;
  const dt = new Date().toISOString();
  event.dt = dt;
  meta.dt = dt;
  revision.rev_dt = dt;
  if (PAD_BYTES > 0) event.comment = 'x'.repeat(PAD_BYTES);
  for (let i = 0; i < EVENTS; i++) {
    const pageId = 1 + (i % PAGES);
    const revId = 1_000_000 + i;
    meta.id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    meta.request_id = `bench-${i}`;
    meta.uri = `https://en.wikipedia.org/wiki/Page_${pageId}`;
    page.page_id = pageId;
    page.page_title = `Page_${pageId}`;
    revision.rev_id = revId;
    revision.rev_parent_id = revId - 1;
    slot.origin_rev_id = revId;
    yield `${JSON.stringify({ wiki_id: 'enwiki', page_id: pageId })}\t${JSON.stringify(event)}\n`;
  }
}

async function sample(
  pid: number,
  metricsPort: number,
  t: number,
  liveHeapBytes: number,
): Promise<Sample | undefined> {
  let body: string;
  try {
    body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  } catch {
    return undefined; // not listening yet, or already stopping
  }
  const outcomes = outcomeTotals(body);
  const one = (name: string) => [...metricValues(body, name).values()][0] ?? 0;
  return {
    t,
    rssBytes: await statusBytes(pid, 'VmRSS'),
    heapUsedBytes: one('mw_enrich_nodejs_heap_size_used_bytes'),
    externalBytes: one('mw_enrich_nodejs_external_memory_bytes'),
    liveHeapBytes,
    outcomes,
    done: Object.values(outcomes).reduce((a, b) => a + b, 0),
  };
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

async function main(bootstrap: string): Promise<number> {
  await ensureBuilt();
  const prefix = `${uniqueName('bench-rss')}.`;
  const input = `${prefix}mediawiki.page_change.v1`;
  const topics = [
    input,
    `${prefix}mediawiki.page_content_change.v1`,
    `${prefix}mw-page-content-change-enrich.error`,
  ];
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-kafka-rss-'));
  const stub = await startApi(CONTENT_BYTES);
  let service: ChildProcess | undefined;
  try {
    await createTopics(
      bootstrap,
      topics.map((topic) => ({ topic, partitions: PARTITIONS })),
    );
    const produceStart = performance.now();
    await produceLines(bootstrap, input, events());
    console.log(
      `node ${process.version}; ${EVENTS} events (${PAGES} pages, ${CONTENT_BYTES} B content, ${PAD_BYTES} B padding) ` +
        `on ${PARTITIONS} partitions, ` +
        `produced in ${((performance.now() - produceStart) / 1000).toFixed(1)} s; service node args: [${NODE_ARGS.join(' ')}], ` +
        `MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 'unset'}`,
    );

    const metricsPort = await freePort();
    const config = join(dir, 'service.json');
    await writeFile(
      config,
      kafkaServiceConfig({
        bootstrap,
        inputTopic: input,
        prefix,
        consumerGroup: uniqueName('bench-rss'),
        apiPort: stub.port,
        metricsPort,
        purpose: 'kafka rss',
      }),
    );

    const started = performance.now();
    // --trace-gc prints every collection on standard output (the service writes nothing else there
    // with file-less sinks): heapUsed sampled at random moments includes garbage, the heap after a
    // mark-compact does not.
    const { child, exited, stderr } = spawnService(config, {
      nodeArgs: ['--trace-gc', ...NODE_ARGS],
      stdout: 'pipe',
    });
    let liveHeapBytes = 0;
    let stdoutTail = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (stdoutTail + d).split('\n');
      stdoutTail = lines.pop() ?? '';
      for (const line of lines) {
        const after = /Mark-Compact.*? -> ([\d.]+) \([\d.]+\) MB/.exec(line)?.[1];
        if (after !== undefined) liveHeapBytes = Number(after) * MB;
      }
    });
    service = child;
    let running = true;
    void exited.then(() => (running = false));

    const samples: Sample[] = [];
    let progressAt = performance.now();
    while (running) {
      await sleep(1000);
      const s = await sample(child.pid!, metricsPort, (performance.now() - started) / 1000, liveHeapBytes);
      if (!s) continue;
      if (s.done > (samples.at(-1)?.done ?? 0)) progressAt = performance.now();
      samples.push(s);
      if (s.done >= EVENTS) break;
      if (performance.now() - progressAt > STALL_MS) {
        console.error(`no progress for ${STALL_MS / 1000} s at ${s.done} of ${EVENTS}`);
        break;
      }
    }
    const finished = samples.at(-1);
    if (running) child.kill('SIGTERM');
    const [code, signal] = await exited;

    if (SAMPLES_FILE) {
      await writeFile(
        SAMPLES_FILE,
        'seconds,done,rss_mb,heap_used_mb,live_heap_mb,external_mb\n' +
          samples
            .map((s) =>
              [
                s.t.toFixed(1),
                s.done,
                ...[s.rssBytes, s.heapUsedBytes, s.liveHeapBytes, s.externalBytes].map((b) =>
                  (b / MB).toFixed(1),
                ),
              ].join(','),
            )
            .join('\n') +
          '\n',
      );
    }
    const firstActive = samples.find((s) => s.done > 0);
    for (const fraction of FRACTIONS) {
      const s = samples.find((x) => x.done >= fraction * EVENTS);
      if (!s) continue;
      console.log(
        `${`${fraction * 100} %`.padStart(6)} ${String(s.done).padStart(8)} events at ${s.t.toFixed(0).padStart(4)} s: ` +
          `RSS ${mb(s.rssBytes).padStart(7)}, heap used ${mb(s.heapUsedBytes).padStart(7)}, ` +
          `live heap ${mb(s.liveHeapBytes).padStart(7)}, external ${mb(s.externalBytes).padStart(6)}`,
      );
    }
    const peak = samples.reduce((m, s) => Math.max(m, s.rssBytes), 0);
    if (finished && firstActive && finished.t > firstActive.t) {
      const rate = (finished.done - firstActive.done) / (finished.t - firstActive.t);
      console.log(`peak RSS ${mb(peak)}; ${Math.round(rate)} events/s (from the first outcome to the last)`);
    }

    const problems: string[] = [];
    if (code !== 0) problems.push(`service exited with ${code ?? signal}`);
    if (!finished || finished.done < EVENTS)
      problems.push(`only ${finished?.done ?? 0} of ${EVENTS} events done`);
    const notEnriched = Object.entries(finished?.outcomes ?? {}).filter(
      ([k, v]) => k !== 'enriched' && v > 0,
    );
    if (notEnriched.length > 0)
      problems.push(`outcomes other than enriched: ${JSON.stringify(Object.fromEntries(notEnriched))}`);
    if (problems.length === 0) return 0;
    console.error(`${problems.join('; ')}\n--- service stderr (end):\n${stderr().slice(-4000)}`);
    return 1;
  } finally {
    if (service && service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
    stub.child.kill('SIGTERM');
    await deleteTopics(bootstrap, topics).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await withBroker(main);
