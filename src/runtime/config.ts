import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONNECTORS, type StreamBinding } from '../connectors/binding.js';
import { ConfigError } from '../core/errors.js';
import type { InputLimits } from '../core/input-limits.js';
import { OptionReader } from '../core/options.js';
import { parseStreamRef } from '../core/stream-config.js';
import type { JobDefinition } from '../jobs/contract.js';

/**
 * The configuration, in the shape eventutilities-python uses (`stream_manager` + the job's section,
 * `enrich` for the enrichment jobs), plus `runtime`. Each option is documented where it is read,
 * with its default; README's configuration reference mirrors it.
 */

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

export interface JobConfig<Section = unknown> {
  readonly jobName: string;
  readonly streamConfigUri: string;
  readonly schemaUris: readonly string[];
  readonly httpRoutes: Readonly<Record<string, string>>;
  readonly source: StreamBinding;
  readonly sink: StreamBinding;
  readonly errorSink: StreamBinding;
  /** The job's own section, as its definition reads it. */
  readonly section: Section;
  readonly runtime: RuntimeConfig;
  /** Keys nobody read so far; call after the connectors have read their options. */
  unknownKeys(): string[];
}

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
  return { stream: ref.stream, version: ref.version, connector, options, key: reader.path };
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

function readRuntime(rt: OptionReader): RuntimeConfig {
  return Object.freeze({
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
  });
}

/** Reads the shared sections and the job's own; a problem is a `ConfigError` naming the key. */
export function resolveConfig<Section>(raw: unknown, job: JobDefinition<Section>): JobConfig<Section> {
  const root = new OptionReader(raw, '');
  const sm = root.child('stream_manager');
  const jobName = sm.string('job_name');
  const streamConfigUri = toUri(sm.string('stream_config_uri'));
  const schemaUris = sm.stringList('schema_uris').map(toUri);
  const httpRoutes = readRoutes(sm, 'http_client_routes');
  const source = readBinding(sm, 'source', CONNECTORS.source);
  const sink = readBinding(sm, 'sink', CONNECTORS.sink);
  const errorSink = readBinding(sm, 'error_sink', CONNECTORS.sink);
  const section = job.section.read(root.child(job.section.key));
  const runtime = readRuntime(root.child('runtime'));
  return Object.freeze({
    jobName,
    streamConfigUri,
    schemaUris,
    httpRoutes,
    source,
    sink,
    errorSink,
    section,
    runtime,
    unknownKeys: () => [...new Set(root.unknownKeys())],
  });
}
