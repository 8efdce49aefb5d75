/**
 * The benchmarks of `npm run bench`, in one run, written with the machine to
 * bench/results/<YYYY-MM-DD>.json:
 *
 * 1. CPU: the whole job, file in → file out, in this process, against the API simulator
 *    (bench/api-simulator.ts, no latency) in another process, side by side with the CPU floor
 *    (bench/floor.ts) for the same events: floor µs/event, service µs/event, ratio; each the
 *    median of three turns taken in alternation (BENCH_REPEATS).
 * 2. Latency: the realistic corpus against an API that answers in 50 ms (median; p99 200 ms), with
 *    the configuration's defaults and with one revision per request (bench/latency-scenarios.ts).
 * 3. Memory: peak RSS of the built CLI on the realistic corpus and with 10 MB revisions, and RSS over
 *    a long run of small events (bench/rss.ts).
 *
 * What is counted in 1: floor: CPU of this process over the floor loop only (answers built before,
 * warm-up pass first). Service: CPU of this process (user + system) over `runPageContentChangeJob` of
 * the compiled `dist/` (as it ships; bench/built-service.ts), which includes reading the input file,
 * the HTTP client and writing the output file; the simulator's CPU is reported on its own
 * (`stub_cpu_us_per_event`) and is not in the service's figure or the ratio. Every run is checked
 * (outcomes, output lines, no error event) or the bench throws.
 *
 *   npm run bench            (BENCH_SCALE=0.2 for a quicker, smaller run; BENCH_LONG=0 skips the
 *                             long run of section 3)
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startSimulator } from './api-simulator-process.js';
import { builtService } from './built-service.js';
import { checkCorpus, contentBytesFor, generateCorpus, pageChangeValidator } from './corpus.js';
import { fixedEvent } from './fixed-events.js';
import { measureFloor, type FloorResult } from './floor.js';
import { filePaths, fileJobConfig, REPO_ROOT, SCHEMA_DIR } from './job-config.js';
import { kafkaTable, measureKafka } from './kafka-floor.js';
import { LATENCY, runLatencyScenarios, type LatencySection } from './latency-scenarios.js';
import { countLines } from './line-count.js';
import { largeContentPeak, longRun, realisticCorpusPeak, type LongRun, type PeakRow } from './rss.js';
import { formatTable } from './table.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
const withLongRun = process.env.BENCH_LONG !== '0';
/** `n × BENCH_SCALE`, at least `min`. */
const scaled = (n: number, min = 100) => Math.max(min, Math.round(n * scale));

interface Scenario {
  name: string;
  events: number;
  /** Fixed-shape events over this many pages; undefined: the realistic corpus. */
  pages?: number;
  /** Content bytes of every revision; 'corpus': contentBytesFor(rev_id). */
  contentBytes: number | 'corpus';
  batchSize: number;
}

const scenarios: Scenario[] = [
  { name: 'small pages (1 KB), batch 50', events: 20_000, pages: 5_000, contentBytes: 1_000, batchSize: 50 },
  { name: 'small pages (1 KB), batch 1', events: 5_000, pages: 5_000, contentBytes: 1_000, batchSize: 1 },
  {
    name: 'hot pages (1 KB), 20 pages, batch 50',
    events: 10_000,
    pages: 20,
    contentBytes: 1_000,
    batchSize: 50,
  },
  {
    name: 'large pages (100 KB), batch 50',
    events: 2_000,
    pages: 2_000,
    contentBytes: 100_000,
    batchSize: 50,
  },
  { name: 'realistic corpus, batch 50', events: 20_000, contentBytes: 'corpus', batchSize: 50 },
];

interface Row {
  scenario: string;
  events: number;
  enriched: number;
  passed: number;
  floor_cpu_us_per_event: number;
  service_cpu_us_per_event: number;
  ratio: number;
  /** Each turn's figure, in the order measured; the row's figure is their median. */
  floor_cpu_us_per_event_turns: number[];
  service_cpu_us_per_event_turns: number[];
  stub_cpu_us_per_event: number;
  service_events_per_s: number;
  service_out_mb_per_s: number;
  service_startup_cpu_ms: number;
  service_cpu_us_per_event_with_startup: number;
  floor_seconds: number;
  service_seconds: number;
}

/** One run of the job, file → file, against a fresh simulator; CPU of this process over the job. */
async function runJobOnce(s: Scenario, lines: readonly string[], dir: string) {
  const { runPageContentChangeJob } = (await builtService()).main;
  const api = await startSimulator({ CONTENT_BYTES: s.contentBytes });
  try {
    const paths = filePaths(dir);
    await writeFile(paths.input, `${lines.join('\n')}\n`);
    // The configuration's defaults (runtime.max_in_flight 1000, max_concurrent_requests 8), but the batch size.
    const config = fileJobConfig(paths, api.endpoint, { enrich: { batch_size: s.batchSize } });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { summary } = await runPageContentChangeJob(config, {
      logger: pino({ level: 'silent' }),
      signals: [],
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const outBytes = (await stat(paths.output)).size;
    const outLines = await countLines(paths.output);
    const errors = await readFile(paths.errors, 'utf8');
    const simulator = await api.stop();
    return {
      stubMicros: simulator.cpu_us,
      summary,
      seconds,
      cpuMicros: cpu.user + cpu.system,
      outBytes,
      outLines,
      errors,
    };
  } finally {
    await api.stop().catch(() => undefined);
  }
}

/** Floor and service measured this many times per scenario, in turn; the figures are the medians. */
const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 3));

async function run(s: Scenario, validate: Awaited<ReturnType<typeof pageChangeValidator>>): Promise<Row> {
  const count = scaled(s.events);
  let lines: string[];
  let fetched = count;
  if (s.pages === undefined) {
    const corpus = generateCorpus(count);
    await checkCorpus(corpus.lines, SCHEMA_DIR);
    lines = corpus.lines;
    fetched = corpus.stats.fetched;
    const kinds = Object.entries(corpus.stats.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    console.log(
      `  corpus: ${kinds}; ${corpus.stats.wikis} wikis, the largest ${(corpus.stats.topWikiShare * 100).toFixed(0)} % of events`,
    );
  } else {
    lines = [];
    // Each event announces its revision's size, as MediaWiki's do.
    const revSize = typeof s.contentBytes === 'number' ? s.contentBytes : undefined;
    for (let i = 0; i < count; i++) lines.push(fixedEvent(i, s.pages, 1, revSize));
  }
  const bytes = s.contentBytes;
  const bytesFor = bytes === 'corpus' ? contentBytesFor : () => bytes;

  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-bench-'));
  try {
    // The service as the floor is measured: warm (a first run of up to 2,000 of the same events, not
    // counted, as the floor's warm-up pass), and per event without the job's start-up (reading the
    // configuration and compiling the schemas, measured by a run of one event and subtracted). Floor
    // and service take turns, so that a busy spell of this shared machine does not fall on one side
    // only, and each figure is the median of its turns.
    await runJobOnce(s, lines.slice(0, 2_000), dir);
    const floors: FloorResult[] = [];
    const services: Array<{ micros: number; run: JobRun; startupMicros: number }> = [];
    for (let turn = 0; turn < REPEATS; turn++) {
      floors.push(measureFloor(lines, { batchSize: s.batchSize, bytesFor, validate }));
      const startup = await runJobOnce(s, lines.slice(0, 1), dir);
      const service = await runJobOnce(s, lines, dir);
      const { outcomes } = service.summary;
      if (
        outcomes.enriched !== fetched ||
        outcomes.passed !== count - fetched ||
        service.outLines !== count ||
        service.errors.length !== 0
      ) {
        throw new Error(
          `${s.name}: expected ${fetched} enriched, ${count - fetched} passed; got ${JSON.stringify(service.summary)}, ${service.outLines} lines\n${service.errors.slice(0, 2000)}`,
        );
      }
      const micros = Math.max(0, service.cpuMicros - startup.cpuMicros) / count;
      services.push({ micros, run: service, startupMicros: startup.cpuMicros });
    }
    const floor = median(floors, (f) => f.cpuMicrosPerEvent);
    const { micros: serviceMicros, run: service, startupMicros } = median(services, (x) => x.micros);
    const { outcomes } = service.summary;
    return {
      scenario: s.name,
      events: count,
      enriched: outcomes.enriched,
      passed: outcomes.passed,
      floor_cpu_us_per_event: round(floor.cpuMicrosPerEvent),
      service_cpu_us_per_event: round(serviceMicros),
      ratio: Math.round((serviceMicros / floor.cpuMicrosPerEvent) * 100) / 100,
      floor_cpu_us_per_event_turns: floors.map((f) => round(f.cpuMicrosPerEvent)),
      service_cpu_us_per_event_turns: services.map((x) => round(x.micros)),
      stub_cpu_us_per_event: round(service.stubMicros / count),
      service_events_per_s: Math.round(count / service.seconds),
      service_out_mb_per_s: Math.round((service.outBytes / 1e6 / service.seconds) * 10) / 10,
      service_startup_cpu_ms: Math.round(startupMicros / 1000),
      service_cpu_us_per_event_with_startup: round(service.cpuMicros / count),
      floor_seconds: round(floor.seconds),
      service_seconds: round(service.seconds),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type JobRun = Awaited<ReturnType<typeof runJobOnce>>;

/** The middle item by `key` (of an even number, the lower of the two middle ones). */
function median<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function round(n: number): number {
  return n >= 100 ? Math.round(n) : Math.round(n * 10) / 10;
}

function cpuTable(rows: readonly Row[]): string {
  const head = [
    'scenario',
    'events',
    'floor µs/event',
    'service µs/event',
    'ratio',
    'stub µs/event',
    'service events/s',
  ];
  return formatTable(
    head,
    rows.map((r) => [
      r.scenario,
      String(r.events),
      String(r.floor_cpu_us_per_event),
      String(r.service_cpu_us_per_event),
      `${r.ratio.toFixed(2)}×`,
      String(r.stub_cpu_us_per_event),
      String(r.service_events_per_s),
    ]),
  );
}

function latencyTable(section: LatencySection): string {
  const head = ['scenario', 'events', 's', 'events/s', 'requests', 'revisions/request', 'API ms (mean)'];
  const table = formatTable(
    head,
    section.rows.map((r) => [
      r.scenario,
      String(r.events),
      r.seconds.toFixed(1),
      String(r.events_per_s),
      String(r.requests),
      r.mean_batch_size.toFixed(1),
      r.api_mean_service_ms.toFixed(1),
    ]),
  );
  return `${table}\nbatching: ${section.batching_speedup}× the events/s of one revision per request`;
}

function memoryTable(peaks: readonly PeakRow[], long: LongRun | undefined): string {
  const rows = peaks.map((p) => [p.scenario, String(p.events), p.seconds.toFixed(1), String(p.peak_rss_mb)]);
  if (long)
    rows.push([
      'long run, small events',
      String(long.events),
      String(long.seconds),
      String(long.peak_rss_mb),
    ]);
  const parts = [formatTable(['run (built CLI)', 'events', 's', 'peak RSS MB'], rows)];
  if (long) {
    const at = long.at.map((a) => [
      `${a.percent} %`,
      String(a.done),
      String(a.seconds),
      String(a.rss_mb),
      String(a.heap_used_mb),
    ]);
    parts.push(formatTable(['long run', 'events done', 's', 'RSS MB', 'heap used MB'], at));
    parts.push(
      `long run: ${long.events_per_s} events/s; RSS growth from 25 % on: ${long.rss_growth_mb_per_100k_events} MB per 100,000 events`,
    );
  }
  return parts.join('\n\n');
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  total_memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  os: `${osType()} ${release()}`,
  node: process.version,
};
const command = `${scale === 1 ? '' : `BENCH_SCALE=${scale} `}${withLongRun ? '' : 'BENCH_LONG=0 '}npm run bench`;
console.log(
  `${command}: node ${process.version}, ${machine.cpus} × ${machine.cpu}; API simulator in a separate process on the same machine`,
);
const validate = await pageChangeValidator(SCHEMA_DIR);
const started = performance.now();

console.log('\n1. CPU: floor and service, API without latency');
const rows: Row[] = [];
for (const s of scenarios) {
  const row = await run(s, validate);
  rows.push(row);
  console.log(
    [
      s.name.padEnd(40),
      `${row.events} events`.padStart(14),
      `${row.service_events_per_s} events/s`.padStart(16),
      `${row.service_out_mb_per_s.toFixed(1)} MB/s out`.padStart(14),
      `${row.service_cpu_us_per_event} µs CPU/event`.padStart(18),
    ].join(' '),
  );
}
console.log(`\n${cpuTable(rows)}`);

console.log(
  `\n2. Latency: API median ${LATENCY.LATENCY_MEDIAN_MS} ms, p99 ${LATENCY.LATENCY_P99_MS} ms, ${LATENCY.CONCURRENCY} requests served at once`,
);
const latency = await runLatencyScenarios(scaled(4_000), scaled(2_000));
console.log(latencyTable(latency));

console.log('\n3. Memory of the built CLI, API without latency');
const peaks: PeakRow[] = [await realisticCorpusPeak(scaled(40_000))];
const large = await largeContentPeak(scaled(2_000), scaled(100, 5));
peaks.push(large);
const long = withLongRun ? await longRun(scaled(1_000_000, 10_000)) : undefined;
console.log(memoryTable(peaks, long));

console.log('\n4. Kafka: the service on the real broker next to a kcat pass-through of the same records');
const kafka = await measureKafka({ scale, log: (line) => console.log(`  ${line}`) });
console.log(kafkaTable(kafka));

const date = new Date().toISOString().slice(0, 10);
const results = join(REPO_ROOT, 'bench/results');
await mkdir(results, { recursive: true });
const file = join(results, `${date}.json`);
const report = {
  date,
  command,
  bench_scale: scale,
  seconds: Math.round((performance.now() - started) / 1000),
  machine,
  counted: {
    floor_cpu_us_per_event:
      'CPU (user + system) of one process over: JSON.parse of each input line, ajv validation of input and output against mediawiki/page/change 1.2.0 (compiled once), JSON.parse of each Action API answer (batches of batch_size revisions per wiki, built before timing), attaching content_body, JSON.stringify of the output; after a warm-up pass over the first 2,000 events',
    service_cpu_us_per_event:
      'CPU (user + system) of the bench process over runPageContentChangeJob of the compiled dist/ (as it ships), file source to file sink, configuration defaults but batch_size, against the API simulator (no latency) in another process; includes file reading and writing and the HTTP client; excludes the simulator. Warm, as the floor: after a run of up to 2,000 of the same events; without start-up: the CPU of a run of one event (service_startup_cpu_ms: configuration, schema compiles) is subtracted before dividing by the events',
    service_cpu_us_per_event_with_startup: 'the same CPU, start-up included, divided by the events',
    stub_cpu_us_per_event:
      'CPU of the API simulator process (bench/api-simulator.ts, no latency) while serving that run, not counted in the ratio',
    ratio: 'service_cpu_us_per_event / floor_cpu_us_per_event',
    turns:
      'floor and service are measured in turn (BENCH_REPEATS, default 3) after one warm-up run of the service; floor_cpu_us_per_event and service_cpu_us_per_event are the medians of the turns (the *_turns lists), and the other service figures are those of the median turn',
    latency:
      'The realistic corpus (a prefix of the same seeded corpus for both rows), file to file with runPageContentChangeJob in the bench process, against the API simulator in another process: log-normal service time with the given median and p99 (seeded), at most `concurrency` requests served at once (FIFO queue beyond). Configuration: the defaults (batch_size 50, max_concurrent_requests 8, batch_linger_ms 5, runtime.max_in_flight 1000), then the same with batch_size 1',
    'latency.rows.events_per_s':
      'events / wall-clock seconds of runPageContentChangeJob (reading the input to writing the last output)',
    'latency.rows.requests': 'HTTP requests the simulator answered',
    'latency.rows.mean_batch_size':
      'revision ids per request as the simulator counted them (ids of a batch / batches)',
    'latency.rows.api_mean_service_ms':
      'mean time from a request being admitted by the simulator to its answer being written (the drawn latency plus building the answer)',
    'latency.rows.api_max_concurrent':
      'most requests the simulator was serving at once (the service sends at most max_concurrent_requests)',
    'latency.rows.api_mean_queue_wait_ms': "mean time a request waited for one of the simulator's slots",
    'latency.batching_speedup': 'events_per_s with the defaults / events_per_s with batch_size 1',
    'memory.peaks.peak_rss_mb':
      "the built CLI (node bin/mw-enrich.js page-content-change), file to file, as a child process against the API simulator (no latency): the largest VmHWM (and VmRSS) of /proc/<pid>/status read every 250 ms until it exits; the configuration's defaults, log_level warn",
    'memory.peaks (realistic corpus)':
      'the realistic corpus, contents of bench/corpus.ts sizes (median about 3 KB, up to 2 MB)',
    'memory.peaks (10 MB revisions)':
      "fixed-shape edits of one wiki with 1 KB contents but a burst of `large` consecutive revisions of 10,000,000 bytes in the middle of the input; the simulator cuts answers at 8 MiB of content (MediaWiki's $wgAPIMaxResultSize) and continues, so each answer carries one large revision; no setting changed: inputs stay small (runtime.max_record_bytes 10 MiB), answers stay under enrich.max_response_bytes (64 MiB), enrich.max_content_size is unset and the file sink has no size limit",
    'memory.long_run':
      'fixed-shape edits (1 KB contents, 50,000 pages) written to the input file as a stream, the built CLI file to file with runtime.metrics_port set; every second RSS from /proc and, from /metrics, outcomes so far and nodejs heap used. `at`: the first sample at or past 10/25/50/75/100 % of the events (the last sample when the process ended before /metrics showed 100 %)',
    'memory.long_run.rss_growth_mb_per_100k_events':
      'least-squares slope of RSS over events done, from the samples at or past 25 % of the events, × 100,000',
    'memory.long_run.events_per_s': 'events / seconds from spawning the CLI to its exit',
    kafka:
      "The realistic corpus produced to a fresh input topic on the tests' broker (scripts/kafka.sh, one node). kcat: `kcat -C -e | kcat -P` to another topic, keys kept; CPU of both kcat processes from the kernel (bash `times`). service: the built CLI Kafka to Kafka against the API simulator (no latency), CPU from /proc/<pid>/stat from its first output to its last, events/s over the same span, peak RSS VmHWM. floor: bench/floor.ts on the same lines, the median of three passes after a warm-up over the first 20,000 (every pass in floor.cpu_us_per_event_passes). ratio: service CPU / (kcat CPU + floor CPU)",
    'kafka.latency':
      "With the service caught up, events produced at rate_per_s by the bench (linger.ms 0) and matched on the output topic by meta.request_id: arrival minus send. copy: the same through a librdkafka consume-and-produce process with no work (the floor of Kafka's own latency)",
  },
  rows,
  latency: {
    median_ms: LATENCY.LATENCY_MEDIAN_MS,
    p99_ms: LATENCY.LATENCY_P99_MS,
    concurrency: LATENCY.CONCURRENCY,
    ...latency,
  },
  memory: { peaks, long_run: long ?? null },
  kafka,
};
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwritten to ${join('bench/results', `${date}.json`)} in ${report.seconds} s`);
