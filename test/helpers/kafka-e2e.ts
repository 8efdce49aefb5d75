/**
 * The whole service on a real broker, for the `test/e2e/kafka-*` tests: the built CLI
 * (`bin/mw-enrich.js`) as child processes with configs written to a temp folder, Kafka source →
 * Kafka sink + Kafka error sink, the Action API a `MisbehavingApi` in the test process, inputs
 * written and outputs read with kcat (an independent client).
 *
 *     const run = await e2eRun(t, 'basic', { partitions: { input: 4 }, api: { seed: 1, minMs: 1, maxMs: 5 } });
 *     const inputs = pageChanges(100, { pages: 10 });
 *     addRevisions(run.api, inputs);
 *     const { ends } = await run.produce(inputs);
 *     const service = run.start(await run.config());
 *     await run.finish(service, ends, 120_000);
 *     const { outputs, errors, books } = await run.books(inputs);
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createTopics } from '../../src/connectors/kafka/index.js';
import { ensureBuilt, pageContentChange, spawnCli, type CliRun } from './cli.js';
import {
  account,
  readErrors,
  readInputs,
  readOutputs,
  type Accounting,
  type InputRecord,
  type Isolation,
  type OutcomeRecord,
} from './kafka-e2e-books.js';
import { produceInputs, type Input, type Json } from './kafka-e2e-inputs.js';
import {
  endOffsets,
  ensureKafka,
  groupOffsets,
  sum,
  uniqueName,
  type GroupOffsets,
  type Offsets,
} from './kafka.js';
import { startApi, tempDir } from './job-harness.js';
import type { MisbehavingApi } from './misbehaving-api.js';
import { randomLatency, seeded } from './random.js';
import { SHARED_SCHEMAS_URI } from './schemas.js';
import { waitUntil } from './wait.js';

export const JOB_NAME = 'mw-page-content-change-enrich';
export const SOURCE_STREAM = 'mediawiki.page_change.v1';
export const SINK_STREAM = 'mediawiki.page_content_change.v1';
export const ERROR_STREAM = `${JOB_NAME}.error`;
export const USER_AGENT = 'mediawiki-event-enrichment-tests/0.1 (kafka e2e; tests@example.org)';

export interface E2eTopics {
  /** The input topic (`<prefix>mediawiki.page_change.v1`). */
  readonly input: string;
  /** `kafka_topic_prefix` of both sinks, like WMF's `eqiad.`; unique per test. */
  readonly prefix: string;
  /** `<prefix>mediawiki.page_content_change.v1` */
  readonly output: string;
  /** `<prefix>mw-page-content-change-enrich.error` */
  readonly errors: string;
}

export interface TopicPartitions {
  readonly input: number;
  /** Default: as many as the input. */
  readonly output?: number;
  /** Default 1. */
  readonly errors?: number;
  readonly outputConfig?: Record<string, string>;
}

/**
 * Creates the input, output and error topics under a prefix no other test uses. The sinks would
 * create their topics on first use (the broker auto-creates), but then with the broker's default
 * partition count and only once the first record arrives; created here they exist from the start.
 */
export async function createE2eTopics(
  bootstrap: string,
  name: string,
  partitions: TopicPartitions,
): Promise<E2eTopics> {
  const prefix = `${uniqueName(`e2e-${name}`)}.`;
  const topics: E2eTopics = {
    input: `${prefix}${SOURCE_STREAM}`,
    prefix,
    output: `${prefix}${SINK_STREAM}`,
    errors: `${prefix}${ERROR_STREAM}`,
  };
  // Output records carry the event's dt as their timestamp, and the events' dt lies in the past:
  // time-based retention (7 days by default) would delete them at the broker's next retention
  // check, or at once when it restarts. The tests' topics keep everything.
  const keep = { 'retention.ms': '-1' };
  await createTopics(bootstrap, [
    { topic: topics.input, partitions: partitions.input, config: keep },
    {
      topic: topics.output,
      partitions: partitions.output ?? partitions.input,
      config: { ...keep, ...partitions.outputConfig },
    },
    { topic: topics.errors, partitions: partitions.errors ?? 1, config: keep },
  ]);
  return topics;
}

export interface ServiceConfigOptions {
  bootstrap: string;
  topics: E2eTopics;
  group: string;
  endpoint: string;
  deliveryGuarantee?: 'AT_LEAST_ONCE' | 'EXACTLY_ONCE';
  /**
   * `instance_id` of the source (group.instance.id, and the transactional id under EXACTLY_ONCE);
   * default the host name, so processes running at the same time in one group need their own.
   */
  instanceId?: string;
  maxBufferedRecords?: number;
  sourceProperties?: Record<string, string>;
  sinkProperties?: Record<string, string>;
  errorSinkProperties?: Record<string, string>;
  /** Merged over the `enrich` section. */
  enrich?: Json;
  /** Merged over the `runtime` section. */
  runtime?: Json;
}

/**
 * A session timeout of 6 s (the broker's minimum) instead of librdkafka's 45 s: after a SIGKILL the
 * dead member holds its partitions until its session expires, and every restart waits for that.
 */
export const FAST_GROUP_PROPERTIES: Readonly<Record<string, string>> = {
  'session.timeout.ms': '6000',
  'heartbeat.interval.ms': '1000',
};

/** The config document of one service process (JSON, which is YAML). */
export function serviceConfig(o: ServiceConfigOptions): Json {
  const guarantee = o.deliveryGuarantee ?? 'AT_LEAST_ONCE';
  const sinkOptions = (properties: Record<string, string> | undefined) => ({
    bootstrap_servers: [o.bootstrap],
    kafka_topic_prefix: o.topics.prefix,
    delivery_guarantee: guarantee,
    ...(properties ? { properties } : {}),
  });
  return {
    stream_manager: {
      job_name: JOB_NAME,
      // Relative to the service's working directory, the repository root.
      stream_config_uri: 'examples/stream-config.yaml',
      schema_uris: [SHARED_SCHEMAS_URI],
      source: {
        stream: `${SOURCE_STREAM}:1.2.0`,
        connector: 'kafka',
        options: {
          bootstrap_servers: [o.bootstrap],
          topics: [o.topics.input],
          consumer_group: o.group,
          offsets_initializer: 'earliest',
          delivery_guarantee: guarantee,
          ...(o.instanceId ? { instance_id: o.instanceId } : {}),
          ...(o.maxBufferedRecords ? { max_buffered_records: o.maxBufferedRecords } : {}),
          properties: { ...FAST_GROUP_PROPERTIES, ...o.sourceProperties },
        },
      },
      sink: { stream: `${SINK_STREAM}:1.2.0`, connector: 'kafka', options: sinkOptions(o.sinkProperties) },
      error_sink: {
        stream: `${ERROR_STREAM}:2.1.0`,
        connector: 'kafka',
        options: sinkOptions(o.errorSinkProperties ?? o.sinkProperties),
      },
    },
    enrich: {
      mediawiki_api_endpoint_template: o.endpoint,
      user_agent: USER_AGENT,
      // The test API answers in milliseconds; failures are not expected, but if one happens it is
      // retried quickly instead of holding the run for seconds.
      connect_timeout_ms: 2_000,
      request_timeout: 10,
      retry: { max_retries: 3, initial_delay_ms: 50, multiplier: 2, max_delay_ms: 500, jitter: 0 },
      ...o.enrich,
    },
    runtime: { log_level: 'info', commit_interval_ms: 200, drain_timeout_ms: 10_000, ...o.runtime },
  };
}

/**
 * Starts `node bin/mw-enrich.js page-content-change --config <config> [--config …]` in the
 * repository root (relative paths in configs are relative to it); SIGKILLed when the test ends,
 * should it still run.
 */
export function startService(t: TestContext, configs: readonly string[], label = 'service'): CliRun {
  return spawnCli(t, pageContentChange(...configs), { label, stdout: 'ignore' });
}

/** Partitions (`topic/n`) the process holds according to its assign/revoke log lines. */
export function assignedPartitions(service: CliRun): Set<string> {
  const held = new Set<string>();
  for (const line of service.logs()) {
    const partitions = (line.partitions as string[] | undefined) ?? [];
    if (line.message === 'kafka partitions assigned') for (const p of partitions) held.add(p);
    if (line.message === 'kafka partitions revoked') for (const p of partitions) held.delete(p);
  }
  return held;
}

/** One test's topics, consumer group, test API and service processes. */
export interface E2eRun {
  readonly bootstrap: string;
  readonly topics: E2eTopics;
  readonly group: string;
  /** The group's committed offsets. */
  readonly offsets: GroupOffsets;
  readonly api: MisbehavingApi;
  /** Produces the inputs, then reads them back: where each landed, and the input's end offsets. */
  produce(
    inputs: readonly Input[],
  ): Promise<{ placed: Map<string, InputRecord>; ends: Map<string, number>; total: number }>;
  /** Writes a config document to this run's temp folder; returns its path. */
  write(file: string, document: Json): Promise<string>;
  /** Writes the service config of this run's topics, group and API, with `options`; returns its path. */
  config(options?: Partial<ServiceConfigOptions>, file?: string): Promise<string>;
  start(config: string | readonly string[], label?: string): CliRun;
  /**
   * Waits until the group committed `ends` while `service` runs (it must not exit before), then
   * stops it with SIGTERM: it must exit 0.
   */
  finish(service: CliRun, ends: Offsets, timeoutMs: number, what?: string): Promise<void>;
  /** The outputs and error events as they stand. */
  outcomes(isolation?: Isolation): Promise<{ outputs: OutcomeRecord[]; errors: OutcomeRecord[] }>;
  /** The outputs and error events as they stand, and their books against the inputs. */
  books(
    inputs: readonly Input[],
    isolation?: Isolation,
  ): Promise<{ outputs: OutcomeRecord[]; errors: OutcomeRecord[]; books: Accounting }>;
}

/**
 * An API whose answers take 80–100 ms: each record holds its window slot until its answer, so a
 * run admits at most max_in_flight records per 80 ms, and a test can tell how far a run can have
 * got in a given time.
 */
export const PACED_API = { minMs: 80, maxMs: 100 } as const;

let ready: Promise<string> | undefined;

/**
 * Starts the broker and builds the CLI, if need be (once per test process); then creates topics
 * under the prefix `e2e-<name>-…`, a group `e2e-<name>-…` with a reader of its offsets, and a test
 * API that serves every request after a seeded random delay.
 */
export async function e2eRun(
  t: TestContext,
  name: string,
  o: { partitions: TopicPartitions; api: { seed: number; minMs: number; maxMs: number } },
): Promise<E2eRun> {
  ready ??= Promise.all([ensureKafka(), ensureBuilt()]).then(([bootstrap]) => bootstrap);
  const bootstrap = await ready;
  const topics = await createE2eTopics(bootstrap, name, o.partitions);
  const group = uniqueName(`e2e-${name}`);
  const offsets = await groupOffsets(t, bootstrap, group);
  const api = await startApi(t, { fallback: randomLatency(seeded(o.api.seed), o.api.minMs, o.api.maxMs) });
  let dir: Promise<string> | undefined;
  const write = async (file: string, document: Json) => {
    const path = join(await (dir ??= tempDir(t, `kafka-e2e-${name}-`)), file);
    await writeFile(path, JSON.stringify(document, null, 2));
    return path;
  };
  const outcomes = async (isolation?: Isolation) => ({
    outputs: await readOutputs(bootstrap, topics.output, isolation),
    errors: await readErrors(bootstrap, topics.errors, isolation),
  });
  return {
    bootstrap,
    topics,
    group,
    offsets,
    api,
    async produce(inputs) {
      await produceInputs(bootstrap, topics.input, inputs);
      const placed = await readInputs(bootstrap, topics.input, inputs);
      const ends = endOffsets([...placed.values()], topics.input);
      return { placed, ends, total: sum(ends) };
    },
    write,
    config: (options = {}, file = 'service.json') =>
      write(file, serviceConfig({ bootstrap, topics, group, endpoint: api.url, ...options })),
    start: (config, label) => startService(t, typeof config === 'string' ? [config] : config, label),
    async finish(service, ends, timeoutMs, what = 'the committed offsets to reach the end of the input') {
      await waitUntil(what, () => offsets.reached(ends), { timeoutMs, intervalMs: 300, watch: [service] });
      assert.deepEqual(await service.stop(), { code: 0, signal: null }, service.report());
    },
    outcomes,
    async books(inputs, isolation) {
      const { outputs, errors } = await outcomes(isolation);
      return { outputs, errors, books: account(inputs, outputs, errors) };
    },
  };
}
