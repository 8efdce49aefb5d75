import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CONNECTOR_OPTIONS, type StreamBinding } from '../connectors/binding.js';
import { compileConfigSchema, section, type ConfigSchema } from '../core/config-schema.js';
import { ConfigError } from '../core/errors.js';
import { checkHttpRoutes } from '../core/http-routes.js';
import type { InputLimits } from '../core/input-limits.js';
import { OptionReader } from '../core/options.js';
import { parseStreamRef } from '../core/stream-config.js';
import type { JobDefinition } from '../jobs/contract.js';

/**
 * The configuration, in the shape eventutilities-python uses (`stream_manager` + the job's section,
 * `enrich` for the enrichment jobs), plus `runtime`, declared once as JSON Schema: the checks, the
 * defaults, `--print-config` and README's reference tables all come from the declarations below,
 * the job's section and the connectors' options.
 */

export interface RuntimeConfig extends InputLimits {
  readonly maxInFlight: number;
  /** The window's smallest size (window-control.ts); at or above `maxInFlight`, a fixed window. */
  readonly inFlightFloor: number;
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
  /** The job's own section, as its definition resolves it. */
  readonly section: Section;
  readonly runtime: RuntimeConfig;
  /** The whole document as checked, defaults filled in (for `--print-config`). */
  readonly document: Readonly<Record<string, unknown>>;
}

const MIB = 1024 * 1024;

const binding = (kind: 'source' | 'sink', description: string): ConfigSchema =>
  section(
    {
      stream: {
        type: 'string',
        minLength: 1,
        description:
          'Stream name with the pinned schema version after a colon (`mediawiki.page_change.v1:1.2.0`).',
      },
      connector: { enum: Object.keys(CONNECTOR_OPTIONS[kind]), description },
      ...(kind === 'source'
        ? {
            parallelism: {
              type: 'integer',
              minimum: 1,
              description:
                'Accepted from eventutilities-python configs; no effect: one process reads with `runtime.max_in_flight` records in flight, and instances in one consumer group share the partitions.',
            },
          }
        : {}),
      options: {
        type: 'object',
        default: {},
        description: "The connector's options (tables below).",
      },
    },
    { required: ['stream', 'connector'] },
  );

const NO_EFFECT =
  "Accepted from eventutilities-python configs, where it tunes the Python thread pool of a job's process function; no effect here, where concurrency is `runtime.max_in_flight` and `enrich.max_concurrent_requests`.";

/** `stream_manager`, declared. */
export const STREAM_MANAGER_SCHEMA: ConfigSchema = section(
  {
    job_name: {
      type: 'string',
      minLength: 1,
      description: "Job name: `emitter_id` of error events, Kafka client id, logs' `service.name`.",
    },
    stream_config_uri: {
      type: 'string',
      minLength: 1,
      description:
        'The EventStreamConfig API (`…/w/api.php`, queried with `action=streamconfigs&all_settings=true&streams=a|b`), or a `file://` URI or path of a JSON or YAML document of the same shape `{streams: {name: {schema_title, topics, message_key_fields}}}` (example: `examples/stream-config.yaml`).',
    },
    schema_uris: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      description:
        'Schema repositories tried in order (`file://`, path, `http(s)://`); schemas are looked up as `/title/version` (`.yaml`, `.json`, or a bare file). `schemas/` bundles page/change 1.0.0–1.2.0 and error 2.1.0.',
    },
    http_client_routes: {
      type: 'object',
      additionalProperties: { type: 'string' },
      default: {},
      description:
        'Routes for schema, stream-config and Action API requests, e.g. `{"https://meta.wikimedia.org": "http://localhost:6500"}`; the `Host` header keeps the original host.',
    },
    process_async_enabled_default: { type: 'boolean', description: NO_EFFECT },
    process_batch_size_default: { type: 'integer', minimum: 1, description: NO_EFFECT },
    process_max_workers_default: { type: 'integer', minimum: 1, description: NO_EFFECT },
    source: binding('source', '`file`, `stdin`, `kafka`, `sse` or `mediawiki_recentchanges`.'),
    sink: binding('sink', '`file`, `stdout` or `kafka`.'),
    error_sink: binding('sink', '`file`, `stdout` or `kafka`.'),
  },
  { required: ['job_name', 'stream_config_uri', 'schema_uris', 'source', 'sink', 'error_sink'] },
);

/** `runtime`, declared. */
export const RUNTIME_SCHEMA: ConfigSchema = section(
  {
    max_in_flight: {
      type: 'integer',
      minimum: 1,
      default: 1000,
      description:
        'Most records between the source and their acknowledged outcome; the source is not read while full (bounded memory).',
    },
    in_flight_floor: {
      type: 'integer',
      minimum: 1,
      default: 256,
      description:
        'The smallest window of records in flight. The window starts at `max_in_flight`; every 50 ms it shrinks by a quarter, down to this, when the event loop was saturated in that interval and the one before, and doubles, up to `max_in_flight`, when the loop had time to spare: read-ahead fills batches while the wiki is slow, and only costs memory and collection while the process is busy. At or above `max_in_flight`: a window of fixed size.',
    },
    max_in_flight_bytes: {
      type: 'integer',
      minimum: MIB,
      default: 256 * MIB,
      description:
        'Most bytes of the records in flight: input bytes from the moment a record is read, plus its output (or error event) bytes once built; until then, the content size the input announces (`revision.rev_size`). The source is not read while over it; a single record larger than the budget is still taken, alone.',
    },
    max_record_bytes: {
      type: 'integer',
      minimum: 1024,
      // V8's longest string is just under 512 MiB; a record is decoded into one, with room to spare.
      maximum: 256 * MIB,
      default: 10 * MIB,
      description:
        'Largest input record. A longer line is not assembled: its first 64 KiB are kept and the rest skipped; the record becomes an `InvalidEventError` error event.',
    },
    max_json_depth: {
      type: 'integer',
      minimum: 8,
      maximum: 1000,
      default: 64,
      description:
        'Deepest nesting of objects and arrays in an input (page_change events nest about 6 deep); a deeper input becomes an `InvalidEventError` error event before it is parsed.',
    },
    commit_interval_ms: {
      type: 'integer',
      minimum: 10,
      default: 1000,
      description: 'How often source positions are committed.',
    },
    drain_timeout_ms: {
      type: 'integer',
      minimum: 0,
      default: 30_000,
      description:
        'How long a stop or a partition revocation waits for records in flight; unfinished ones are read again later.',
    },
    oversize_policy: {
      enum: ['error_event', 'fail'],
      default: 'error_event',
      description:
        'An output larger than the sink accepts (Kafka `message.max.bytes`): `error_event` emits an `OversizeEventError` error event carrying the raw input (not the huge output) and goes on; `fail` stops the job without committing past it.',
    },
    log_level: {
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      description: 'Log level of the ECS JSON logs on standard error.',
    },
    metrics_port: {
      type: 'integer',
      minimum: 0,
      maximum: 65535,
      description:
        'Serve `/metrics`, `/healthz`, `/readyz` and the status page (`/`, `/status.json`) on this port, on all interfaces; unset: none.',
    },
  },
  { default: {} },
);

/** The whole configuration of a job, declared. */
export function configSchema(job: JobDefinition): ConfigSchema {
  return section(
    { stream_manager: STREAM_MANAGER_SCHEMA, [job.section.key]: job.section.schema, runtime: RUNTIME_SCHEMA },
    { required: ['stream_manager', job.section.key] },
  );
}

const compiled = new WeakMap<ConfigSchema, ReturnType<typeof compileConfigSchema>>();

/** Checks `raw` against `schema` (compiled once) and returns it with the defaults filled in. */
function check(schema: ConfigSchema, raw: unknown, at = ''): Record<string, unknown> {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = compileConfigSchema(schema);
    compiled.set(schema, validate);
  }
  return validate(raw, at);
}

/** A plain path (no scheme) is a local file or folder, relative to the working directory. */
function toUri(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : pathToFileURL(resolve(value)).href;
}

type Binding = { stream: string; connector: string; options: Record<string, unknown> };

function resolveBinding(kind: 'source' | 'sink', raw: Binding, key: string): StreamBinding {
  const ref = parseStreamRef(raw.stream, `${key}.stream`);
  const schemas: Record<string, ConfigSchema> = CONNECTOR_OPTIONS[kind];
  const options = check(schemas[raw.connector]!, raw.options, `${key}.options`);
  raw.options = options;
  return {
    stream: ref.stream,
    version: ref.version,
    connector: raw.connector,
    options: new OptionReader(options, `${key}.options`),
    key,
  };
}

/** Checks the whole document against the job's declared configuration and resolves it. */
export function resolveConfig<Section>(raw: unknown, job: JobDefinition<Section>): JobConfig<Section> {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError('(root)', 'must be a mapping');
  }
  const doc = check(configSchema(job as JobDefinition), raw);
  const sm = doc.stream_manager as Record<string, unknown> & {
    job_name: string;
    stream_config_uri: string;
    schema_uris: string[];
    http_client_routes: Record<string, string>;
    source: Binding;
    sink: Binding;
    error_sink: Binding;
  };
  checkHttpRoutes(sm.http_client_routes, 'stream_manager.http_client_routes');
  const source = resolveBinding('source', sm.source, 'stream_manager.source');
  const sink = resolveBinding('sink', sm.sink, 'stream_manager.sink');
  const errorSink = resolveBinding('sink', sm.error_sink, 'stream_manager.error_sink');
  const section = job.section.resolve(doc[job.section.key] as Record<string, unknown>, job.section.key);
  const rt = doc.runtime as Record<string, number | string | undefined>;
  const runtime: RuntimeConfig = Object.freeze({
    maxInFlight: rt.max_in_flight as number,
    inFlightFloor: rt.in_flight_floor as number,
    maxInFlightBytes: rt.max_in_flight_bytes as number,
    maxRecordBytes: rt.max_record_bytes as number,
    maxJsonDepth: rt.max_json_depth as number,
    commitIntervalMs: rt.commit_interval_ms as number,
    drainTimeoutMs: rt.drain_timeout_ms as number,
    oversizePolicy: rt.oversize_policy as 'error_event' | 'fail',
    logLevel: rt.log_level as string,
    metricsPort: rt.metrics_port as number | undefined,
  });
  return Object.freeze({
    jobName: sm.job_name,
    streamConfigUri: toUri(sm.stream_config_uri),
    schemaUris: Object.freeze(sm.schema_uris.map(toUri)),
    httpRoutes: Object.freeze({ ...sm.http_client_routes }),
    source,
    sink,
    errorSink,
    section,
    runtime,
    document: deepFreeze(doc),
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
