import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { PromiseCache } from './promise-cache.js';
import { isPlainObject, type JsonSchema, type JsonSchemaObject } from './json-schema.js';

/** Reads a URL as text; rejects when the resource cannot be had (a 404 included). */
export type FetchText = (url: string) => Promise<string>;

export interface SchemaRepositoryOptions {
  /** Tried in order; `file://` or `http(s)://`, e.g. `file:///srv/schemas/event/primary/jsonschema`. */
  baseUris: readonly string[];
  /** Needed only for http(s) bases; the runtime passes one that applies `http_client_routes`. */
  fetchText?: FetchText;
}

/** No base URI holds the schema. `tried` lists each place and why it failed. */
export class SchemaNotFoundError extends Error {
  constructor(
    readonly schemaUri: string,
    readonly tried: readonly string[],
  ) {
    super(`schema ${schemaUri} not found; tried:\n  ${tried.join('\n  ')}`);
    this.name = 'SchemaNotFoundError';
  }
}

const DRAFT_07_HTTPS = 'https://json-schema.org/draft-07/schema#';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

// The schema repositories keep `latest` and `1.2.0` as symlinks to `1.2.0.yaml`; a checkout without
// symlink support (or an HTTP mirror of one) serves a file whose whole content is that target name.
const SYMLINK_TARGET = /^[A-Za-z0-9._-]+\.(?:ya?ml|json)$/;
const MAX_SYMLINK_HOPS = 4;

/**
 * Finds event schemas by URI (`/mediawiki/page/change/1.2.0`, or `.../latest`) in an ordered list of
 * schema repositories, parses them (YAML or JSON) and prepares them for ajv. Each URI is read once:
 * concurrent lookups share one read; failures are not cached, so a later lookup tries again.
 * Returned schemas are frozen because they are shared.
 */
export class SchemaRepository {
  private readonly bases: string[];
  private readonly fetchText: FetchText | undefined;
  private readonly cache = new PromiseCache<string, JsonSchemaObject>();

  constructor(options: SchemaRepositoryOptions) {
    if (options.baseUris.length === 0) throw new ConfigError('schema_uris', 'needs at least one base URI');
    this.bases = options.baseUris.map((base) => {
      if (!/^(?:file|https?):\/\//.test(base)) {
        throw new ConfigError('schema_uris', `${JSON.stringify(base)} must be a file:// or http(s):// URI`);
      }
      return base.replace(/\/+$/, '');
    });
    this.fetchText = options.fetchText;
  }

  get(schemaUri: string): Promise<JsonSchemaObject> {
    let uri: string;
    try {
      uri = normaliseSchemaUri(schemaUri);
    } catch (err) {
      // URIs can come from input events' `$schema`; callers handle rejections, not throws.
      return Promise.reject(err as Error);
    }
    return this.cache.get(uri, (u) => this.load(u));
  }

  private async load(uri: string): Promise<JsonSchemaObject> {
    const tried: string[] = [];
    for (const base of this.bases) {
      for (const url of [`${base}${uri}.yaml`, `${base}${uri}.json`, `${base}${uri}`]) {
        const found = await this.readFollowingSymlinks(url, tried);
        if (found !== undefined) return prepareForAjv(parseSchema(found.text, found.url));
      }
    }
    throw new SchemaNotFoundError(uri, tried);
  }

  private async readFollowingSymlinks(
    url: string,
    tried: string[],
  ): Promise<{ url: string; text: string } | undefined> {
    for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
      const text = await this.read(url, tried);
      if (text === undefined) return undefined;
      const target = text.trim();
      if (!SYMLINK_TARGET.test(target)) return { url, text };
      url = new URL(target, url).href;
    }
    tried.push(`${url}: more than ${MAX_SYMLINK_HOPS} symlink files in a row`);
    return undefined;
  }

  private async read(url: string, tried: string[]): Promise<string | undefined> {
    if (url.startsWith('file:')) {
      try {
        return await readFile(fileURLToPath(url), 'utf8');
      } catch (err) {
        tried.push(`${url}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        return undefined;
      }
    }
    if (!this.fetchText) {
      throw new ConfigError(
        'schema_uris',
        `${url} is http(s) but no HTTP client was given to the schema repository`,
      );
    }
    try {
      return await this.fetchText(url);
    } catch (err) {
      tried.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }
}

function normaliseSchemaUri(schemaUri: string): string {
  const uri = schemaUri.startsWith('/') ? schemaUri : `/${schemaUri}`;
  if (uri === '/' || uri.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new Error(`invalid schema URI ${JSON.stringify(schemaUri)}`);
  }
  return uri;
}

function parseSchema(text: string, url: string): JsonSchemaObject {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new Error(`${url}: not YAML or JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!isPlainObject(value)) throw new Error(`${url}: not a JSON schema object`);
  return value as JsonSchemaObject;
}

/**
 * The versioned schema files are materialised: every inlined fragment keeps its own `$id` and
 * `$schema`, and one fragment `$id` can occur several times in a file, which ajv rejects ("resolves to
 * more than one schema"). Only the root keeps its `$id`. ajv knows draft-07 by its http URI only.
 * Mutates the freshly parsed object, then freezes it.
 */
export function prepareForAjv(schema: JsonSchemaObject): JsonSchemaObject {
  for (const sub of subschemas(schema)) stripNested(sub);
  if (schema.$schema === DRAFT_07_HTTPS) schema.$schema = DRAFT_07;
  return deepFreeze(schema);
}

function stripNested(schema: JsonSchema): void {
  if (typeof schema !== 'object') return;
  delete schema.$id;
  delete schema.$schema;
  for (const sub of subschemas(schema)) stripNested(sub);
}

const SCHEMA_KEYWORDS = [
  'additionalProperties',
  'additionalItems',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
  'not',
];
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf'];
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependencies'];

/**
 * Direct subschemas, by keyword. Walking by keyword (not by key name) matters: `properties.$schema`
 * declares the event's `$schema` field, and `examples` hold data, not schemas.
 */
function* subschemas(schema: JsonSchemaObject): Generator<JsonSchema> {
  for (const keyword of SCHEMA_KEYWORDS) if (isSchema(schema[keyword])) yield schema[keyword] as JsonSchema;
  for (const keyword of SCHEMA_LIST_KEYWORDS) {
    const list = schema[keyword];
    if (Array.isArray(list)) yield* list.filter(isSchema);
  }
  for (const keyword of SCHEMA_MAP_KEYWORDS) {
    const map = schema[keyword];
    // `dependencies` values may also be lists of property names; isSchema skips those.
    if (isPlainObject(map)) yield* Object.values(map).filter(isSchema);
  }
  const items = schema.items;
  if (Array.isArray(items)) yield* items.filter(isSchema);
  else if (isSchema(items)) yield items;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || isPlainObject(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
