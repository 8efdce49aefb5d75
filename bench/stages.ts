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
 * Each stage takes TURNS turns in alternation with the others; the figures are medians. For the
 * service the CPU is also split between the main thread and the other threads of the process (the
 * collector's helpers, the file system's thread pool), read from /proc/self/task.
 *
 *   npm run bench:stages          (writes bench/results/<date>-stages.json)
 *
 * Environment: EVENTS (20000), CONTENT_BYTES (1000), TURNS (3), MAX_IN_FLIGHT (the runtime's
 * `max_in_flight`, 1000 by default; the handler stage keeps as many records open at once).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { runJob as RunJob } from '../src/runtime/main.js';
import type { SourceRecord } from '../src/connectors/types.js';
import type { JobDefinition, JobInstance, RecordHandler } from '../src/jobs/contract.js';
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
let handler: RecordHandler | undefined;
const withoutApi: JobDefinition = {
  ...pageContentChange,
  create: async (parts, section): Promise<JobInstance> => {
    const job = await createEnrichmentJob(parts, section as never, answeringFetcher);
    handler = job.handler;
    return job;
  },
};

const silent = pino({ level: 'silent' });
const validate = await pageChangeValidator(SCHEMA_DIR);
const api = await startSimulator({ CONTENT_BYTES: contentBytes });
const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-stages-'));
const paths = filePaths(dir);
await writeFile(paths.input, `${lines.join('\n')}\n`);
const config = fileJobConfig(paths, api.endpoint, {
  enrich: { batch_size: BATCH },
  runtime: { max_in_flight: IN_FLIGHT },
});

/** CPU µs per event of `work`, and, where /proc/self/task is readable, of the main thread. */
async function cpuPerEvent(work: () => Promise<unknown>): Promise<{ all: number; main?: number }> {
  const threads0 = mainThreadMicros();
  const cpu0 = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpu0);
  const threads1 = mainThreadMicros();
  return {
    all: (cpu.user + cpu.system) / events,
    ...(threads0 !== undefined && threads1 !== undefined && { main: (threads1 - threads0) / events }),
  };
}

/** The main thread's CPU so far in µs (clock ticks of 10 ms), or undefined off Linux. */
function mainThreadMicros(): number | undefined {
  try {
    if (!readdirSync('/proc/self/task').includes(String(process.pid))) return undefined;
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

async function handlerAlone(): Promise<void> {
  if (!handler) throw new Error('no handler yet: the runtime stage makes it');
  for (let i = 0; i < records.length; i += IN_FLIGHT) {
    const open = records.slice(i, i + IN_FLIGHT).map((record) => handler!.handle(record).outcome);
    for (const outcome of await Promise.all(open)) {
      if (outcome.kind !== 'enriched') throw new Error(`handler stage: ${outcome.kind} ${outcome.reason}`);
    }
  }
}

async function inRuntime(run: () => ReturnType<typeof RunJob>): Promise<void> {
  const { summary } = await run();
  if (summary.outcomes.enriched !== events) throw new Error(`not all enriched: ${JSON.stringify(summary)}`);
}

const runtimeRun = () => inRuntime(() => runJob(withoutApi, config, { logger: silent, signals: [] }));
const serviceRun = () => inRuntime(() => runPageContentChangeJob(config, { logger: silent, signals: [] }));

interface Turn {
  floor: number;
  handler: number;
  runtime: number;
  service: number;
  serviceMain?: number;
}

const turnsDone: Turn[] = [];
try {
  // Warm-up: compiles the code paths of every stage (and makes the handler).
  await runtimeRun();
  await serviceRun();
  await handlerAlone();
  for (let t = 0; t < turns; t++) {
    const floor = measureFloor(lines, { batchSize: BATCH, bytesFor: () => contentBytes, validate });
    const handlerCpu = await cpuPerEvent(handlerAlone);
    const runtimeCpu = await cpuPerEvent(runtimeRun);
    const serviceCpu = await cpuPerEvent(serviceRun);
    turnsDone.push({
      floor: floor.cpuMicrosPerEvent,
      handler: handlerCpu.all,
      runtime: runtimeCpu.all,
      service: serviceCpu.all,
      ...(serviceCpu.main !== undefined && { serviceMain: serviceCpu.main }),
    });
  }
} finally {
  await api.stop();
  await rm(dir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number) => Math.round(value * 10) / 10;
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
const body = stages.map((s, i) => [
  `${s.stage}: ${s.adds}`,
  s.cpu.toFixed(1),
  i === 0 ? '' : `+${round(s.cpu - stages[i - 1]!.cpu).toFixed(1)}`,
]);
console.log(
  `${events} events of ${contentBytes} bytes of content, ${turns} turns, medians (µs of CPU per event)\n`,
);
console.log(formatTable(['stage: what it adds to the one before', 'CPU', 'added'], body));
// The floor parses the answers; the handler stage has none to parse (its fetcher answers at once).
if (serviceMain !== undefined) {
  const service = stages[3]!.cpu;
  console.log(
    `\nservice: main thread ${serviceMain.toFixed(1)} µs, other threads ${round(service - serviceMain).toFixed(1)} µs (collector helpers, file system pool)`,
  );
}

const date = new Date().toISOString().slice(0, 10);
const results = join(REPO_ROOT, 'bench/results');
await mkdir(results, { recursive: true });
// A run with another window does not overwrite the default's.
const name = `${date}-stages${IN_FLIGHT === 1000 ? '' : `-in-flight-${IN_FLIGHT}`}.json`;
const file = join(results, name);
await writeFile(
  file,
  `${JSON.stringify(
    {
      date,
      command: 'npm run bench:stages',
      node: process.version,
      events,
      content_bytes: contentBytes,
      max_in_flight: IN_FLIGHT,
      stages: stages.map(({ stage, adds, cpu }) => ({ stage, adds, cpu_us_per_event: cpu })),
      service_main_thread_cpu_us_per_event: serviceMain,
      turns: turnsDone.map((t) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v)]))),
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwritten to ${join('bench/results', name)}`);
