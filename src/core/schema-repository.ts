import { realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_MAX_SCHEMA_BYTES,
  HttpStatusError,
  ReadRefusedError,
  readRegularFile,
} from './bounded-read.js';
import { ConfigError } from './errors.js';
import { PromiseCache } from './promise-cache.js';
import { isPlainObject, type JsonSchema, type JsonSchemaObject } from './json-schema.js';
import { normaliseSchemaUri } from './schema-uri.js';

/**
 * Reads a URL as text; rejects when the resource cannot be had, with an `HttpStatusError` for an
 * HTTP answer other than 200 (so that a 404 can be told from an outage).
 */
export type FetchText = (url: string) => Promise<string>;

export interface SchemaRepositoryOptions {
  /** Tried in order; `file://` or `http(s)://`, e.g. `file:///srv/schemas/event/primary/jsonschema`. */
  baseUris: readonly string[];
  /** Needed only for http(s) bases; the runtime passes one that applies `http_client_routes`. */
  fetchText?: FetchText;
  /** Largest schema file read from a `file://` base (http answers are bounded by `fetchText`). */
  maxSchemaBytes?: number;
}

/** Why one place did not give the schema. */
export interface SchemaAttempt {
  /** The file or URL asked. */
  url: string;
  /**
   * `missing`: no such file, or HTTP 404/410. `refused`: it is there but may not be read (outside
   * the repository, not a regular file, too large). `failed`: anything that may pass (network
   * error, timeout, 5xx, EIO, EACCES).
   */
  outcome: 'missing' | 'refused' | 'failed';
  detail: string;
}

/** No base URI holds the schema. `tried` lists each place and why it failed. */
export class SchemaNotFoundError extends Error {
  readonly tried: readonly string[];
  /**
   * Every place answered for good (no such file, 404, refused): asking again gives the same answer
   * until the repositories change. False when any place failed in a way that may pass.
   */
  readonly definite: boolean;

  constructor(
    readonly schemaUri: string,
    readonly attempts: readonly SchemaAttempt[],
  ) {
    const tried = attempts.map((a) => `${a.url}: ${a.detail}`);
    super(`schema ${schemaUri} not found; tried:\n  ${tried.join('\n  ')}`);
    this.name = 'SchemaNotFoundError';
    this.tried = tried;
    this.definite = attempts.every((a) => a.outcome !== 'failed');
  }
}

const DRAFT_07_HTTPS = 'https://json-schema.org/draft-07/schema#';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

// The schema repositories keep `latest` and `1.2.0` as symlinks to `1.2.0.yaml`; a checkout without
// symlink support (or an HTTP mirror of one) serves a file whose whole content is that target name.
const SYMLINK_TARGET = /^[A-Za-z0-9_][A-Za-z0-9._-]*\.(?:ya?ml|json)$/;
const MAX_SYMLINK_HOPS = 4;

type Base = FileBase | HttpBase;

interface FileBase {
  kind: 'file';
  /** The configured URI without trailing slashes, for messages. */
  uri: string;
  dir: string;
  /** The directory's real path, once known: every file read must resolve below it. */
  realDir?: string;
}

interface HttpBase {
  kind: 'http';
  uri: string;
  origin: string;
  /** Path of the base without trailing slashes; every URL asked must start with it and a `/`. */
  path: string;
}

type Read = { text: string } | SchemaAttempt;

/**
 * Finds event schemas by URI (`/mediawiki/page/change/1.2.0`, or `.../latest`) in an ordered list of
 * schema repositories, parses them (YAML or JSON) and prepares them for ajv. Each URI is read once:
 * concurrent lookups share one read; failures are not cached, so a later lookup tries again.
 * Returned schemas are frozen because they are shared.
 *
 * Lookups are confined: a file is read only when its real path lies below its base's real path and
 * it is a regular file of at most `maxSchemaBytes`; a URL is asked only when it has its base's origin
 * and lies below its base's path, without query or fragment.
 */
export class SchemaRepository {
  private readonly bases: Base[];
  private readonly fetchText: FetchText | undefined;
  private readonly maxSchemaBytes: number;
  private readonly cache = new PromiseCache<string, JsonSchemaObject>();

  constructor(options: SchemaRepositoryOptions) {
    if (options.baseUris.length === 0) throw new ConfigError('schema_uris', 'needs at least one base URI');
    this.bases = options.baseUris.map(parseBase);
    this.fetchText = options.fetchText;
    this.maxSchemaBytes = options.maxSchemaBytes ?? DEFAULT_MAX_SCHEMA_BYTES;
  }

  get(schemaUri: string): Promise<JsonSchemaObject> {
    const uri = normaliseSchemaUri(schemaUri);
    // URIs can come from input events' `$schema`; callers handle rejections, not throws.
    if (uri === undefined)
      return Promise.reject(new Error(`invalid schema URI ${JSON.stringify(schemaUri)}`));
    return this.cache.get(uri, (u) => this.load(u));
  }

  private async load(uri: string): Promise<JsonSchemaObject> {
    const attempts: SchemaAttempt[] = [];
    for (const base of this.bases) {
      for (const path of [`${uri}.yaml`, `${uri}.json`, uri]) {
        const found = await this.readFollowingSymlinks(base, path, attempts);
        if (found !== undefined) return prepareForAjv(parseSchema(found.text, found.url));
      }
    }
    throw new SchemaNotFoundError(uri, attempts);
  }

  private async readFollowingSymlinks(
    base: Base,
    path: string,
    attempts: SchemaAttempt[],
  ): Promise<{ url: string; text: string } | undefined> {
    for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
      const read = await this.read(base, path);
      if (!('text' in read)) {
        attempts.push(read);
        return undefined;
      }
      const target = read.text.trim();
      if (!SYMLINK_TARGET.test(target)) return { url: base.uri + path, text: read.text };
      path = posix.join(posix.dirname(path), target);
    }
    attempts.push({
      url: base.uri + path,
      outcome: 'refused',
      detail: `more than ${MAX_SYMLINK_HOPS} symlink files in a row`,
    });
    return undefined;
  }

  /** `path` is `/title/version[.ext]`, already checked; the base decides what it may reach. */
  private async read(base: Base, path: string): Promise<Read> {
    return base.kind === 'file' ? this.readFile(base, path) : this.readUrl(base, path);
  }

  private async readFile(base: FileBase, path: string): Promise<Read> {
    const url = base.uri + path;
    try {
      base.realDir ??= await realpath(base.dir);
      return {
        text: await readRegularFile(join(base.dir, path), {
          maxBytes: this.maxSchemaBytes,
          within: base.realDir,
        }),
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (err instanceof ReadRefusedError) return { url, outcome: 'refused', detail: err.message };
      if (code === 'ENOENT' || code === 'ENOTDIR') return { url, outcome: 'missing', detail: code };
      return { url, outcome: 'failed', detail: code ?? String(err) };
    }
  }

  private async readUrl(base: HttpBase, path: string): Promise<Read> {
    const url = base.uri + path;
    if (!this.fetchText) {
      throw new ConfigError(
        'schema_uris',
        `${url} is http(s) but no HTTP client was given to the schema repository`,
      );
    }
    const parsed = new URL(url);
    // WHATWG URL parsing resolves `%2e%2e` and `\\` as `..` and `/`: check what would be requested.
    if (
      parsed.origin !== base.origin ||
      !parsed.pathname.startsWith(`${base.path}/`) ||
      parsed.search !== '' ||
      parsed.hash !== ''
    ) {
      return { url, outcome: 'refused', detail: `${parsed.href} is outside ${base.uri}/` };
    }
    try {
      return { text: await this.fetchText(parsed.href) };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      if (err instanceof HttpStatusError && (err.status === 404 || err.status === 410))
        return { url, outcome: 'missing', detail };
      if (err instanceof ReadRefusedError) return { url, outcome: 'refused', detail };
      return { url, outcome: 'failed', detail };
    }
  }
}

function parseBase(configured: string): Base {
  const uri = configured.replace(/\/+$/, '');
  if (/^file:\/\//.test(configured)) {
    let dir: string;
    try {
      dir = fileURLToPath(configured);
    } catch (err) {
      throw new ConfigError('schema_uris', `${JSON.stringify(configured)}: ${(err as Error).message}`);
    }
    return { kind: 'file', uri, dir };
  }
  if (/^https?:\/\//.test(configured)) {
    let url: URL;
    try {
      url = new URL(configured);
    } catch {
      throw new ConfigError('schema_uris', `${JSON.stringify(configured)} is not a valid URL`);
    }
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new ConfigError(
        'schema_uris',
        `${JSON.stringify(configured)} must not have a query, fragment or user`,
      );
    }
    return { kind: 'http', uri, origin: url.origin, path: url.pathname.replace(/\/+$/, '') };
  }
  throw new ConfigError('schema_uris', `${JSON.stringify(configured)} must be a file:// or http(s):// URI`);
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
