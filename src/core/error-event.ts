import { isEnrichmentError } from './errors.js';
import { isPlainObject } from './json-schema.js';

/** The error schema when the error stream pins no version of its own. */
export const ERROR_SCHEMA_URI = '/error/2.1.0';

/** An `error/2.1.0` event. */
export interface ErrorEvent {
  $schema: string;
  meta: { stream: string; id: string; dt: string; domain?: string };
  dt: string;
  emitter_id: string;
  message: string;
  error_type: string;
  raw_event: string;
  errored_stream_name?: string;
  errored_schema_uri?: string;
  stack?: string;
}

export interface ErrorEventInput {
  jobName: string;
  /** `<job_name>.error`. */
  errorStream: string;
  /** The error stream's pinned schema, e.g. `/error/2.1.0`. @default ERROR_SCHEMA_URI */
  schemaUri?: string;
  error: unknown;
  /** The input record exactly as received. */
  rawEvent: string;
  /** The input once parsed, when it could be; otherwise `rawEvent` is parsed here if it can be. */
  parsed?: unknown;
  now: Date;
  id: string;
}

/**
 * The one place error events are built. The result validates against `error/2.1.0` whatever the
 * input was (not JSON, an array, a `meta` that is not an object...): optional fields are set only
 * from non-empty strings.
 */
export function buildErrorEvent(input: ErrorEventInput): ErrorEvent {
  const parsed = input.parsed !== undefined ? input.parsed : tryParse(input.rawEvent);
  const meta = isPlainObject(parsed) && isPlainObject(parsed.meta) ? parsed.meta : undefined;
  const dt = input.now.toISOString();

  const event: ErrorEvent = {
    $schema: input.schemaUri ?? ERROR_SCHEMA_URI,
    meta: { stream: input.errorStream, id: input.id, dt },
    dt,
    emitter_id: input.jobName,
    message: messageOf(input.error),
    error_type: errorType(input.error),
    raw_event: input.rawEvent,
  };
  const domain = nonEmptyString(meta?.domain);
  if (domain !== undefined) event.meta.domain = domain;
  const stream = nonEmptyString(meta?.stream);
  if (stream !== undefined) event.errored_stream_name = stream;
  const schemaUri = isPlainObject(parsed) ? nonEmptyString(parsed.$schema) : undefined;
  if (schemaUri !== undefined) event.errored_schema_uri = schemaUri;
  const stack = stackOf(input.error);
  if (stack !== undefined) event.stack = stack;
  return event;
}

function tryParse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function errorType(error: unknown): string {
  if (isEnrichmentError(error)) return error.type;
  if (error instanceof Error) return nonEmptyString(error.name) ?? 'Error';
  return 'UnknownError';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return nonEmptyString(error.message) ?? errorType(error);
  try {
    return nonEmptyString(String(error)) ?? 'unknown error';
  } catch {
    // String() throws for objects without a usable toString (Object.create(null)).
    return 'unknown error';
  }
}

/** The stack, followed by the stacks of its causes, so a wrapped socket error is not lost. */
function stackOf(error: unknown): string | undefined {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const stack = nonEmptyString(e.stack) ?? `${e.name}: ${e.message}`;
    parts.push(parts.length === 0 ? stack : `Caused by: ${stack}`);
  }
  return parts.length > 0 ? parts.join('\n') : undefined;
}
