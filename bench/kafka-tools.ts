/**
 * Small pieces the Kafka benchmarks share: the Action API stand-in as a process, topic clean-up and
 * end offsets, a process's CPU and memory from /proc, and Prometheus text parsing.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { REPO_ROOT } from '../test/helpers/cli.js';
import { ensureKafka, kafkaScript } from '../test/helpers/kafka.js';

export interface ApiProcess {
  readonly child: ChildProcess;
  readonly port: number;
}

/**
 * The Action API simulator (bench/api-simulator.ts) without latency, in its own process, so that its CPU is
 * not the service's. `contentBytes`: bytes of every revision, or 'corpus' for the realistic
 * corpus's size of each revision id. The one place that starts it: swap the API here.
 */
export async function startApi(contentBytes: number | 'corpus'): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/api-simulator.ts')], {
    env: { ...process.env, CONTENT_BYTES: String(contentBytes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: Number(chunk.toString().trim()) };
}

export async function deleteTopics(bootstrap: string, topics: readonly string[]): Promise<void> {
  const admin = RdKafka.AdminClient.create({ 'bootstrap.servers': bootstrap, 'client.id': 'bench-admin' });
  try {
    for (const topic of topics) {
      await new Promise<void>((resolve) => admin.deleteTopic(topic, 30_000, () => resolve()));
    }
  } finally {
    admin.disconnect();
  }
}

/** End offsets of topics, asked of the broker again and again (a consumer that joins no group). */
export interface EndOffsets {
  /** The next offset of each partition 0 … partitions − 1. */
  of(topic: string, partitions: number): Promise<number[]>;
  /** Records in the topic: the sum of its end offsets (fresh topics: nothing deleted). */
  total(topic: string, partitions: number): Promise<number>;
  close(): Promise<void>;
}

export async function connectEndOffsets(bootstrap: string): Promise<EndOffsets> {
  const consumer = new RdKafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': 'bench-end-offsets', 'client.id': 'bench-end-offsets' },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  const high = (topic: string, partition: number) =>
    new Promise<number>((resolve, reject) =>
      consumer.queryWatermarkOffsets(topic, partition, 10_000, (err, offsets) =>
        err ? reject(err) : resolve(offsets.highOffset),
      ),
    );
  const of = (topic: string, partitions: number) =>
    Promise.all(Array.from({ length: partitions }, (_, p) => high(topic, p)));
  return {
    of,
    total: async (topic, partitions) => (await of(topic, partitions)).reduce((a, b) => a + b, 0),
    close: () => new Promise<void>((resolve) => consumer.disconnect(() => resolve())),
  };
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU (user + system, all threads) a running process has used so far, in µs; 10 ms resolution. */
export async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return (ticks * 1e6) / ticksPerSecond();
}

/** A byte figure of /proc/<pid>/status, e.g. VmRSS (resident now) or VmHWM (peak resident). */
export async function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** The values of one Prometheus metric, by its label set as written. */
export function metricValues(body: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) out.set(match[2] ?? '', Number(match[3]));
  }
  return out;
}

/** `mw_enrich_outcomes_total` summed per outcome (its series are per outcome and page_change_kind). */
export function outcomeTotals(body: string): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const [labels, value] of metricValues(body, 'mw_enrich_outcomes_total')) {
    const outcome = /outcome="(\w+)"/.exec(labels)?.[1] ?? labels;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + value;
  }
  return outcomes;
}

export interface KafkaServiceConfig {
  readonly bootstrap: string;
  readonly inputTopic: string;
  /** kafka_topic_prefix of the sinks. */
  readonly prefix: string;
  readonly consumerGroup: string;
  readonly apiPort: number;
  readonly metricsPort: number;
  /** Said in the User-Agent: which benchmark asks. */
  readonly purpose: string;
  /** Over the configuration's `enrich` defaults. */
  readonly enrich?: Readonly<Record<string, unknown>>;
  readonly consumerProperties?: Readonly<Record<string, string>>;
  /** librdkafka properties of both sinks. */
  readonly sinkProperties?: Readonly<Record<string, string>>;
}

/** The page-content-change job, Kafka to Kafka, against the API stand-in: its configuration file's content. */
export function kafkaServiceConfig(o: KafkaServiceConfig): string {
  const sinkOptions = {
    bootstrap_servers: [o.bootstrap],
    kafka_topic_prefix: o.prefix,
    ...(o.sinkProperties && { properties: o.sinkProperties }),
  };
  return JSON.stringify({
    stream_manager: {
      job_name: 'mw-page-content-change-enrich',
      stream_config_uri: 'examples/stream-config.yaml',
      schema_uris: ['schemas/primary/jsonschema'],
      source: {
        stream: 'mediawiki.page_change.v1:1.2.0',
        connector: 'kafka',
        options: {
          bootstrap_servers: [o.bootstrap],
          topics: [o.inputTopic],
          consumer_group: o.consumerGroup,
          offsets_initializer: 'earliest',
          ...(o.consumerProperties && { properties: o.consumerProperties }),
        },
      },
      sink: { stream: 'mediawiki.page_content_change.v1:1.2.0', connector: 'kafka', options: sinkOptions },
      error_sink: {
        stream: 'mw-page-content-change-enrich.error:2.1.0',
        connector: 'kafka',
        options: sinkOptions,
      },
    },
    enrich: {
      mediawiki_api_endpoint_template: `http://127.0.0.1:${o.apiPort}/w/api.php`,
      user_agent: `mediawiki-event-enrichment-bench/0.1 (${o.purpose}; bench@example.org)`,
      ...o.enrich,
    },
    runtime: { metrics_port: o.metricsPort, log_level: 'warn' },
  });
}

/**
 * Runs `run` with the tests' broker (scripts/kafka.sh): the one that answers, else one started for
 * this run and stopped again after it, so that a benchmark leaves the machine as it found it.
 */
export async function withBroker<T>(run: (bootstrap: string) => Promise<T>): Promise<T> {
  const running = await kafkaScript('status').then(
    () => true,
    () => false,
  );
  try {
    return await run(await ensureKafka());
  } finally {
    if (!running) await kafkaScript('stop');
  }
}
