/**
 * Runs the page-content-change job end to end for tests: input lines in a temp NDJSON file, outputs
 * and error events in temp NDJSON files, the Action API a `MisbehavingApi`, schemas from the shared
 * checkout (never the bundled copy), the static stream config of `examples/`.
 *
 *     const api = await startApi(t);
 *     api.addRevision({ revId: 2, pageId: 1, title: 'Main_Page', slots: { main: { content: 'Hi' } } });
 *     const run = await runJob(t, api, [pageChangeEvent()]);
 *     assert.equal(run.summary.outcomes.enriched, 1);
 *
 * Retry delays are small (20 ms, doubling, no jitter) so that failure paths finish quickly while
 * keeping their real shape; tests that need other numbers pass overrides.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { SourceRecord } from '../../src/connectors/types.js';
import { recordingMetrics } from '../../src/core/metrics.js';
import { Validator, type Validate } from '../../src/core/validator.js';
import { pageContentChange } from '../../src/jobs/page-content-change/job.js';
import { resolveConfig } from '../../src/runtime/config.js';
import { loadEventPlatform, runPageContentChangeJob } from '../../src/runtime/main.js';
import type { Outcome } from '../../src/jobs/contract.js';
import type { Pipeline, Summary } from '../../src/runtime/pipeline.js';
import { deepMerge } from './events.js';
import { MisbehavingApi, type MisbehavingApiOptions } from './misbehaving-api.js';
import { SHARED_SCHEMAS_URI, sharedSchemaRepository } from './schemas.js';

export type Json = Record<string, unknown>;

export const JOB_NAME = 'mw-page-content-change-enrich';
export const SOURCE_STREAM = 'mediawiki.page_change.v1';
export const SINK_STREAM = 'mediawiki.page_content_change.v1';
export const ERROR_STREAM = `${JOB_NAME}.error`;
export const USER_AGENT = 'mediawiki-event-enrichment-tests/0.1 (job harness; tests@example.org)';
export const STREAM_CONFIG_PATH = fileURLToPath(
  new URL('../../examples/stream-config.yaml', import.meta.url),
);

const silent = pino({ level: 'silent' });

/** A `MisbehavingApi` that is closed when the test ends. */
export async function startApi(t: TestContext, options: MisbehavingApiOptions = {}): Promise<MisbehavingApi> {
  const api = await MisbehavingApi.start(options);
  t.after(() => api.close());
  return api;
}

/** A temp folder removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'job-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface JobPaths {
  input: string;
  output: string;
  errors: string;
}

export function jobPaths(dir: string): JobPaths {
  return {
    input: join(dir, 'page-change.ndjson'),
    output: join(dir, 'out', 'page-content-change.ndjson'),
    errors: join(dir, 'out', 'errors.ndjson'),
  };
}

/**
 * The config document of a run (the shape of the config files), with `overrides` deep-merged into
 * it (a key set to `undefined` removes it).
 */
export function jobConfig(paths: JobPaths, endpoint: string, overrides: Json = {}): Json {
  const base: Json = {
    stream_manager: {
      job_name: JOB_NAME,
      stream_config_uri: STREAM_CONFIG_PATH,
      schema_uris: [SHARED_SCHEMAS_URI],
      source: { stream: `${SOURCE_STREAM}:1.2.0`, connector: 'file', options: { path: paths.input } },
      sink: { stream: `${SINK_STREAM}:1.2.0`, connector: 'file', options: { path: paths.output } },
      error_sink: { stream: `${ERROR_STREAM}:2.1.0`, connector: 'file', options: { path: paths.errors } },
    },
    enrich: {
      mediawiki_api_endpoint_template: endpoint,
      user_agent: USER_AGENT,
      request_timeout: 5,
      connect_timeout_ms: 2_000,
      retry: {
        max_retries: 3,
        initial_delay_ms: 20,
        multiplier: 2,
        max_delay_ms: 100,
        jitter: 0,
        retry_after_cap_ms: 2_000,
      },
    },
    runtime: { log_level: 'silent', commit_interval_ms: 50, drain_timeout_ms: 10_000 },
  };
  return deepMerge(base, overrides);
}

/** NDJSON text of the inputs: objects are serialised, strings are written as they are (one line each). */
export function inputLines(input: ReadonlyArray<Json | string>): string[] {
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

export interface JobRun {
  summary: Summary;
  exitCode: number;
  /** The input lines as written, in order. */
  lines: string[];
  /** Output events and error events, parsed, in the order they were written. */
  outputs: Json[];
  errors: Json[];
  /** The same, as the raw lines of the sink files. */
  outputLines: string[];
  errorLines: string[];
  api: MisbehavingApi;
  paths: JobPaths;
  /** Wall-clock bounds of the run, for ingestion-time checks. */
  startedAt: Date;
  endedAt: Date;
}

/** Writes the inputs, runs the whole job (`runPageContentChangeJob`) against `api`, reads the sinks. */
export async function runJob(
  t: TestContext,
  api: MisbehavingApi,
  input: ReadonlyArray<Json | string>,
  overrides: Json = {},
  options: { onStart?: (pipeline: Pipeline) => void } = {},
): Promise<JobRun> {
  const paths = jobPaths(await tempDir(t));
  const lines = inputLines(input);
  await writeFile(paths.input, lines.map((l) => `${l}\n`).join(''));
  const startedAt = new Date();
  const { summary, exitCode } = await runPageContentChangeJob(jobConfig(paths, api.url, overrides), {
    logger: silent,
    signals: [],
    ...options,
  });
  const endedAt = new Date();
  const outputLines = await readLines(paths.output);
  const errorLines = await readLines(paths.errors);
  return {
    summary,
    exitCode,
    lines,
    outputs: outputLines.map((l) => JSON.parse(l) as Json),
    errors: errorLines.map((l) => JSON.parse(l) as Json),
    outputLines,
    errorLines,
    api,
    paths,
    startedAt,
    endedAt,
  };
}

export async function readLines(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text.split('\n').filter((l) => l.length > 0);
}

/**
 * The job's handler as `pageContentChange.create` wires it from the same config, without the
 * pipeline and the file connectors: for what the files do not show (record keys and timestamps,
 * metrics). Closes its fetcher when the test ends.
 */
export async function buildJob(t: TestContext, api: MisbehavingApi, overrides: Json = {}) {
  const paths = jobPaths(await tempDir(t));
  const config = resolveConfig(jobConfig(paths, api.url, overrides), pageContentChange);
  const metrics = recordingMetrics();
  const { runtime } = config;
  const job = await pageContentChange.create(
    {
      ...config,
      ...(await loadEventPlatform(config)),
      limits: { maxRecordBytes: runtime.maxRecordBytes, maxJsonDepth: runtime.maxJsonDepth },
      logger: silent,
      metrics,
    },
    config.section,
  );
  t.after(() => job.close());
  let offset = 0;
  return {
    metrics,
    /** Handles one input line as the pipeline would, resolving with its outcome. */
    async handle(line: string): Promise<Outcome> {
      const record: SourceRecord = {
        partition: paths.input,
        offset: offset++,
        key: null,
        value: Buffer.from(line),
      };
      return job.handler.handle(record).outcome;
    },
  };
}

/** Validators for the output and error schemas of the shared checkout. */
export interface SharedValidators {
  pageChange: Validate;
  error: Validate;
}

let validators: Promise<SharedValidators> | undefined;

export function sharedValidators(): Promise<SharedValidators> {
  validators ??= (async () => {
    const validator = new Validator(sharedSchemaRepository());
    const [pageChange, error] = await Promise.all([
      validator.forSchema('/mediawiki/page/change/1.2.0'),
      validator.forSchema('/error/2.1.0'),
    ]);
    return { pageChange, error };
  })();
  return validators;
}

/** Throws with the validator's message, so a failing test says which field is wrong. */
export async function assertValidOutput(event: unknown): Promise<void> {
  const result = (await sharedValidators()).pageChange(event);
  if (!result.valid)
    throw new Error(
      `output is invalid against the shared /mediawiki/page/change/1.2.0: ${result.message}\n${JSON.stringify(event)}`,
    );
}

export async function assertValidErrorEvent(event: unknown): Promise<void> {
  const result = (await sharedValidators()).error(event);
  if (!result.valid)
    throw new Error(
      `error event is invalid against the shared /error/2.1.0: ${result.message}\n${JSON.stringify(event)}`,
    );
}

/** `outcomeCounts` of a run whose one input was enriched. */
export const ONE_ENRICHED: Json = Object.freeze({
  records: 1,
  enriched: 1,
  passed: 0,
  dropped: 0,
  failed: 0,
  unfinished: 0,
  errors: {},
});

/** Outcome counts of a summary, for one deepEqual. */
export function outcomeCounts(summary: Summary): Json {
  return {
    records: summary.records,
    ...summary.outcomes,
    unfinished: summary.unfinished,
    errors: { ...summary.reasons.failed },
  };
}

export interface ExpectedError {
  errorType: string;
  message: RegExp;
}

/**
 * Checks an error event against the input line it is about: `error/2.1.0` of the shared checkout,
 * the job's error stream and emitter, the type and message, `raw_event` byte-equal to the line, and
 * the fields taken from the input (`errored_stream_name`, `errored_schema_uri`, `meta.domain`) when
 * the line is an event that has them, absent otherwise.
 */
export async function assertErrorEventFor(event: Json, line: string, expected: ExpectedError): Promise<void> {
  await assertValidErrorEvent(event);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  const input =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : {};
  const inputMeta = (typeof input.meta === 'object' && input.meta !== null ? input.meta : {}) as Json;
  const meta = event.meta as Json;
  assert.equal(event.$schema, '/error/2.1.0');
  assert.equal(meta.stream, ERROR_STREAM);
  assert.equal(event.emitter_id, JOB_NAME);
  assert.equal(event.error_type, expected.errorType);
  assert.match(String(event.message), expected.message);
  assert.equal(event.raw_event, line);
  assert.equal(event.errored_stream_name, inputMeta.stream);
  assert.equal(event.errored_schema_uri, input.$schema);
  assert.equal(meta.domain, inputMeta.domain);
  assert.ok(!Number.isNaN(Date.parse(String(event.dt))), 'dt is a date');
}
