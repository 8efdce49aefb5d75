import { fileURLToPath, pathToFileURL } from 'node:url';
import { SchemaRepository } from '../../src/core/schema-repository.js';

/**
 * The shared event schema checkout, beside the repository: `<repo root>/../shared/event-schemas/
 * primary/jsonschema`. Tests and examples reach it only through this module.
 */
export const SHARED_SCHEMAS_URL = new URL(
  '../../../shared/event-schemas/primary/jsonschema/',
  import.meta.url,
);

/** Filesystem path of the checkout, without a trailing slash. */
export const SHARED_SCHEMAS_DIR = fileURLToPath(SHARED_SCHEMAS_URL).replace(/\/+$/, '');

/** `file://` base URI of the checkout, as `schema_uris` takes it. */
export const SHARED_SCHEMAS_URI = pathToFileURL(SHARED_SCHEMAS_DIR).href;

/** A repository over the shared checkout only. */
export function sharedSchemaRepository(): SchemaRepository {
  return new SchemaRepository({ baseUris: [SHARED_SCHEMAS_URI] });
}
