import type { Logger } from 'pino';
import { stringify as stringifyYaml } from 'yaml';
import {
  checkFilePaths,
  checkKafkaClients,
  createConnectors,
  type Connectors,
} from '../connectors/factory.js';
import { maskSecrets } from '../core/config-schema.js';
import { ConfigError } from '../core/errors.js';
import { noopMetrics, type Metrics } from '../core/metrics.js';
import { SchemaRepository } from '../core/schema-repository.js';
import { loadStreamConfigs, type StreamConfigs } from '../core/stream-config.js';
import { Validator } from '../core/validator.js';
import type { JobDefinition, JobInstance } from '../jobs/contract.js';
import { pageContentChange } from '../jobs/page-content-change/job.js';
import { loadConfigFiles } from './config-files.js';
import { configSchema, resolveConfig, type JobConfig } from './config.js';
import { createFetchText } from './fetch-text.js';
import { createLogger } from './logger.js';
import { PrometheusMetrics } from './metrics.js';
import { startOpsServer, type OpsServer } from './ops-server.js';
import { Pipeline, type Summary } from './pipeline.js';
import { Readiness } from './readiness.js';
import { packageVersion } from './status/version.js';
import { untilReachable } from './until-reachable.js';

/** For schema and stream-config requests when the job names no User-Agent of its own. */
const DEFAULT_USER_AGENT = 'mediawiki-event-enrichment/0.1 (schema and stream config lookups)';

export interface RunResult {
  summary: Summary;
  exitCode: number;
}

/** Runs a job from its config files (merged in order). */
export async function runJobFromFiles(
  job: JobDefinition,
  configPaths: readonly string[],
): Promise<RunResult> {
  return runJob(job, await loadConfigFiles(configPaths));
}

export interface RunOptions {
  /** Signals that stop the job gracefully. @default SIGINT, SIGTERM */
  signals?: NodeJS.Signals[];
  /** Replaces the stderr logger (tests). */
  logger?: Logger;
  /** Called with the pipeline once it runs, so an embedding program can stop it. */
  onStart?: (pipeline: Pipeline) => void;
}

/** The job from its checked config: stream configs and schemas loaded, the job's parts made. */
async function buildJob(
  definition: JobDefinition,
  config: JobConfig,
  logger: Logger,
  metrics: Metrics,
): Promise<JobInstance & { platform: Awaited<ReturnType<typeof loadEventPlatform>> }> {
  const platform = await loadEventPlatform(config, definition.userAgent?.(config.section));
  const instance = await definition.create(
    {
      jobName: config.jobName,
      source: config.source,
      sink: config.sink,
      errorSink: config.errorSink,
      ...platform,
      httpRoutes: config.httpRoutes,
      limits: { maxRecordBytes: config.runtime.maxRecordBytes, maxJsonDepth: config.runtime.maxJsonDepth },
      logger,
      metrics,
    },
    config.section,
  );
  return Object.assign(instance, { platform });
}

/**
 * `--check`: the config files, the stream configs, the schemas and the file paths, as a run would
 * load them, connecting to nothing else (no broker, no Action API). Throws a `ConfigError`.
 */
export async function checkJobFromFiles(
  definition: JobDefinition,
  configPaths: readonly string[],
): Promise<void> {
  const config = resolveConfig(await loadConfigFiles(configPaths), definition);
  const logger = createLogger('silent', config.jobName);
  const job = await buildJob(definition, config, logger, noopMetrics);
  await job.close();
  await checkFilePaths(config.source, config.sink, config.errorSink);
  await checkKafkaClients({
    ...config,
    streams: job.platform.streams,
    clientId: config.jobName,
    maxRecordBytes: config.runtime.maxRecordBytes,
    logger,
    metrics: noopMetrics,
  });
}

/** `--print-config`: the resolved config (defaults filled in, secrets masked) as YAML. */
export async function printableConfig(
  definition: JobDefinition,
  configPaths: readonly string[],
): Promise<string> {
  const config = resolveConfig(await loadConfigFiles(configPaths), definition);
  return stringifyYaml(maskSecrets(config.document, configSchema(definition)));
}

/** The page-content-change job from a merged config document (tests, benchmarks, embedding). */
export function runPageContentChangeJob(rawConfig: unknown, options: RunOptions = {}): Promise<RunResult> {
  return runJob(pageContentChange, rawConfig, options);
}

/**
 * The composition root: the only place that builds concrete clients. Loads and checks the config,
 * the stream configs and schemas, builds the connectors and the job, runs the pipeline until the
 * input ends or a signal stops it, and returns the outcome counts. `rawConfig` is an already merged
 * config document (the shape of the config files).
 */
export async function runJob(
  definition: JobDefinition,
  rawConfig: unknown,
  options: RunOptions = {},
): Promise<RunResult> {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const config = resolveConfig(rawConfig, definition);
  const logger = options.logger ?? createLogger(config.runtime.logLevel, config.jobName);
  const readiness = new Readiness();
  const metrics = new PrometheusMetrics({
    job: config.jobName,
    version: packageVersion(),
    ready: () => readiness.ready,
    logger,
  });
  // Signals are taken from the start: a service waiting for its broker or schema repository must
  // still stop at once when asked.
  const stop = new AbortController();
  // Set once the pipeline is built; a signal before that ends the waits instead.
  const running: { pipeline?: Pipeline } = {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    stop.abort();
    readiness.markStopping();
    logger.info(
      { signal },
      running.pipeline ? 'stopping: draining records in flight' : 'stopping before the start',
    );
    running.pipeline?.stop();
  };
  for (const s of signals) process.on(s, onSignal);
  let server: OpsServer | undefined;
  let job: Awaited<ReturnType<typeof buildJob>> | undefined;
  let connectors: Connectors | undefined;
  try {
    // First, so that /healthz and /readyz answer while the service waits for what it needs.
    if (config.runtime.metricsPort !== undefined) {
      server = await startOpsServer({
        port: config.runtime.metricsPort,
        metrics,
        readiness,
        info: {
          jobName: config.jobName,
          instanceId: config.source.options.has('instance_id')
            ? config.source.options.string('instance_id')
            : undefined,
          startedAt: Date.now(),
          source: `${config.source.connector}:${config.source.stream}`,
          sink: `${config.sink.connector}:${config.sink.stream}`,
          errorSink: `${config.errorSink.connector}:${config.errorSink.stream}`,
          config: maskSecrets(config.document, configSchema(definition)),
        },
      }).catch((err: unknown) => {
        throw new ConfigError('runtime.metrics_port', `cannot listen: ${(err as Error).message}`);
      });
    }
    // The stream configs and schemas come from services that may be down or restarting: wait.
    job = await untilReachable('event platform', () => buildJob(definition, config, logger, metrics), {
      waits: readiness,
      logger,
      metrics,
      signal: stop.signal,
    });
    if (job) {
      connectors = await createConnectors({
        ...config,
        streams: job.platform.streams,
        clientId: config.jobName,
        maxRecordBytes: config.runtime.maxRecordBytes,
        logger,
        metrics,
        waits: readiness,
      });
    }
  } catch (err) {
    // Sinks are not closed: nothing was sent, and closing a file sink would create or truncate its file.
    await Promise.allSettled([job?.close(), connectors?.source.close(), server?.close()]);
    for (const s of signals) process.off(s, onSignal);
    throw err;
  }
  if (!job || !connectors) {
    // Stopped while waiting: nothing was read, nothing is owed.
    for (const s of signals) process.off(s, onSignal);
    await Promise.allSettled([job?.close(), server?.close()]);
    return { summary: emptySummary(), exitCode: 0 };
  }

  const pipeline = new Pipeline({
    ...connectors,
    handler: job.handler,
    maxInFlight: config.runtime.maxInFlight,
    inFlightFloor: config.runtime.inFlightFloor,
    maxInFlightBytes: config.runtime.maxInFlightBytes,
    commitIntervalMs: config.runtime.commitIntervalMs,
    drainTimeoutMs: config.runtime.drainTimeoutMs,
    oversizePolicy: config.runtime.oversizePolicy,
    logger,
    metrics,
  });
  logger.info(
    {
      source: `${config.source.connector}:${config.source.stream}`,
      sink: `${config.sink.connector}:${config.sink.stream}`,
      errors: `${config.errorSink.connector}:${config.errorSink.stream}`,
    },
    'started',
  );
  running.pipeline = pipeline;
  options.onStart?.(pipeline);
  let summary: Summary;
  readiness.markRunning();
  // A signal that came while the connectors were being built.
  if (stop.signal.aborted) pipeline.stop();
  try {
    summary = { ...(await pipeline.run()), job: { ...job.counts?.() } };
  } finally {
    for (const s of signals) process.off(s, onSignal);
    readiness.markStopping();
    await job.close();
    await server?.close();
  }
  return { summary, exitCode: summary.failure ? 1 : 0 };
}

function emptySummary(): Summary {
  const none = { enriched: 0, passed: 0, dropped: 0, failed: 0 };
  return {
    records: 0,
    outcomes: none,
    reasons: { enriched: {}, passed: {}, dropped: {}, failed: {} },
    oversize: 0,
    unfinished: 0,
  };
}

/** Stream configs, schema repository and validator for a job's streams; problems are config errors. */
export async function loadEventPlatform(
  config: JobConfig,
  userAgent = DEFAULT_USER_AGENT,
): Promise<{ streams: StreamConfigs; repository: SchemaRepository; validator: Validator }> {
  const fetchText = createFetchText(config.httpRoutes, userAgent);
  const repository = new SchemaRepository({ baseUris: config.schemaUris, fetchText });
  const streams = await loadStreamConfigs(
    config.streamConfigUri,
    [config.source.stream, config.sink.stream, config.errorSink.stream],
    fetchText,
  ).catch(rethrowAsConfig('stream_manager.stream_config_uri'));
  return { streams, repository, validator: new Validator(repository) };
}

function rethrowAsConfig(key: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(key, (err as Error).message, err);
  };
}

export function formatSummary(summary: Summary): string {
  const o = summary.outcomes;
  const parts = [
    `records=${summary.records}`,
    `enriched=${o.enriched}`,
    `passed=${o.passed}`,
    `dropped=${o.dropped}`,
    `failed=${o.failed}`,
    `unfinished=${summary.unfinished}`,
  ];
  const errors = Object.entries(summary.reasons.failed).map(([type, n]) => `${type}=${n}`);
  return `summary: ${parts.join(' ')}${errors.length ? ` errors: ${errors.join(' ')}` : ''}`;
}

export type { Logger };
