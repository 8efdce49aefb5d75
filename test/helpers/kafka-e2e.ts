/**
 * The whole service on a real broker, for the `test/e2e/kafka-*` tests: the built CLI
 * (`bin/mw-enrich.js`) as child processes with configs written to a temp folder, Kafka source →
 * Kafka sink + Kafka error sink, the Action API a `MisbehavingApi` in the test process, inputs
 * written and outputs read with kcat (an independent client).
 *
 *     const bootstrap = await ensureKafka();
 *     const topics = await createE2eTopics(bootstrap, 'basic', { inputPartitions: 4 });
 *     const api = await startApi(t, { fallback: randomLatency(seeded(1), 1, 5) });
 *     const inputs = pageChanges(100, { pages: 10 });
 *     addRevisions(api, inputs);
 *     await produceInputs(bootstrap, topics.input, inputs);
 *     const dir = await tempDir(t, 'kafka-e2e-');
 *     const config = await writeConfig(dir, 'service.json', serviceConfig({ bootstrap, topics, group, endpoint: api.url }));
 *     const service = startService(t, config);
 *     await waitUntil('everything committed', () => isFullyCommitted(bootstrap, group, topics.input), { timeoutMs: 120_000 });
 *     assert.deepEqual(await service.stop(), { code: 0, signal: null });
 *
 * Events are identified by `meta.request_id` (`e2e-<n>`), which the outputs keep and error events
 * carry inside `raw_event`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { createTopics } from '../../src/connectors/kafka/index.js';
import { BIN, REPO_ROOT } from './cli.js';
import { deepMerge, pageChangeEvent } from './events.js';
import { uniqueName } from './kafka.js';
import { kcatConsume, kcatProduce, type KcatRecord } from './kcat.js';
import type { Behaviour, MisbehavingApi } from './misbehaving-api.js';
import { SHARED_SCHEMAS_URI } from './schemas.js';

export type Json = Record<string, unknown>;

export const JOB_NAME = 'mw-page-content-change-enrich';
export const SOURCE_STREAM = 'mediawiki.page_change.v1';
export const SINK_STREAM = 'mediawiki.page_content_change.v1';
export const ERROR_STREAM = `${JOB_NAME}.error`;
export const WIKI_ID = 'enwiki';
export const USER_AGENT = 'mediawiki-event-enrichment-tests/0.1 (kafka e2e; tests@example.org)';

// ---------------------------------------------------------------------------------------------
// Seeded randomness: a failing run can be repeated exactly.

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] from `random`. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** An API fallback that serves every request after a random delay in [minMs, maxMs]. */
export function randomLatency(random: () => number, minMs: number, maxMs: number): () => Behaviour {
  return () => ({ kind: 'serve', delayMs: between(random, minMs, maxMs) });
}

// ---------------------------------------------------------------------------------------------
// Topics

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

/**
 * Creates the input, output and error topics under a prefix no other test uses. The sinks would
 * create their topics on first use (the broker auto-creates), but then with the broker's default
 * partition count and only once the first record arrives; created here they exist from the start.
 */
export async function createE2eTopics(
  bootstrap: string,
  name: string,
  partitions: { input: number; output?: number; errors?: number; outputConfig?: Record<string, string> },
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

// ---------------------------------------------------------------------------------------------
// Inputs

export interface Input {
  /** `meta.request_id`, or for a line that is not an event, a marker inside the line. */
  readonly id: string;
  readonly pageId: number;
  /** 0 for a line that is not an event. */
  readonly revId: number;
  /** The message key as produced: `{"wiki_id":…,"page_id":…}`. */
  readonly key: string;
  /** The message value as produced. */
  readonly value: string;
  /** `dt` in milliseconds (0 when the line is not an event). */
  readonly dtMs: number;
}

export function messageKey(pageId: number, wikiId = WIKI_ID): string {
  return JSON.stringify({ wiki_id: wikiId, page_id: pageId });
}

const DT_BASE = Date.parse('2025-01-01T00:00:00Z');

/**
 * One edit event: revision `revId` of page `pageId`, `meta.request_id` = `id`, `dt` a distinct
 * second per revision (so record timestamps can be checked against it). `meta.dt` stays in the past,
 * so a missing revision is not retried as "recent".
 */
export function editEvent(id: string, pageId: number, revId: number, overrides: Json = {}): Input {
  const dtMs = DT_BASE + revId * 1000;
  const dt = new Date(dtMs).toISOString().replace('.000Z', 'Z');
  const base = pageChangeEvent({
    dt,
    meta: { request_id: id, uri: `https://en.wikipedia.org/wiki/Page_${pageId}` },
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    revision: {
      rev_id: revId,
      rev_parent_id: revId - 1,
      rev_dt: dt,
      content_slots: { main: { origin_rev_id: revId } },
    },
  });
  const event = deepMerge(base, overrides);
  // meta.id is a required uuid: derive a distinct one from the revision id.
  (event.meta as Json).id = `00000000-0000-4000-8000-${revId.toString(16).padStart(12, '0')}`;
  return { id, pageId, revId, key: messageKey(pageId), value: JSON.stringify(event), dtMs };
}

/**
 * `count` edits spread over `pages` pages in a seeded random order of pages; revision ids grow with
 * the input index, so per page they grow in input order. Ids are `e2e-<index>`.
 */
export function pageChanges(
  count: number,
  options: { pages: number; seed?: number; firstRevId?: number },
): Input[] {
  const random = seeded(options.seed ?? 1);
  const first = options.firstRevId ?? 1000;
  return Array.from({ length: count }, (_, i) =>
    editEvent(`e2e-${i}`, 1 + Math.floor(random() * options.pages), first + i),
  );
}

/** Content the API serves for a revision: derived from the id, so every output can be checked. */
export function contentOf(revId: number): string {
  return `content of revision ${revId} ${'x'.repeat(revId % 97)}`;
}

/** Stores every input's revision in the API (except those listed, which the API reports missing). */
export function addRevisions(
  api: MisbehavingApi,
  inputs: readonly Input[],
  options: { missing?: ReadonlySet<number> } = {},
): void {
  for (const input of inputs) {
    if (input.revId === 0 || options.missing?.has(input.revId)) continue;
    api.addRevision({
      revId: input.revId,
      pageId: input.pageId,
      title: `Page_${input.pageId}`,
      slots: { main: { content: contentOf(input.revId) } },
    });
  }
}

/** Produces the inputs with kcat in chunks (the default partitioner spreads keys over partitions). */
export async function produceInputs(
  bootstrap: string,
  topic: string,
  inputs: readonly Input[],
): Promise<void> {
  for (let i = 0; i < inputs.length; i += 5000) {
    await kcatProduce(
      bootstrap,
      topic,
      inputs.slice(i, i + 5000).map((input) => ({ key: input.key, value: input.value })),
    );
  }
}

export interface RawRecord {
  readonly partition: number;
  readonly key: Buffer | null;
  /** null: a tombstone (no value at all), unlike an empty Buffer. */
  readonly value: Buffer | null;
}

/**
 * Produces records as bytes, each to its partition, in order, and waits until the broker stored
 * every one. For what kcat's line format cannot carry: NUL bytes, bytes that are not UTF-8, empty
 * values, tombstones, tabs and newlines.
 */
export async function produceRaw(
  bootstrap: string,
  topic: string,
  records: readonly RawRecord[],
  /** More librdkafka producer properties, e.g. a larger `message.max.bytes`. */
  properties: Record<string, string | number> = {},
): Promise<void> {
  const producer = new RdKafka.Producer({
    ...properties,
    'bootstrap.servers': bootstrap,
    'client.id': 'e2e-raw-producer',
    'enable.idempotence': true,
    dr_cb: true,
  });
  await new Promise<void>((resolve, reject) =>
    producer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  try {
    let pending = records.length;
    const failures: string[] = [];
    const delivered = new Promise<void>((resolve) => {
      if (pending === 0) resolve();
      producer.on('delivery-report', (err) => {
        if (err) failures.push(err.message);
        if (--pending === 0) resolve();
      });
    });
    producer.setPollInterval(10);
    for (const r of records) producer.produce(topic, r.partition, r.value, r.key);
    await withDeadline(delivered, 60_000, `delivery of ${records.length} records to ${topic}`);
    assert.deepEqual(failures, [], 'every raw record was delivered');
  } finally {
    producer.setPollInterval(0);
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// Config

export interface ServiceConfigOptions {
  bootstrap: string;
  topics: E2eTopics;
  group: string;
  endpoint: string;
  deliveryGuarantee?: 'AT_LEAST_ONCE' | 'EXACTLY_ONCE';
  /** `instance_id` of the source (EXACTLY_ONCE transactional id); default the host name. */
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

export async function writeConfig(dir: string, name: string, config: Json): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

// ---------------------------------------------------------------------------------------------
// Service processes

export interface Service {
  readonly label: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Settles when the process has exited and its output is closed. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** Standard error's JSON log lines (ECS). */
  logs(): Json[];
  /** SIGKILL by pid; resolves once the process is gone. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM by pid (drain, commit, exit 0); resolves with the exit status. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node bin/mw-enrich.js page-content-change --config <config> [--config …]` in the
 * repository root (relative paths in configs are relative to it). The process is SIGKILLed (by its
 * pid) when the test ends, should it still run.
 */
export function startService(
  t: TestContext,
  configs: string | readonly string[],
  label = 'service',
): Service {
  const args = (typeof configs === 'string' ? [configs] : configs).flatMap((c) => ['--config', c]);
  const child = spawn(process.execPath, [BIN, 'page-content-change', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  assert.ok(child.pid, `${label} did not start`);
  const pid = child.pid;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const running = () => child.exitCode === null && child.signalCode === null;
  t.after(() => {
    if (running()) process.kill(pid, 'SIGKILL');
  });
  return {
    label,
    pid,
    child,
    exited,
    stderr: () => stderr,
    logs: () => logLines(stderr),
    async kill() {
      if (running()) process.kill(pid, 'SIGKILL');
      return exited;
    },
    async stop(timeoutMs = 60_000) {
      if (running()) process.kill(pid, 'SIGTERM');
      return withDeadline(exited, timeoutMs, `${label} (pid ${pid}) to exit after SIGTERM`, () => stderr);
    },
  };
}

export function logLines(stderr: string): Json[] {
  const out: Json[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Json);
    } catch {
      // A line cut by SIGKILL.
    }
  }
  return out;
}

/** Partitions (`topic/n`) the process holds according to its assign/revoke log lines. */
export function assignedPartitions(service: Service): Set<string> {
  const held = new Set<string>();
  for (const line of service.logs()) {
    const partitions = (line.partitions as string[] | undefined) ?? [];
    if (line.message === 'kafka partitions assigned') for (const p of partitions) held.add(p);
    if (line.message === 'kafka partitions revoked') for (const p of partitions) held.delete(p);
  }
  return held;
}

/** The `summary: …` line's counts. */
export function summaryCounts(stderr: string): Record<string, number> | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('summary: '));
  if (line === undefined) return undefined;
  const counts: Record<string, number> = {};
  for (const [, key, value] of line.matchAll(/(\w+)=(\d+)/g)) counts[key!] = Number(value);
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Waiting

async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  context?: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${tail(context())}` : ''}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a failure message shows of a service's standard error: its error lines (the cause is often
 * far above the end, behind retry warnings), then its last lines.
 */
function tail(text: string, lines = 15): string {
  const all = text.split('\n');
  const errors = all
    .filter((l) => /"log\.level":"(error|fatal)"/.test(l) && !l.includes('"librdkafka: '))
    .slice(0, 10);
  return [...(errors.length > 0 ? ['errors:', ...errors, 'last lines:'] : []), ...all.slice(-lines)].join(
    '\n',
  );
}

/**
 * Polls `predicate` every `intervalMs` until it returns true; fails after `timeoutMs` with `what`
 * (and the services' last log lines). Also fails at once when a service it watches exits.
 */
export async function waitUntil(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; services?: readonly Service[] },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await predicate()) return;
    for (const service of options.services ?? []) {
      const { exitCode, signalCode } = service.child;
      if (exitCode !== null || signalCode !== null) {
        throw new Error(
          `${service.label} exited (${exitCode ?? signalCode}) while waiting for ${what}\n${tail(service.stderr())}`,
        );
      }
    }
    if (Date.now() > deadline) {
      const logs = (options.services ?? []).map((s) => `--- ${s.label}:\n${tail(s.stderr())}`).join('\n');
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}\n${logs}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** Waits for the service to exit by itself; fails after `timeoutMs` with its error and last log lines. */
export function waitForExit(
  service: Service,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return withDeadline(service.exited, timeoutMs, `${service.label} (pid ${service.pid}) to exit`, () =>
    service.stderr(),
  );
}

/** Waits until the service logged a line `message` (e.g. 'kafka partitions assigned'). */
export function waitForLog(service: Service, message: string, timeoutMs: number): Promise<void> {
  return waitUntil(
    `${service.label} to log "${message}"`,
    () => service.logs().some((l) => l.message === message),
    {
      timeoutMs,
      intervalMs: 50,
      services: [service],
    },
  );
}

// ---------------------------------------------------------------------------------------------
// The broker

const execFileAsync = promisify(execFile);

/**
 * `scripts/kafka.sh stop` or `start` on the broker the tests use (KAFKA_PORT etc. from the
 * environment, as kafka.ts's restartKafka): for an outage of a chosen length, where restartKafka's
 * stop-then-start is too short.
 */
export async function kafkaScript(command: 'start' | 'stop', timeoutMs = 180_000): Promise<void> {
  await execFileAsync('bash', [join(REPO_ROOT, 'scripts', 'kafka.sh'), command], {
    timeout: timeoutMs,
    env: process.env,
  });
}

/** Stops the broker for `downMs`, then starts it again on the same data (even if the wait fails). */
export async function brokerOutage(downMs: number): Promise<void> {
  await kafkaScript('stop');
  try {
    await sleep(downMs);
  } finally {
    await kafkaScript('start');
  }
}

// ---------------------------------------------------------------------------------------------
// Offsets and topics

/** Next offset to read per partition (`topic/n`), from the records of the whole topic. */
export function endOffsets(records: readonly KcatRecord[], topic: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records)
    out.set(`${topic}/${r.partition}`, Math.max(out.get(`${topic}/${r.partition}`) ?? 0, r.offset + 1));
  return out;
}

/**
 * A consumer group's committed offsets, read by a consumer configured with that group that never
 * subscribes (so it never joins the group or takes partitions): `committed()` asks the group
 * coordinator. Not kafka.ts's `committedOffsets()`: the AdminClient's ListConsumerGroupOffsets
 * crashes the whole test process (SIGSEGV in librdkafka, confluentinc/librdkafka#5040) when the
 * broker answers NOT_COORDINATOR, which it does while a group's coordinator is loading, e.g. right
 * after a broker restart; the consumer's own path retries that answer instead.
 */
export interface GroupOffsets {
  /** `topic/n` → next offset to read, for the partitions of `ends` that have a committed offset. */
  read(ends: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /** Sum of the committed offsets over the partitions of `ends` (0 where none). */
  total(ends: ReadonlyMap<string, number>): Promise<number>;
  /** True when every partition of `ends` is committed to its end; false on a failed read. */
  reached(ends: ReadonlyMap<string, number>): Promise<boolean>;
}

export async function groupOffsets(t: TestContext, bootstrap: string, group: string): Promise<GroupOffsets> {
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': group,
      'enable.auto.commit': false,
      'client.id': 'e2e-offsets-reader',
    },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
  );
  t.after(() => new Promise<void>((resolve) => consumer.disconnect(() => resolve())));
  const committed = (partitions: RdKafka.TopicPartition[]) =>
    new Promise<RdKafka.TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
      consumer.committed(partitions, 15_000, (err, offsets) => (err ? reject(err) : resolve(offsets))),
    );
  const read = async (ends: ReadonlyMap<string, number>) => {
    const partitions = [...ends.keys()].map((key) => {
      const slash = key.lastIndexOf('/');
      return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
    });
    // Right after a broker restart the coordinator answers NOT_COORDINATOR or "loading" for a while.
    let result: RdKafka.TopicPartitionOffsetAndMetadata[] | undefined;
    for (const deadline = Date.now() + 60_000; result === undefined;) {
      try {
        result = await committed(partitions);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
    const out = new Map<string, number>();
    for (const p of result) if (p.offset >= 0) out.set(`${p.topic}/${p.partition}`, p.offset);
    return out;
  };
  return {
    read,
    async total(ends) {
      return [...(await read(ends)).values()].reduce((a, b) => a + b, 0);
    },
    async reached(ends) {
      try {
        const committed = await read(ends);
        return [...ends].every(([p, end]) => committed.get(p) === end);
      } catch {
        return false;
      }
    },
  };
}

export interface InputRecord extends KcatRecord {
  readonly input: Input;
}

/** The input topic read back: where each input landed (partition, offset), by id. */
export async function readInputs(
  bootstrap: string,
  topic: string,
  inputs: readonly Input[],
): Promise<Map<string, InputRecord>> {
  const byValue = new Map(inputs.map((i) => [i.value, i]));
  const out = new Map<string, InputRecord>();
  for (const record of await kcatConsume(bootstrap, topic)) {
    const input = byValue.get(record.value);
    assert.ok(input, `unexpected record in the input topic: ${record.value.slice(0, 200)}`);
    out.set(input.id, { ...record, input });
  }
  assert.equal(out.size, inputs.length, 'every input is in the input topic once');
  return out;
}

export interface OutputRecord extends KcatRecord {
  readonly event: Json;
  /** `meta.request_id` of the input it came from. */
  readonly id: string;
}

function parseJson(value: string): Json {
  return JSON.parse(value) as Json;
}

export async function readOutputs(
  bootstrap: string,
  topic: string,
  isolation?: 'read_committed' | 'read_uncommitted',
): Promise<OutputRecord[]> {
  return (await kcatConsume(bootstrap, topic, isolation ? { isolation } : {})).map((r) => {
    const event = parseJson(r.value);
    return { ...r, event, id: String((event.meta as Json).request_id) };
  });
}

export interface ErrorRecord extends KcatRecord {
  readonly event: Json;
  /** The id of the input it came from: `meta.request_id` of `raw_event`, or the marker of a line that is not an event. */
  readonly id: string;
}

/** Error events; `id` is found in `raw_event` (the input as a string). */
export async function readErrors(
  bootstrap: string,
  topic: string,
  isolation?: 'read_committed' | 'read_uncommitted',
): Promise<ErrorRecord[]> {
  return (await kcatConsume(bootstrap, topic, isolation ? { isolation } : {})).map((r) => {
    const event = parseJson(r.value);
    const raw = String(event.raw_event);
    let id: string;
    try {
      id = String(((JSON.parse(raw) as Json).meta as Json).request_id);
    } catch {
      id = /\be2e-[\w-]+/.exec(raw)?.[0] ?? raw;
    }
    return { ...r, event, id };
  });
}

export interface Accounting {
  /** Ids of inputs without any outcome. */
  readonly lost: string[];
  /** Outcomes beyond the first, summed over inputs. */
  readonly duplicates: number;
  /** Inputs with more than one outcome. */
  readonly duplicatedInputs: number;
  /** Outcomes whose id is no input's. */
  readonly unknown: string[];
}

/** Every input should have an outcome in the output or error topic; counts what is missing or repeated. */
export function account(
  inputs: readonly Input[],
  outputs: readonly { id: string }[],
  errors: readonly { id: string }[],
): Accounting {
  const counts = new Map<string, number>(inputs.map((i) => [i.id, 0]));
  const unknown: string[] = [];
  for (const { id } of [...outputs, ...errors]) {
    const n = counts.get(id);
    if (n === undefined) unknown.push(id);
    else counts.set(id, n + 1);
  }
  let duplicates = 0;
  let duplicatedInputs = 0;
  const lost: string[] = [];
  for (const [id, n] of counts) {
    if (n === 0) lost.push(id);
    if (n > 1) {
      duplicates += n - 1;
      duplicatedInputs++;
    }
  }
  return { lost, duplicates, duplicatedInputs, unknown };
}

/** Per output partition, the revision ids of each page in offset order must be increasing. */
export function assertPerPageOrder(outputs: readonly OutputRecord[]): void {
  const last = new Map<string, number>();
  for (const o of [...outputs].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const page = `${o.partition}/${String((o.event.page as Json).page_id)}`;
    const rev = Number((o.event.revision as Json).rev_id);
    const before = last.get(page);
    assert.ok(before === undefined || rev >= before, `page ${page}: revision ${rev} after ${before}`);
    last.set(page, rev);
  }
}

/**
 * Like assertPerPageOrder, but allows what at-least-once redelivery does after a crash: a page's
 * sequence may start over from an earlier revision (the replay), and then runs in order again. What
 * must never happen is an output of a later revision followed by an earlier one that was not yet
 * output for that page (an out-of-order first delivery).
 */
export function assertFirstDeliveriesInPageOrder(outputs: readonly OutputRecord[]): void {
  const seen = new Set<string>();
  const lastFirst = new Map<string, number>();
  for (const o of [...outputs].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    if (seen.has(o.id)) continue;
    seen.add(o.id);
    const page = String((o.event.page as Json).page_id);
    const rev = Number((o.event.revision as Json).rev_id);
    const before = lastFirst.get(page);
    assert.ok(
      before === undefined || rev > before,
      `page ${page}: first output of revision ${rev} after the first output of ${before}`,
    );
    lastFirst.set(page, rev);
  }
}
