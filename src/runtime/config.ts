import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';
import type { InputLimits } from '../core/input-limits.js';
import { OptionReader } from '../core/options.js';
import { parseStreamRef } from '../core/stream-config.js';
import type { MediaWikiClientOptions } from '../mediawiki/options.js';

/**
 * The job's configuration, in the shape eventutilities-python uses (`stream_manager` + `enrich`), plus
 * `runtime`. Each option is documented where it is read, with its default; README's configuration
 * reference mirrors this file.
 */

export const CONNECTORS = {
  source: ['file', 'stdin', 'kafka'],
  sink: ['file', 'stdout', 'kafka'],
} as const;

export interface StreamBinding {
  /** Stream name without the version, e.g. `mediawiki.page_change.v1`. */
  readonly stream: string;
  /** Pinned schema version (`1.2.0`), when given after a colon. */
  readonly version: string | undefined;
  readonly connector: string;
  /** The connector's own options; the connector reads (and so validates) them. */
  readonly options: OptionReader;
  /** Config key of this binding, for messages. */
  readonly key: string;
  /** The binding's own reader, for unknown keys. */
  readonly reader: OptionReader;
}

/**
 * The `enrich` section resolved: the Action API fetcher's options (defaults documented there and in
 * README), but for the routes, which come from `stream_manager.http_client_routes`.
 */
export interface EnrichConfig extends Omit<MediaWikiClientOptions, 'httpRoutes' | 'allowedDomains'> {
  /** Undefined: the default Wikimedia project domains. */
  readonly allowedDomains: readonly string[] | undefined;
}

export interface RuntimeConfig extends InputLimits {
  readonly maxInFlight: number;
  /** Input bytes (plus output bytes once built) of the records in flight; the source waits above it. */
  readonly maxInFlightBytes: number;
  readonly commitIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly oversizePolicy: 'error_event' | 'fail';
  readonly logLevel: string;
  readonly metricsPort: number | undefined;
}

export interface JobConfig {
  readonly jobName: string;
  readonly streamConfigUri: string;
  readonly schemaUris: readonly string[];
  readonly httpRoutes: Readonly<Record<string, string>>;
  readonly source: StreamBinding;
  readonly sink: StreamBinding;
  readonly errorSink: StreamBinding;
  readonly enrich: EnrichConfig;
  readonly runtime: RuntimeConfig;
  /** Keys nobody read so far; call after the connectors have read their options. */
  unknownKeys(): string[];
}

export const DEFAULT_USER_AGENT =
  'mediawiki-event-enrichment/0.1 (page content change enrichment; configure enrich.user_agent with a contact address)';

const MIB = 1024 * 1024;

/** A plain path (no scheme) is a local file or folder, relative to the working directory. */
function toUri(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : pathToFileURL(resolve(value)).href;
}

function readBinding(parent: OptionReader, name: string, allowed: readonly string[]): StreamBinding {
  const reader = parent.child(name);
  const ref = parseStreamRef(reader.string('stream'));
  const connector = reader.oneOf('connector', allowed);
  const options = reader.child('options');
  return { stream: ref.stream, version: ref.version, connector, options, key: reader.path, reader };
}

/**
 * A value sent as an HTTP header: visible ASCII and spaces only. CR or LF would split the header
 * (undici refuses it, but only at the first request, after the output files were opened), and
 * non-ASCII is not portable in headers.
 */
function headerValue(reader: OptionReader, name: string, fallback: string): string {
  const value = reader.string(name, fallback);
  const bad = /[^\x20-\x7e]/.exec(value);
  if (bad) {
    throw new ConfigError(
      reader.key(name),
      `must be printable ASCII; found ${JSON.stringify(bad[0])} at position ${bad.index}`,
    );
  }
  if (value.trim() !== value || value.trim() === '') {
    throw new ConfigError(reader.key(name), 'must not be blank or start or end with a space');
  }
  return value;
}

/** `http_client_routes`: both sides must be http(s) URLs without query or fragment. */
function readRoutes(reader: OptionReader, name: string): Record<string, string> {
  const routes = reader.stringMap(name);
  const check = (key: string, value: string, what: string) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(key, `${what} ${JSON.stringify(value)} is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw new ConfigError(key, `${what} ${JSON.stringify(value)} must be an http:// or https:// URL`);
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new ConfigError(key, `${what} ${JSON.stringify(value)} must not have a query, fragment or user`);
    }
  };
  for (const [from, to] of Object.entries(routes)) {
    const key = `${reader.key(name)}.${from}`;
    check(key, from, 'route prefix');
    check(key, to, 'route target');
  }
  return routes;
}

export function resolveConfig(raw: unknown): JobConfig {
  const root = new OptionReader(raw, '');
  const sm = root.child('stream_manager');
  const jobName = sm.string('job_name');
  const streamConfigUri = toUri(sm.string('stream_config_uri'));
  const schemaUris = sm.stringList('schema_uris').map(toUri);
  const httpRoutes = readRoutes(sm, 'http_client_routes');
  const source = readBinding(sm, 'source', CONNECTORS.source);
  const sink = readBinding(sm, 'sink', CONNECTORS.sink);
  const errorSink = readBinding(sm, 'error_sink', CONNECTORS.sink);

  const en = root.child('enrich');
  const endpointTemplate = en.string('mediawiki_api_endpoint_template');
  if (!/^https?:\/\//.test(endpointTemplate)) {
    throw new ConfigError(en.key('mediawiki_api_endpoint_template'), 'must be an http:// or https:// URL');
  }
  const retry = en.child('retry');
  const apiHighLimits = en.boolean('api_high_limits', false);
  const enrich: EnrichConfig = {
    endpointTemplate,
    allowedDomains: en.has('allowed_domains') ? en.stringList('allowed_domains') : undefined,
    userAgent: headerValue(en, 'user_agent', DEFAULT_USER_AGENT),
    // Wikimedia's API etiquette asks non-interactive clients for maxlag=5; null sends none.
    maxlag: en.has('maxlag') ? en.integer('maxlag') : en.isNull('maxlag') ? undefined : 5,
    apiHighLimits,
    // Without the apihighlimits right MediaWiki refuses more than 50 revids ("toomanyvalues").
    batchSize: en.integer('batch_size', 50, { min: 1, max: apiHighLimits ? 500 : 50 }),
    lingerMs: en.integer('batch_linger_ms', 5, { min: 0, max: 10_000 }),
    maxConcurrentRequests: en.integer('max_concurrent_requests', 8, { min: 1, max: 1024 }),
    connectTimeoutMs: en.integer('connect_timeout_ms', 5_000, { min: 1 }),
    readTimeoutMs: en.integer('read_timeout_ms', 30_000, { min: 1 }),
    maxResponseBytes: en.integer('max_response_bytes', 64 * MIB, { min: 64 * 1024, max: 512 * MIB }),
    retry: {
      maxRetries: retry.integer('max_retries', 3, { min: 0, max: 100 }),
      initialDelayMs: retry.integer('initial_delay_ms', 1_000, { min: 0 }),
      multiplier: retry.number('multiplier', 2, { min: 1 }),
      maxDelayMs: retry.integer('max_delay_ms', 8_000, { min: 0 }),
      jitter: retry.number('jitter', 0.2, { min: 0, max: 1 }),
      retryAfterCapMs: retry.integer('retry_after_cap_ms', 30_000, { min: 0 }),
      recentEventWindowMs: retry.integer('recent_event_window_ms', 10_000, { min: 0 }),
    },
  };

  const rt = root.child('runtime');
  const runtime: RuntimeConfig = {
    maxInFlight: rt.integer('max_in_flight', 1_000, { min: 1 }),
    maxInFlightBytes: rt.integer('max_in_flight_bytes', 256 * MIB, { min: MIB }),
    // V8's longest string is just under 512 MiB; a record is decoded into one, with room to spare.
    maxRecordBytes: rt.integer('max_record_bytes', 10 * MIB, { min: 1024, max: 256 * MIB }),
    maxJsonDepth: rt.integer('max_json_depth', 64, { min: 8, max: 1000 }),
    commitIntervalMs: rt.integer('commit_interval_ms', 1_000, { min: 10 }),
    drainTimeoutMs: rt.integer('drain_timeout_ms', 30_000, { min: 0 }),
    oversizePolicy: rt.oneOf('oversize_policy', ['error_event', 'fail'] as const, 'error_event'),
    logLevel: rt.oneOf(
      'log_level',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      'info',
    ),
    metricsPort: rt.optionalInteger('metrics_port', { min: 0, max: 65535 }),
  };

  const readers = [root, sm, en, retry, rt];
  for (const b of [source, sink, errorSink]) readers.push(b.reader, b.options);
  return Object.freeze({
    jobName,
    streamConfigUri,
    schemaUris,
    httpRoutes,
    source,
    sink,
    errorSink,
    enrich: Object.freeze(enrich),
    runtime: Object.freeze(runtime),
    unknownKeys: () => readers.flatMap((r) => r.unknownKeys()),
  });
}
