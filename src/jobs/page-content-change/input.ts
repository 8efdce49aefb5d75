import { EnrichmentError } from '../../core/errors.js';
import { isPlainObject } from '../../core/json-schema.js';
import type { Projection } from '../../core/event.js';
import type { Validate, Validator } from '../../core/validator.js';

/** How inputs are checked: against their own `$schema` when the repository has it, else the pinned one. */
export interface InputSchemas {
  validator: Validator;
  /** e.g. `mediawiki/page/change`. */
  title: string;
  /** The pinned source schema (`/mediawiki/page/change/1.2.0`), compiled at start. */
  pinned: { uri: string; validate: Validate; projection: Projection };
  /**
   * Schema URIs the repository did not have. Remembered so that a stream of events of an unknown
   * version does not read the repositories again for each event; bounded, as URIs come from input.
   */
  unknown: Set<string>;
}

const MAX_UNKNOWN_SCHEMAS = 1_000;

export interface CheckedInput {
  event: Record<string, unknown>;
  /** Fields dropped because the event's schema version is unknown here (newer producers). */
  dropped: string[];
}

/**
 * Validates one parsed input. An event of a version the repository holds is validated against that
 * version. A version the repository does not hold (producers run ahead of consumers: 1.11.0) is
 * projected onto the pinned version, the dropped fields are reported, and the projection validated.
 */
export async function checkInput(event: Record<string, unknown>, schemas: InputSchemas): Promise<CheckedInput> {
  const declared = event.$schema;
  if (typeof declared !== 'string' || declared.length === 0) {
    throw new EnrichmentError('SchemaValidationError', 'event has no $schema');
  }
  const uri = relativeSchemaUri(declared);
  if (!uri.startsWith(`/${schemas.title}/`)) {
    throw new EnrichmentError('SchemaValidationError', `$schema ${declared} is not a ${schemas.title} schema`);
  }
  let validate: Validate | undefined;
  if (uri === schemas.pinned.uri) validate = schemas.pinned.validate;
  else if (!schemas.unknown.has(uri)) {
    try {
      validate = await schemas.validator.forSchema(uri);
    } catch {
      if (schemas.unknown.size >= MAX_UNKNOWN_SCHEMAS) schemas.unknown.clear();
      schemas.unknown.add(uri);
    }
  }
  if (validate) {
    const result = validate(event);
    if (!result.valid) throw new EnrichmentError('SchemaValidationError', `invalid against ${uri}: ${result.message}`);
    return { event, dropped: [] };
  }
  const { value, dropped } = schemas.pinned.projection.project(event);
  const result = schemas.pinned.validate(value);
  if (!result.valid) {
    throw new EnrichmentError('SchemaValidationError', `${uri} is unknown here and the event is invalid against ${schemas.pinned.uri}: ${result.message}`);
  }
  return { event: value as Record<string, unknown>, dropped };
}

/** `https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/change/1.1.0` → `/mediawiki/page/change/1.1.0`. */
function relativeSchemaUri(uri: string): string {
  if (uri.startsWith('/')) return uri;
  const marker = uri.indexOf('/jsonschema/');
  return marker === -1 ? uri : uri.slice(marker + '/jsonschema'.length);
}

/** The part of `meta` the job depends on. */
export function metaOf(event: Record<string, unknown>): { domain?: string; dt?: string } {
  return isPlainObject(event.meta) ? (event.meta as { domain?: string; dt?: string }) : {};
}
