/**
 * The service through Kafka next to what Kafka itself costs, in one run on the tests' broker:
 *
 * - input: N events of the realistic corpus (bench/corpus.ts), keyed `{"wiki_id":…,"page_id":…}` as
 *   WMF's producers key them, on a fresh topic of `partitions` partitions;
 * - Kafka's floor: `kcat -C … -e | kcat -P …` copies the same records, keys kept, to another topic
 *   through the same broker: events/s, and the CPU (user + system) of both kcat processes;
 * - the CPU floor (bench/floor.ts) on the same lines, in slices of 20,000: parse, validate, attach
 *   content, serialise; after a warm-up pass over the first slice, the median of three passes (one
 *   pass over the whole corpus came out anywhere between 44 and 64 µs per event on this machine);
 * - the service: the built CLI, Kafka → Kafka, against the stand-in Action API in another process,
 *   catching up on the full topic: events/s and the CPU µs per event of its process from its first
 *   output to its last (start-up left out), and its peak RSS;
 * - ratio = service CPU per event ÷ (kcat CPU per event + CPU floor per event);
 * - latency at a fixed rate (1,000 events/s for 20 s): from the send by a producer in this process to
 *   the arrival at a consumer on the output, through the caught-up service, and through a bare copy
 *   with the service's Kafka client (bench/kafka-copy.ts: Kafka's own latency; kcat cannot give it,
 *   see there). With `kcatLatency`, also through a running kcat pass-through, for comparison.
 *
 * The run fails unless every output topic holds exactly the inputs, the service's outcomes are the
 * corpus's (enriched and passed, no failure) and its error topic stays empty. Topics are deleted at
 * the end.
 *
 *   node --import tsx bench/kafka-floor.ts        (BENCH_SCALE=0.1 for a quick run; --json: the result)
 *
 * Environment: KAFKA_FLOOR_EVENTS (default 100000); BENCH_SCALE (× events and × latency seconds);
 * KAFKA_FLOOR_PARTITIONS (4); KAFKA_FLOOR_LATENCY_RATE (1000); KAFKA_FLOOR_LATENCY_SECONDS (20);
 * KAFKA_FLOOR_KCAT_LATENCY=1 (the kcat latency run too); KAFKA_FLOOR_BATCH_LINGER_MS (the service's
 * enrich.batch_linger_ms); KAFKA_FLOOR_CONSUMER_PROPERTIES and KAFKA_FLOOR_PRODUCER_PROPERTIES
 * (`name=value,…`: librdkafka properties over the service's, to see a setting's effect); KAFKA_PORT
 * (the broker, started when it does not answer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTopics } from '../src/connectors/kafka/index.js';
import { DEFAULT_MEDIAWIKI_OPTIONS } from '../src/mediawiki/options.js';
import { ensureBuilt, REPO_ROOT } from '../test/helpers/cli.js';
import { uniqueName } from '../test/helpers/kafka.js';
import { checkCorpus, contentBytesFor, generateCorpus, pageChangeValidator } from './corpus.js';
import { measureFloor } from './floor.js';
import { startCopy } from './kafka-copy.js';
import { passThrough, produceLines, startPassThrough } from './kafka-kcat.js';
import { measureLatency, type LatencyFigures } from './kafka-latency.js';
import { kcatLine, latencyRecords, requestIdOf } from './kafka-records.js';
import {
  MAX_RECORD_BYTES,
  peakRssBytes,
  startService,
  watchCatchUp,
  type RunningService,
} from './kafka-service.js';
import {
  connectEndOffsets,
  deleteTopics,
  outcomeTotals,
  startApi,
  withBroker,
  type ApiProcess,
  type EndOffsets,
} from './kafka-tools.js';

export interface KafkaBenchOptions {
  /** Input events before `scale`; default 100,000. */
  readonly events?: number;
  /** Multiplies `events` and `latencySeconds` (at least 1,000 events and 5 s); default 1. */
  readonly scale?: number;
  /** Partitions of every topic; default 4. */
  readonly partitions?: number;
  /** enrich.batch_size of the service and the floor's batches; default 50. */
  readonly batchSize?: number;
  /** enrich.batch_linger_ms of the service; default the service's (5 ms). */
  readonly batchLingerMs?: number;
  /** Events per second sent in the latency runs; default 1,000. */
  readonly latencyRate?: number;
  /** How long each latency run sends; default 20 s. */
  readonly latencySeconds?: number;
  /** Also measure latency through a kcat pass-through (which holds each record until the next). */
  readonly kcatLatency?: boolean;
  /** librdkafka properties over the service's consumer's / producer's; default none. */
  readonly consumerProperties?: Readonly<Record<string, string>>;
  readonly producerProperties?: Readonly<Record<string, string>>;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

export interface KafkaBenchResult {
  events: number;
  partitions: number;
  batch_size: number;
  /** The service's enrich.batch_linger_ms. */
  batch_linger_ms: number;
  input_mb: number;
  /** The corpus's outcomes, as the service counted them. */
  enriched: number;
  passed: number;
  /** The median of `cpu_us_per_event_passes`; `seconds` of that pass. */
  floor: { cpu_us_per_event: number; cpu_us_per_event_passes: number[]; seconds: number };
  kcat: {
    events_per_s: number;
    seconds: number;
    cpu_us_per_event: number;
    consumer_cpu_us_per_event: number;
    producer_cpu_us_per_event: number;
  };
  service: {
    events_per_s: number;
    seconds: number;
    startup_seconds: number;
    cpu_us_per_event: number;
    peak_rss_mb: number;
    /** The stand-in API's CPU over the same interval: not the service's, not in the ratio. */
    api_cpu_us_per_event: number;
    consumer_properties: Record<string, string>;
    producer_properties: Record<string, string>;
  };
  /** service.cpu_us_per_event / (kcat.cpu_us_per_event + floor.cpu_us_per_event) */
  ratio: number;
  latency: {
    rate_per_s: number;
    seconds: number;
    /** Through a bare librdkafka copy (bench/kafka-copy.ts): Kafka's own latency. */
    copy: LatencyFigures;
    service: LatencyFigures;
    /** Through `kcat -C | kcat -P`, with `kcatLatency` only. */
    kcat?: LatencyFigures;
  };
  /** The whole measurement, set-up included. */
  seconds: number;
}

const SCHEMA_DIR = join(REPO_ROOT, 'schemas/primary/jsonschema');
/**
 * The floor builds every Action API answer of its lines before its clock starts; 100,000 realistic
 * events hold about 1.5 GB of answers, whose garbage collection alone raised the floor from 48 to
 * 76 µs/event. In slices of this many lines the heap stays small.
 */
const FLOOR_SLICE = 20_000;

/** What one run shares between its steps. */
interface Run {
  readonly bootstrap: string;
  /** Of every topic of the run; the service's sinks' kafka_topic_prefix. */
  readonly prefix: string;
  readonly topic: Topics;
  readonly offsets: EndOffsets;
  readonly partitions: number;
  readonly lines: readonly string[];
  readonly rate: number;
  readonly latencySeconds: number;
  readonly log: (line: string) => void;
}

type Topics = ReturnType<typeof topicsOf>;

/** The topics of one run, under a prefix no other run uses. */
function topicsOf(prefix: string) {
  return {
    input: `${prefix}mediawiki.page_change.v1`,
    output: `${prefix}mediawiki.page_content_change.v1`,
    error: `${prefix}mw-page-content-change-enrich.error`,
    kcatCopy: `${prefix}kcat-copy`,
    copyIn: `${prefix}copy-in`,
    copyOut: `${prefix}copy-out`,
    kcatLatencyIn: `${prefix}kcat-latency-in`,
    kcatLatencyOut: `${prefix}kcat-latency-out`,
  };
}

/** One pass of the CPU floor over `lines`, in slices. */
function floorPass(
  lines: readonly string[],
  batchSize: number,
  validate: Parameters<typeof measureFloor>[1]['validate'],
) {
  let micros = 0;
  let seconds = 0;
  for (let i = 0; i < lines.length; i += FLOOR_SLICE) {
    const slice = lines.slice(i, i + FLOOR_SLICE);
    const f = measureFloor(slice, { batchSize, bytesFor: contentBytesFor, validate });
    micros += f.cpuMicrosPerEvent * f.events;
    seconds += f.seconds;
  }
  return { cpuMicrosPerEvent: micros / lines.length, seconds };
}

const FLOOR_PASSES = 3;

/** The median of FLOOR_PASSES passes, after a warm-up over the first slice; every pass's figure. */
function floorOf(
  lines: readonly string[],
  batchSize: number,
  validate: Parameters<typeof measureFloor>[1]['validate'],
) {
  floorPass(lines.slice(0, FLOOR_SLICE), batchSize, validate);
  const passes = Array.from({ length: FLOOR_PASSES }, () => floorPass(lines, batchSize, validate));
  const median = [...passes].sort((a, b) => a.cpuMicrosPerEvent - b.cpuMicrosPerEvent)[
    Math.floor(FLOOR_PASSES / 2)
  ]!;
  return { ...median, passes: passes.map((p) => p.cpuMicrosPerEvent) };
}

async function expectTotal(run: Run, topic: string, want: number, what: string): Promise<void> {
  const got = await run.offsets.total(topic, run.partitions);
  if (got !== want) throw new Error(`${what}: ${got} records on ${topic}, expected ${want}`);
}

/** Latency from `input` to `output` while `start`'s pass-through runs; ids begin with `tag`. */
async function latencyThrough(
  run: Run,
  start: () => Promise<{ stop: () => Promise<void> }>,
  io: { input: string; output: string; tag: string; trailing?: number },
): Promise<LatencyFigures> {
  const running = await start();
  try {
    return await measureLatency({
      bootstrap: run.bootstrap,
      input: io.input,
      output: io.output,
      partitions: run.partitions,
      rate: run.rate,
      seconds: run.latencySeconds,
      record: latencyRecords(run.lines, io.tag),
      idOf: requestIdOf,
      trailing: io.trailing ?? 0,
    });
  } finally {
    await running.stop();
  }
}

/** Kafka alone: the kcat pass-through of the input, and the latency of a bare copy (and of kcat). */
async function measureKafkaAlone(run: Run, kcatLatency: boolean) {
  const { bootstrap, topic, lines, log, rate } = run;
  const copy = await passThrough(bootstrap, topic.input, topic.kcatCopy);
  await expectTotal(run, topic.kcatCopy, lines.length, 'kcat pass-through');
  const cpuMicros = copy.consumerCpuMicros + copy.producerCpuMicros;
  log(
    `kcat pass-through: ${Math.round(lines.length / copy.seconds)} events/s, ` +
      `${(cpuMicros / lines.length).toFixed(1)} µs CPU/event`,
  );
  const copyLatency = await latencyThrough(
    run,
    () => startCopy(bootstrap, topic.copyIn, topic.copyOut, run.partitions),
    { input: topic.copyIn, output: topic.copyOut, tag: '1' },
  );
  log(`copy latency at ${rate}/s: p50 ${copyLatency.p50_ms} ms, p99 ${copyLatency.p99_ms} ms`);
  if (!kcatLatency) return { copy, cpuMicros, copyLatency };
  const kcat = await latencyThrough(
    run,
    async () => startPassThrough(bootstrap, topic.kcatLatencyIn, topic.kcatLatencyOut),
    // kcat -P holds the latest record until 128 more bytes come: these let the last measured one go.
    { input: topic.kcatLatencyIn, output: topic.kcatLatencyOut, tag: '2', trailing: 10 },
  );
  log(`kcat latency at ${rate}/s: p50 ${kcat.p50_ms} ms, p99 ${kcat.p99_ms} ms`);
  return { copy, cpuMicros, copyLatency, kcatLatency: kcat };
}

/**
 * The service on the full input topic until every event is out, its outcomes checked against the
 * corpus's; then, caught up, its latency; then stopped (exit status 0 required).
 */
async function measureService(
  run: Run,
  settings: { batchSize: number; fetched: number; dir: string; options: KafkaBenchOptions },
) {
  const { topic, lines, log } = run;
  const { options } = settings;
  let api: ApiProcess | undefined;
  let service: RunningService | undefined;
  try {
    api = await startApi('corpus');
    const spawnedAt = performance.now();
    service = await startService({
      bootstrap: run.bootstrap,
      inputTopic: topic.input,
      prefix: run.prefix,
      apiPort: api.port,
      batchSize: settings.batchSize,
      batchLingerMs: options.batchLingerMs,
      dir: settings.dir,
      consumerProperties: { ...options.consumerProperties },
      producerProperties: { ...options.producerProperties },
    });
    const output = { topic: topic.output, partitions: run.partitions, total: lines.length };
    const catchUp = await watchCatchUp(service, api.child.pid!, run.offsets, output, spawnedAt);
    if (catchUp.events < lines.length / 2) {
      throw new Error(`only ${catchUp.events} of ${lines.length} events after the first output`);
    }
    await expectTotal(run, topic.output, lines.length, 'service');
    const outcomes = outcomeTotals(await service.metrics());
    const expected = { enriched: settings.fetched, passed: lines.length - settings.fetched };
    const others = Object.entries(outcomes).filter(([k, v]) => k !== 'enriched' && k !== 'passed' && v > 0);
    if (outcomes.enriched !== expected.enriched || outcomes.passed !== expected.passed || others.length) {
      throw new Error(`outcomes ${JSON.stringify(outcomes)}, expected ${JSON.stringify(expected)}`);
    }
    await expectTotal(run, topic.error, 0, 'error events');
    log(
      `service: ${Math.round(catchUp.events / catchUp.seconds)} events/s, ` +
        `${(catchUp.cpuMicros / catchUp.events).toFixed(1)} µs CPU/event`,
    );

    const running = service;
    // Already running and caught up: nothing to start.
    const latency = await latencyThrough(run, async () => ({ stop: async () => undefined }), {
      input: topic.input,
      output: topic.output,
      tag: '3',
    });
    log(`service latency at ${run.rate}/s: p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms`);
    const peakRss = await peakRssBytes(running);
    service = undefined;
    await running.stop();
    await expectTotal(run, topic.output, lines.length + latency.events, 'service, after the latency run');
    await expectTotal(run, topic.error, 0, 'error events');
    return { catchUp, outcomes, latency, peakRss };
  } finally {
    await service?.stop().catch(() => undefined);
    api?.child.kill('SIGTERM');
  }
}

/** Everything above in one run, on the tests' broker (`withBroker`); throws unless every check holds. */
export function measureKafka(options: KafkaBenchOptions = {}): Promise<KafkaBenchResult> {
  return withBroker((bootstrap) => measureOnBroker(bootstrap, options));
}

async function measureOnBroker(bootstrap: string, options: KafkaBenchOptions): Promise<KafkaBenchResult> {
  const started = performance.now();
  const scale = options.scale ?? 1;
  const events = Math.max(1000, Math.round((options.events ?? 100_000) * scale));
  const partitions = options.partitions ?? 4;
  const batchSize = options.batchSize ?? 50;
  const log = options.log ?? (() => undefined);

  await ensureBuilt();
  const { lines, stats } = generateCorpus(events);
  await checkCorpus(lines, SCHEMA_DIR);
  const inputBytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
  const floor = floorOf(lines, batchSize, await pageChangeValidator(SCHEMA_DIR));
  log(
    `CPU floor: ${floor.cpuMicrosPerEvent.toFixed(1)} µs/event over ${events} events (median of ` +
      `${floor.passes.map((p) => p.toFixed(1)).join(', ')})`,
  );

  const prefix = `${uniqueName('bench-kafka')}.`;
  const topic = topicsOf(prefix);
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-kafka-floor-'));
  const offsets = await connectEndOffsets(bootstrap);
  const run: Run = {
    bootstrap,
    prefix,
    topic,
    offsets,
    partitions,
    lines,
    rate: options.latencyRate ?? 1000,
    latencySeconds: Math.max(5, (options.latencySeconds ?? 20) * scale),
    log,
  };
  try {
    await createTopics(
      bootstrap,
      Object.values(topic).map((name) => ({
        topic: name,
        partitions,
        ...(name === topic.output && { config: { 'max.message.bytes': String(MAX_RECORD_BYTES) } }),
      })),
    );
    await produceLines(bootstrap, topic.input, lines.map(kcatLine));
    await expectTotal(run, topic.input, events, 'input');
    log(`input: ${events} events, ${(inputBytes / 1e6).toFixed(0)} MB on ${partitions} partitions`);

    const kafka = await measureKafkaAlone(run, options.kcatLatency ?? false);
    const service = await measureService(run, { batchSize, fetched: stats.fetched, dir, options });

    const { catchUp } = service;
    const serviceMicros = catchUp.cpuMicros / catchUp.events;
    const kcatMicros = kafka.cpuMicros / events;
    const round = (n: number) => (n >= 100 ? Math.round(n) : Math.round(n * 10) / 10);
    return {
      events,
      partitions,
      batch_size: batchSize,
      batch_linger_ms: options.batchLingerMs ?? DEFAULT_MEDIAWIKI_OPTIONS.lingerMs,
      input_mb: Math.round(inputBytes / 1e5) / 10,
      enriched: service.outcomes.enriched!,
      passed: service.outcomes.passed!,
      floor: {
        cpu_us_per_event: round(floor.cpuMicrosPerEvent),
        cpu_us_per_event_passes: floor.passes.map(round),
        seconds: round(floor.seconds),
      },
      kcat: {
        events_per_s: Math.round(events / kafka.copy.seconds),
        seconds: round(kafka.copy.seconds),
        cpu_us_per_event: round(kcatMicros),
        consumer_cpu_us_per_event: round(kafka.copy.consumerCpuMicros / events),
        producer_cpu_us_per_event: round(kafka.copy.producerCpuMicros / events),
      },
      service: {
        events_per_s: Math.round(catchUp.events / catchUp.seconds),
        seconds: round(catchUp.seconds),
        startup_seconds: round(catchUp.startupSeconds),
        cpu_us_per_event: round(serviceMicros),
        peak_rss_mb: Math.round(service.peakRss / 2 ** 20),
        api_cpu_us_per_event: round(catchUp.apiCpuMicros / catchUp.events),
        consumer_properties: { ...options.consumerProperties },
        producer_properties: { ...options.producerProperties },
      },
      ratio: Math.round((serviceMicros / (kcatMicros + floor.cpuMicrosPerEvent)) * 100) / 100,
      latency: {
        rate_per_s: run.rate,
        seconds: run.latencySeconds,
        copy: kafka.copyLatency,
        service: service.latency,
        ...(kafka.kcatLatency && { kcat: kafka.kcatLatency }),
      },
      seconds: Math.round((performance.now() - started) / 1000),
    };
  } finally {
    await offsets.close();
    await deleteTopics(bootstrap, Object.values(topic)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The figures as a small table. */
export function kafkaTable(r: KafkaBenchResult): string {
  const lat = (l: LatencyFigures) => `${l.p50_ms} / ${l.p99_ms} / ${l.max_ms}`;
  const added = (service: number, copy: number) => (Math.round((service - copy) * 10) / 10).toFixed(1);
  const head = ['', 'events/s', 'CPU µs/event', `latency ms p50 / p99 / max at ${r.latency.rate_per_s}/s`];
  const rows = [
    [
      'kcat pass-through',
      String(r.kcat.events_per_s),
      String(r.kcat.cpu_us_per_event),
      r.latency.kcat ? lat(r.latency.kcat) : '',
    ],
    ['librdkafka copy', '', '', lat(r.latency.copy)],
    ['CPU floor', '', String(r.floor.cpu_us_per_event), ''],
    ['service', String(r.service.events_per_s), String(r.service.cpu_us_per_event), lat(r.latency.service)],
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    `ratio service ÷ (kcat + floor): ${r.ratio.toFixed(2)}×; latency added by the service: ` +
      `p50 ${added(r.latency.service.p50_ms, r.latency.copy.p50_ms)} ms, ` +
      `p99 ${added(r.latency.service.p99_ms, r.latency.copy.p99_ms)} ms`,
    `service peak RSS ${r.service.peak_rss_mb} MB, start-up ${r.service.startup_seconds} s; ` +
      `stand-in API ${r.service.api_cpu_us_per_event} µs CPU/event (not counted)`,
  ].join('\n');
}

/** `name=value,name=value` → properties. */
function propertiesFrom(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`not name=value: ${pair}`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

async function main(): Promise<void> {
  const env = process.env;
  const number = (name: string) => (env[name] === undefined ? undefined : Number(env[name]));
  const result = await measureKafka({
    events: number('KAFKA_FLOOR_EVENTS'),
    scale: number('BENCH_SCALE'),
    partitions: number('KAFKA_FLOOR_PARTITIONS'),
    latencyRate: number('KAFKA_FLOOR_LATENCY_RATE'),
    latencySeconds: number('KAFKA_FLOOR_LATENCY_SECONDS'),
    batchLingerMs: number('KAFKA_FLOOR_BATCH_LINGER_MS'),
    kcatLatency: env.KAFKA_FLOOR_KCAT_LATENCY === '1',
    consumerProperties: propertiesFrom(env.KAFKA_FLOOR_CONSUMER_PROPERTIES),
    producerProperties: propertiesFrom(env.KAFKA_FLOOR_PRODUCER_PROPERTIES),
    log: (line) => console.log(`  ${line}`),
  });
  console.log(
    `\n${result.events} events (${result.input_mb} MB) on ${result.partitions} partitions, ` +
      `batch ${result.batch_size}; node ${process.version}; ${result.seconds} s in all\n`,
  );
  console.log(kafkaTable(result));
  if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
