/**
 * Where the CPU of an event goes, stage by stage, in the built service (`dist/`, as it ships), for
 * the same 1 KB events (`fixedEvent`), each stage adding one part of the service to the one before:
 *
 *   floor     only what no implementation can skip (bench/floor.ts);
 *   handler   the job's handler alone on records from memory, its Action API fetcher replaced by one
 *             that answers at once (no HTTP, no answer to parse), 1,000 records at a time;
 *   runtime   the same job in the runtime: file source, window, per-page order, file sink, metrics;
 *   service   the whole service: the real fetcher, batching, HTTP to the API simulator (no latency,
 *             another process), the answers parsed.
 *
 * The runtime and service stages are measured from the moment their pipeline starts (`onStart`) to
 * the end of the run, so that their start-up (configuration, schema compiles) is not counted; the
 * handler stage uses a job made afresh for each turn (an empty run), so that its validators are no
 * warmer than those of the runs beside it. Each stage takes TURNS turns in alternation with the
 * others; the figures are medians. For the service the CPU is also split between the main thread and
 * the process's other threads (the collector's helpers, V8's background compiler, the file system's
 * thread pool), the main thread's from /proc/self/task/<pid>/schedstat (nanoseconds).
 *
 *   npm run bench:stages          (writes bench/results/<date>-stages[-…].json: the name carries any
 *                                  setting other than the default, but TURNS)
 *
 * Environment: EVENTS (20000), CONTENT_BYTES (1000), TURNS (3), MAX_IN_FLIGHT (the runtime's
 * `max_in_flight`, 1000 by default; the handler stage keeps as many records open at once).
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { pino } from 'pino';
import type { RunOptions, RunResult } from '../src/runtime/main.js';
import type { SourceRecord } from '../src/connectors/types.js';
import type { JobDefinition, JobInstance, RecordHandler } from '../src/jobs/contract.js';
import type { EnrichConfig } from '../src/jobs/page-content-change/config.js';
import type { RevisionContent, RevisionFetcher } from '../src/mediawiki/types.js';
import { startSimulator } from './api-simulator-process.js';
import { builtService } from './built-service.js';
import { pageChangeValidator } from './corpus.js';
import { fixedEvent } from './fixed-events.js';
import { measureFloor } from './floor.js';
import { filePaths, fileJobConfig, REPO_ROOT, SCHEMA_DIR } from './job-config.js';
import { formatTable } from './table.js';

const events = Number(process.env.EVENTS ?? 20_000);
const contentBytes = Number(process.env.CONTENT_BYTES ?? 1000);
const turns = Number(process.env.TURNS ?? 3);
const BATCH = 50;
/** `runtime.max_in_flight` (its default unless set); the handler stage keeps as many records open at once. */
const IN_FLIGHT = Number(process.env.MAX_IN_FLIGHT ?? 1000);

const {
  main: { runJob, runPageContentChangeJob },
  job: { pageContentChange, createEnrichmentJob },
} = await builtService();

const lines = Array.from({ length: events }, (_, i) => fixedEvent(i, 5000, 1, contentBytes));
const records: SourceRecord[] = lines.map((line, i) => ({
  partition: 'bench',
  offset: i,
  key: null,
  value: Buffer.from(line),
}));
const content = 'x'.repeat(contentBytes);

/** Answers every fetch at once with `content` in the main slot: the job without the Action API. */
const answeringFetcher: RevisionFetcher = {
  fetch: (request): Promise<RevisionContent> =>
    Promise.resolve({
      revId: request.revId,
      slots: {
        main: {
          role: 'main',
          contentModel: 'wikitext',
          contentFormat: 'text/x-wiki',
          content,
          textHidden: false,
        },
      },
    }),
  close: async () => {},
};

/** The page-content-change job with `answeringFetcher`; remembers the last handler it made. */
let lastHandler: RecordHandler | undefined;
const withoutApi: JobDefinition = {
  ...pageContentChange,
  create: async (parts, section): Promise<JobInstance> => {
    const job = await createEnrichmentJob(parts, section as EnrichConfig, answeringFetcher);
    lastHandler = job.handler;
    return job;
  },
};

const silent = pino({ level: 'silent' });
const validate = await pageChangeValidator(SCHEMA_DIR);

/** CPU of the process and of its main thread, in µs, since it started. */
function cpuNow(): { all: number; main: number | undefined } {
  const cpu = process.cpuUsage();
  return { all: cpu.user + cpu.system, main: mainThreadMicros() };
}

/** The main thread's CPU so far in µs, or undefined where /proc does not say it. */
function mainThreadMicros(): number | undefined {
  try {
    const runNanos = Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(runNanos) ? runNanos / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Collections since the process started, from Node's `gc` performance entries: count and pause ms. */
const collections = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as { detail?: { kind?: number } | null }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      collections.scavenges += 1;
      collections.scavengeMs += entry.duration;
    } else {
      collections.majors += 1;
      collections.majorMs += entry.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

interface StageCpu {
  /** µs per event, all threads. */
  all: number;
  /** µs per event, the main thread alone. */
  main?: number;
  /** Collections during the stage: how many, and their pauses on the main thread in ms. */
  gc: typeof collections;
}

/** CPU per event of `work` from the moment it calls `started` (at once, if it never does) to its end. */
async function cpuPerEvent(work: (started: () => void) => Promise<void>): Promise<StageCpu> {
  let from = cpuNow();
  let gcFrom = { ...collections };
  await work(() => {
    from = cpuNow();
    gcFrom = { ...collections };
  });
  const to = cpuNow();
  // The entries of the last collections are delivered after the work, on a later turn.
  await new Promise((resolve) => setImmediate(resolve));
  return {
    all: (to.all - from.all) / events,
    ...(to.main !== undefined && from.main !== undefined && { main: (to.main - from.main) / events }),
    gc: {
      scavenges: collections.scavenges - gcFrom.scavenges,
      scavengeMs: collections.scavengeMs - gcFrom.scavengeMs,
      majors: collections.majors - gcFrom.majors,
      majorMs: collections.majorMs - gcFrom.majorMs,
    },
  };
}

async function handlerAlone(handler: RecordHandler, started: () => void): Promise<void> {
  started();
  for (let i = 0; i < records.length; i += IN_FLIGHT) {
    const open = records.slice(i, i + IN_FLIGHT).map((record) => handler.handle(record).outcome);
    for (const outcome of await Promise.all(open)) {
      if (outcome.kind !== 'enriched') throw new Error(`handler stage: ${outcome.kind} ${outcome.reason}`);
    }
  }
}

interface Turn {
  floor: number;
  handler: number;
  runtime: number;
  service: number;
  serviceMain?: number;
  /** The whole service's collections. */
  serviceScavenges: number;
  serviceScavengeMs: number;
  serviceMajors: number;
  serviceMajorMs: number;
}

const turnsDone: Turn[] = [];
const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-stages-'));
let api: Awaited<ReturnType<typeof startSimulator>> | undefined;
try {
  api = await startSimulator({ CONTENT_BYTES: contentBytes });
  const paths = filePaths(dir);
  await writeFile(paths.input, `${lines.join('\n')}\n`);
  const settings = { enrich: { batch_size: BATCH }, runtime: { max_in_flight: IN_FLIGHT } };
  const config = fileJobConfig(paths, api.endpoint, settings);
  // The same job on an empty input: it only makes a handler, which the handler stage then uses.
  const emptyPaths = filePaths(join(dir, 'empty'));
  await mkdir(join(dir, 'empty'));
  await writeFile(emptyPaths.input, '');
  const emptyConfig = fileJobConfig(emptyPaths, api.endpoint, settings);

  type Run = (config: unknown, options: RunOptions) => Promise<RunResult>;
  const inRuntime = async (run: Run, started: () => void) => {
    const { summary } = await run(config, { logger: silent, signals: [], onStart: started });
    if (summary.outcomes.enriched !== events) throw new Error(`not all enriched: ${JSON.stringify(summary)}`);
  };
  const runtimeRun = (started: () => void) => inRuntime((c, o) => runJob(withoutApi, c, o), started);
  const serviceRun = (started: () => void) => inRuntime(runPageContentChangeJob, started);
  const freshHandler = async (): Promise<RecordHandler> => {
    await runJob(withoutApi, emptyConfig, { logger: silent, signals: [] });
    return lastHandler!;
  };

  // Warm-up: compiles the code paths of every stage.
  await runtimeRun(() => {});
  await serviceRun(() => {});
  await handlerAlone(await freshHandler(), () => {});
  for (let t = 0; t < turns; t++) {
    const floor = measureFloor(lines, { batchSize: BATCH, bytesFor: () => contentBytes, validate });
    const handler = await freshHandler();
    const handlerCpu = await cpuPerEvent((started) => handlerAlone(handler, started));
    const runtimeCpu = await cpuPerEvent(runtimeRun);
    const serviceCpu = await cpuPerEvent(serviceRun);
    turnsDone.push({
      floor: floor.cpuMicrosPerEvent,
      handler: handlerCpu.all,
      runtime: runtimeCpu.all,
      service: serviceCpu.all,
      ...(serviceCpu.main !== undefined && { serviceMain: serviceCpu.main }),
      serviceScavenges: serviceCpu.gc.scavenges,
      serviceScavengeMs: serviceCpu.gc.scavengeMs,
      serviceMajors: serviceCpu.gc.majors,
      serviceMajorMs: serviceCpu.gc.majorMs,
    });
  }
} finally {
  await Promise.allSettled([api?.stop(), rm(dir, { recursive: true, force: true })]);
}

/** The middle value; with an even count, the mean of the two middle ones. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const round = (value: number) => Math.round(value * 10) / 10;
const signed = (value: number) => `${value < 0 ? '−' : '+'}${Math.abs(round(value)).toFixed(1)}`;
const of = (pick: (t: Turn) => number | undefined) => {
  const values = turnsDone.map(pick).filter((v): v is number => v !== undefined);
  return values.length > 0 ? round(median(values)) : undefined;
};
const stages = [
  {
    stage: 'floor',
    adds: 'parse the input and the answer, validate in and out, attach, serialise',
    cpu: of((t) => t.floor)!,
  },
  {
    stage: 'handler',
    adds: 'the job (no answer to parse): checks, normalisation, projection, output bytes',
    cpu: of((t) => t.handler)!,
  },
  {
    stage: 'runtime',
    adds: 'the runtime: file source and sink, window, per-page order, metrics',
    cpu: of((t) => t.runtime)!,
  },
  { stage: 'service', adds: 'the Action API: batching, HTTP, answers parsed', cpu: of((t) => t.service)! },
];
const serviceMain = of((t) => t.serviceMain);
// Per turn, then the median: the two medians may come from different turns.
const serviceOther = of((t) => (t.serviceMain === undefined ? undefined : t.service - t.serviceMain));
const body = stages.map((s, i) => [
  `${s.stage}: ${s.adds}`,
  s.cpu.toFixed(1),
  i === 0 ? '' : signed(s.cpu - stages[i - 1]!.cpu),
]);
const settingsLine = `EVENTS=${events} CONTENT_BYTES=${contentBytes} MAX_IN_FLIGHT=${IN_FLIGHT} TURNS=${turns}`;
console.log(`${settingsLine}: medians of the turns, µs of CPU per event\n`);
console.log(formatTable(['stage: what it adds to the one before', 'CPU', 'added'], body));
// The floor parses the answers; the handler stage has none to parse (its fetcher answers at once).
console.log(
  `\nservice: ${of((t) => t.serviceScavenges)} scavenges (${of((t) => t.serviceScavengeMs)} ms of pauses), ${of((t) => t.serviceMajors)} full collections (${of((t) => t.serviceMajorMs)} ms)`,
);
if (serviceMain !== undefined && serviceOther !== undefined) {
  console.log(
    `service: main thread ${serviceMain.toFixed(1)} µs, other threads ${serviceOther.toFixed(1)} µs (the collector's helpers, V8's background compiler, the file system's pool)`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const results = join(REPO_ROOT, 'bench/results');
await mkdir(results, { recursive: true });
// A run with other settings does not overwrite the defaults' results.
const suffix = [
  events === 20_000 ? '' : `-events-${events}`,
  contentBytes === 1000 ? '' : `-content-${contentBytes}`,
  IN_FLIGHT === 1000 ? '' : `-in-flight-${IN_FLIGHT}`,
].join('');
const name = `${date}-stages${suffix}.json`;
await writeFile(
  join(results, name),
  `${JSON.stringify(
    {
      date,
      command: `${settingsLine} npm run bench:stages`,
      node: process.version,
      events,
      content_bytes: contentBytes,
      max_in_flight: IN_FLIGHT,
      turns,
      counted:
        "CPU (user + system) of this process per event; the runtime and service stages from the start of their pipeline (onStart) to the end of the run, without start-up; the handler stage with a job made afresh for the turn. Medians of the turns; service_other_threads is the median of each turn's service minus its main thread; service_collections are medians per turn of the whole service's collections (Node's gc performance entries: how many, and their pauses of the main thread in ms)",
      stages: stages.map(({ stage, adds, cpu }) => ({ stage, adds, cpu_us_per_event: cpu })),
      service_main_thread_cpu_us_per_event: serviceMain,
      service_other_threads_cpu_us_per_event: serviceOther,
      service_collections: {
        scavenges: of((t) => t.serviceScavenges),
        scavenge_pause_ms: of((t) => t.serviceScavengeMs),
        full: of((t) => t.serviceMajors),
        full_pause_ms: of((t) => t.serviceMajorMs),
      },
      turns_measured: turnsDone.map((t) =>
        Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v)])),
      ),
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwritten to ${join('bench/results', name)}`);
