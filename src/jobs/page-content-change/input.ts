import { EnrichmentError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json-schema.js';
import type { Projection } from '../../core/event.js';
import { SchemaNotFoundError } from '../../core/schema-repository.js';
import { INPUT_SCHEMA_URI_FORM, parseInputSchemaUri } from '../../core/schema-uri.js';
import type { Validate, Validator } from '../../core/validator.js';

/** How inputs are checked: against their own `$schema` when the repository has it, else the pinned one. */
export interface InputSchemas {
  validator: Validator;
  /** e.g. `mediawiki/page/change`. */
  title: string;
  /** The pinned source schema (`/mediawiki/page/change/1.2.0`), compiled at start. */
  pinned: { uri: string; validate: Validate; projection: Projection };
  /**
   * Schema URIs no repository has (each answered "no such file" or 404, or holds there something
   * it may not read: a symlink out, a device, a file over the bound). Remembered so that a
   * stream of events of an unknown version does not read the repositories again for each event;
   * bounded, as URIs come from input.
   */
  unknown: Set<string>;
  /** Schema URIs that could not be read just now; without it, the next such event tries again. */
  unavailable?: UnavailableSchemas;
}

const MAX_UNKNOWN_SCHEMAS = 1_000;

/**
 * Versions whose schema could not be had for a reason that may pass (network error, timeout, 5xx,
 * a broken file). Such a version is not tried again for `retryAfterMs`, so that an outage of the
 * schema host costs one wait per version and interval instead of one per event, and one log line.
 */
export class UnavailableSchemas {
  static readonly DEFAULT_RETRY_AFTER_MS = 30_000;
  private readonly until = new Map<string, number>();
  private readonly retryAfterMs: number;
  private readonly now: () => number;
  private readonly onUnavailable: (uri: string, error: unknown) => void;

  constructor(
    options: {
      retryAfterMs?: number;
      now?: () => number;
      onUnavailable?: (uri: string, error: unknown) => void;
    } = {},
  ) {
    this.retryAfterMs = options.retryAfterMs ?? UnavailableSchemas.DEFAULT_RETRY_AFTER_MS;
    this.now = options.now ?? Date.now;
    this.onUnavailable = options.onUnavailable ?? (() => {});
  }

  isWaiting(uri: string): boolean {
    const until = this.until.get(uri);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.until.delete(uri);
    return false;
  }

  failed(uri: string, error: unknown): void {
    remember(this.until, uri, this.now() + this.retryAfterMs);
    this.onUnavailable(uri, error);
  }
}

/** Adds to a map or set bounded at MAX_UNKNOWN_SCHEMAS, forgetting the oldest entry first. */
function remember(store: Map<string, number>, key: string, value: number): void;
function remember(store: Set<string>, key: string): void;
function remember(store: Map<string, number> | Set<string>, key: string, value?: number): void {
  store.delete(key);
  if (store.size >= MAX_UNKNOWN_SCHEMAS) store.delete(store.keys().next().value!);
  if (store instanceof Map) store.set(key, value!);
  else store.add(key);
}

export interface CheckedInput {
  event: Record<string, unknown>;
  /** Fields dropped because the event's schema version is unknown here (newer producers). */
  dropped: string[];
}

/**
 * Validates one parsed input. Its `$schema` must be of the repository form (`/<title>/1.2.0`, or the
 * same after an http(s) repository base), or the input fails: only that form is ever looked up, so
 * an input cannot make the service open a file or ask a URL outside the schema repositories.
 *
 * An event of a version the repository holds is validated against that version. A version the
 * repository does not hold (producers run ahead of consumers: 1.11.0) is projected onto the pinned
 * version, the dropped fields are reported, and the projection validated.
 *
 * A version whose schema cannot be read just now (the schema host is down, answers 5xx, times out)
 * is treated as unknown for this event only: it is projected onto the pinned version, which is what
 * the output is projected onto anyway, so the event loses no field the output would have kept and
 * is still validated, against the pinned schema. Failing it instead would send every event of a
 * newer version to the error stream during a schema-host outage, for a check the pinned schema
 * mostly repeats; stopping the job would make the schema host as critical as the source. The
 * failure is not remembered as "unknown" (that would project the version for the life of the
 * process), only held for a short interval (`UnavailableSchemas`).
 *
 * Without a promise when none is needed: an event of the pinned version, or of one already known to
 * be missing, is checked at once (the common case, once per record); only another version waits for
 * its schema. A failure is thrown, or the promise rejects, with an `EnrichmentError`.
 */
export function checkInput(
  event: Record<string, unknown>,
  schemas: InputSchemas,
): CheckedInput | Promise<CheckedInput> {
  const declared = event.$schema;
  if (typeof declared !== 'string' || declared.length === 0) {
    throw new EnrichmentError('SchemaValidationError', 'event has no $schema');
  }
  const parsed = parseInputSchemaUri(declared);
  if (!parsed) {
    throw new EnrichmentError(
      'SchemaValidationError',
      `$schema ${preview(declared)} is not of the form ${INPUT_SCHEMA_URI_FORM}`,
    );
  }
  const { uri } = parsed;
  if (parsed.title !== schemas.title) {
    throw new EnrichmentError('SchemaValidationError', `$schema ${uri} is not a ${schemas.title} schema`);
  }
  if (uri === schemas.pinned.uri) return validated(event, uri, schemas.pinned.validate);
  if (schemas.unknown.has(uri) || schemas.unavailable?.isWaiting(uri)) return projected(event, uri, schemas);
  return schemas.validator.forSchema(uri).then(
    (validate) => validated(event, uri, validate),
    (err: unknown) => {
      if (err instanceof SchemaNotFoundError && err.definite) remember(schemas.unknown, uri);
      else schemas.unavailable?.failed(uri, err);
      return projected(event, uri, schemas);
    },
  );
}

function validated(event: Record<string, unknown>, uri: string, validate: Validate): CheckedInput {
  const result = validate(event);
  if (!result.valid)
    throw new EnrichmentError('SchemaValidationError', `invalid against ${uri}: ${result.message}`);
  return { event, dropped: [] };
}

/** An event of a version not to be had here, projected onto the pinned version and validated. */
function projected(event: Record<string, unknown>, uri: string, schemas: InputSchemas): CheckedInput {
  const { value, dropped } = schemas.pinned.projection.project(event);
  const result = schemas.pinned.validate(value);
  if (!result.valid) {
    throw new EnrichmentError(
      'SchemaValidationError',
      `${uri} is unknown here and the event is invalid against ${schemas.pinned.uri}: ${result.message}`,
    );
  }
  return { event: value as Record<string, unknown>, dropped };
}

const MAX_PREVIEW_CHARS = 200;

/** The refused value as a JSON string (control characters escaped), cut to a readable length. */
function preview(value: string): string {
  return value.length > MAX_PREVIEW_CHARS
    ? `${JSON.stringify(value.slice(0, MAX_PREVIEW_CHARS))}… (${value.length} characters)`
    : JSON.stringify(value);
}

/** The part of `meta` the job depends on. */
export function metaOf(event: Record<string, unknown>): { domain?: string; dt?: string } {
  return isPlainObject(event.meta) ? (event.meta as { domain?: string; dt?: string }) : {};
}
