import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { stringify as stringifyYaml } from 'yaml';
import { checkFilePaths, createConnectors, type Connectors } from '../connectors/factory.js';
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
import { serveMetrics } from './ops-server.js';
import { Pipeline, type Summary } from './pipeline.js';

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
  const job = await buildJob(definition, config, createLogger('silent', config.jobName), noopMetrics);
  await job.close();
  await checkFilePaths(config.source, config.sink, config.errorSink);
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
  const metrics = new PrometheusMetrics();
  const job = await buildJob(definition, config, logger, metrics);
  const platform = job.platform;
  let stopping = false;
  let connectors: Connectors | undefined;
  let server: Server | undefined;
  try {
    connectors = await createConnectors({
      ...config,
      streams: platform.streams,
      clientId: config.jobName,
      maxRecordBytes: config.runtime.maxRecordBytes,
      logger,
      metrics,
    });
    if (config.runtime.metricsPort !== undefined) {
      server = await serveMetrics(metrics, config.runtime.metricsPort, () => !stopping).catch(
        (err: unknown) => {
          throw new ConfigError('runtime.metrics_port', `cannot listen: ${(err as Error).message}`);
        },
      );
    }
  } catch (err) {
    // Sinks are not closed: nothing was sent, and closing a file sink would create or truncate its file.
    await Promise.allSettled([job.close(), connectors?.source.close()]);
    throw err;
  }

  const pipeline = new Pipeline({
    ...connectors,
    handler: job.handler,
    maxInFlight: config.runtime.maxInFlight,
    maxInFlightBytes: config.runtime.maxInFlightBytes,
    commitIntervalMs: config.runtime.commitIntervalMs,
    drainTimeoutMs: config.runtime.drainTimeoutMs,
    oversizePolicy: config.runtime.oversizePolicy,
    logger,
    metrics,
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'stopping: draining records in flight');
    pipeline.stop();
  };
  for (const s of signals) process.on(s, onSignal);
  logger.info(
    {
      source: `${config.source.connector}:${config.source.stream}`,
      sink: `${config.sink.connector}:${config.sink.stream}`,
      errors: `${config.errorSink.connector}:${config.errorSink.stream}`,
    },
    'started',
  );
  options.onStart?.(pipeline);
  let summary: Summary;
  try {
    summary = { ...(await pipeline.run()), job: { ...job.counts?.() } };
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await job.close();
    server?.close();
  }
  return { summary, exitCode: summary.failure ? 1 : 0 };
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
    throw new ConfigError(key, (err as Error).message);
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
