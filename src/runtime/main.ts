import type { Logger } from 'pino';
import type { Server } from 'node:http';
import { createConnectors, type Connectors } from '../connectors/factory.js';
import { ConfigError } from '../core/errors.js';
import { SchemaRepository } from '../core/schema-repository.js';
import { loadStreamConfigs, type StreamConfigs } from '../core/stream-config.js';
import { Validator } from '../core/validator.js';
import { createPageContentChangeJob } from '../jobs/page-content-change/job.js';
import { loadConfigFiles } from './config-files.js';
import { resolveConfig, type JobConfig } from './config.js';
import { createFetchText } from './fetch-text.js';
import { createLogger } from './logger.js';
import { PrometheusMetrics, serveMetrics } from './metrics.js';
import { Pipeline, type Summary } from './pipeline.js';

export interface RunResult {
  summary: Summary;
  exitCode: number;
}

/**
 * The composition root: the only place that builds concrete clients. Loads and checks the config,
 * the stream configs and schemas, builds the connectors and the job, runs the pipeline until the input
 * ends or a signal stops it, and returns the outcome counts.
 */
export async function runPageContentChange(configPaths: readonly string[]): Promise<RunResult> {
  return runPageContentChangeJob(await loadConfigFiles(configPaths));
}

export interface RunOptions {
  /** Signals that stop the job gracefully. @default SIGINT, SIGTERM */
  signals?: NodeJS.Signals[];
  /** Replaces the stderr logger (tests). */
  logger?: Logger;
  /** Called with the pipeline once it runs, so an embedding program can stop it. */
  onStart?: (pipeline: Pipeline) => void;
}

/** Runs the job from an already merged config document (the shape of the config files). */
export async function runPageContentChangeJob(
  rawConfig: unknown,
  options: RunOptions = {},
): Promise<RunResult> {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const config = resolveConfig(rawConfig);
  const logger = options.logger ?? createLogger(config.runtime.logLevel, config.jobName);
  const metrics = new PrometheusMetrics();
  const { streams, repository, validator } = await loadEventPlatform(config);
  const job = await createPageContentChangeJob({
    config,
    streams,
    repository,
    validator,
    logger,
    metrics,
  }).catch((err: unknown) => {
    if (err instanceof ConfigError) throw withConfigKey(err);
    return rethrowAsConfig('stream_manager.schema_uris')(err);
  });
  let stopping = false;
  let connectors: Connectors | undefined;
  let server: Server | undefined;
  try {
    connectors = await createConnectors({
      ...config,
      streams,
      clientId: config.jobName,
      maxRecordBytes: config.runtime.maxRecordBytes,
      logger,
      metrics,
    });
    const unknown = config.unknownKeys();
    if (unknown.length > 0) {
      throw new ConfigError(
        unknown[0]!,
        `unknown key${unknown.length > 1 ? `s: ${unknown.join(', ')}` : ''}`,
      );
    }
    if (config.runtime.metricsPort !== undefined) {
      server = await serveMetrics(metrics, config.runtime.metricsPort, () => !stopping).catch(
        (err: unknown) => {
          throw new ConfigError('runtime.metrics_port', `cannot listen: ${(err as Error).message}`);
        },
      );
    }
  } catch (err) {
    // Sinks are not closed: nothing was sent, and closing a file sink would create or truncate its file.
    await Promise.allSettled([job.fetcher.close(), connectors?.source.close()]);
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
    summary = await pipeline.run();
  } finally {
    for (const s of signals) process.off(s, onSignal);
    await job.fetcher.close();
    server?.close();
  }
  return { summary, exitCode: summary.failure ? 1 : 0 };
}

/** Stream configs, schema repository and validator for a job's streams; problems are config errors. */
export async function loadEventPlatform(
  config: JobConfig,
): Promise<{ streams: StreamConfigs; repository: SchemaRepository; validator: Validator }> {
  const fetchText = createFetchText(config.httpRoutes, config.enrich.userAgent);
  const repository = new SchemaRepository({ baseUris: config.schemaUris, fetchText });
  const streams = await loadStreamConfigs(
    config.streamConfigUri,
    [config.source.stream, config.sink.stream, config.errorSink.stream],
    fetchText,
  ).catch(rethrowAsConfig('stream_manager.stream_config_uri'));
  return { streams, repository, validator: new Validator(repository) };
}

/** The Action API fetcher's option names, as the config file spells them. */
const ENRICH_KEYS: Readonly<Record<string, string>> = {
  endpointTemplate: 'enrich.mediawiki_api_endpoint_template',
  httpRoutes: 'stream_manager.http_client_routes',
  allowedDomains: 'enrich.allowed_domains',
  userAgent: 'enrich.user_agent',
  maxlag: 'enrich.maxlag',
  batchSize: 'enrich.batch_size',
  lingerMs: 'enrich.batch_linger_ms',
  apiHighLimits: 'enrich.api_high_limits',
  maxConcurrentRequests: 'enrich.max_concurrent_requests',
  connectTimeoutMs: 'enrich.connect_timeout_ms',
  readTimeoutMs: 'enrich.read_timeout_ms',
  maxResponseBytes: 'enrich.max_response_bytes',
  'retry.maxRetries': 'enrich.retry.max_retries',
  'retry.initialDelayMs': 'enrich.retry.initial_delay_ms',
  'retry.multiplier': 'enrich.retry.multiplier',
  'retry.maxDelayMs': 'enrich.retry.max_delay_ms',
  'retry.jitter': 'enrich.retry.jitter',
  'retry.retryAfterCapMs': 'enrich.retry.retry_after_cap_ms',
  'retry.recentEventWindowMs': 'enrich.retry.recent_event_window_ms',
};

/** A problem found by an inner layer, under the config key the operator wrote. */
export function withConfigKey(err: ConfigError): ConfigError {
  const key = ENRICH_KEYS[err.key];
  if (key === undefined) return err;
  return new ConfigError(key, err.message.slice(err.key.length + 2));
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
  const errors = Object.entries(summary.errorTypes).map(([type, n]) => `${type}=${n}`);
  return `summary: ${parts.join(' ')}${errors.length ? ` errors: ${errors.join(' ')}` : ''}`;
}

export type { Logger };
