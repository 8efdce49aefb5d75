import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_MAX_SCHEMA_BYTES, readRegularFile } from './bounded-read.js';
import { ConfigError } from './errors.js';
import { isPlainObject } from './json-schema.js';
import type { FetchText } from './schema-repository.js';

export interface StreamRef {
  stream: string;
  /** The pinned schema version, e.g. `1.2.0`; undefined when the reference has none. */
  version: string | undefined;
}

/** `mediawiki.page_change.v1:1.2.0` → `{ stream: 'mediawiki.page_change.v1', version: '1.2.0' }`. */
export function parseStreamRef(ref: string, key = 'stream'): StreamRef {
  const colon = ref.indexOf(':');
  const stream = colon === -1 ? ref : ref.slice(0, colon);
  const version = colon === -1 ? undefined : ref.slice(colon + 1);
  if (stream.length === 0) throw new ConfigError(key, `${JSON.stringify(ref)} has no stream name`);
  if (version !== undefined && !/^[0-9A-Za-z.+-]+$/.test(version)) {
    throw new ConfigError(key, `${JSON.stringify(ref)} has an invalid schema version`);
  }
  return { stream, version };
}

export interface StreamSettings {
  stream: string;
  schema_title: string;
  /** Kafka topics that make up the stream; `[stream]` when the config names none. */
  topics: string[];
  /** Output key field → event field path, e.g. `{ wiki_id: 'wiki_id', page_id: 'page.page_id' }`. */
  message_key_fields?: Record<string, string>;
  /** Every setting as configured, for options this type does not model. */
  settings: Readonly<Record<string, unknown>>;
}

/** `/mediawiki/page/change/1.2.0`; `latest` when the stream reference pins no version. */
export function schemaUriFor(settings: StreamSettings, version: string | undefined): string {
  return `/${settings.schema_title.replace(/^\/+|\/+$/g, '')}/${version ?? 'latest'}`;
}

interface PatternEntry {
  pattern: RegExp;
  raw: Record<string, unknown>;
}

/**
 * Stream name → settings, as EventStreamConfig serves them. Config keys may be exact names or, as in
 * `$wgEventStreams`, PHP-style regexes such as `/^mediawiki\.job\..+/`: an exact name wins, otherwise
 * the first matching regex in config order (the API itself searches its list in order).
 */
export class StreamConfigs {
  private readonly exact = new Map<string, Record<string, unknown>>();
  private readonly patterns: PatternEntry[] = [];
  private readonly resolved = new Map<string, StreamSettings>();

  constructor(
    streams: Readonly<Record<string, unknown>>,
    private readonly source: string,
  ) {
    for (const [key, raw] of Object.entries(streams)) {
      if (!isPlainObject(raw)) throw new ConfigError(key, `stream config in ${source} must be a mapping`);
      const pattern = phpRegex(key);
      if (pattern) this.patterns.push({ pattern, raw });
      else this.exact.set(key, raw);
    }
  }

  get(name: string): StreamSettings {
    let settings = this.resolved.get(name);
    if (!settings) {
      settings = this.resolve(name);
      this.resolved.set(name, settings);
    }
    return settings;
  }

  private resolve(name: string): StreamSettings {
    const exact = this.exact.get(name);
    const raw = exact ?? this.patterns.find((p) => p.pattern.test(name))?.raw;
    if (!raw) throw new ConfigError(name, `stream is not in the stream config (${this.source})`);

    const schemaTitle = raw.schema_title;
    if (typeof schemaTitle !== 'string' || schemaTitle.length === 0) {
      throw new ConfigError(`${name}.schema_title`, `must be a non-empty string (${this.source})`);
    }
    const settings: StreamSettings = {
      stream: name,
      schema_title: schemaTitle,
      topics: topicsOf(name, raw, exact === undefined),
      settings: Object.freeze({ ...raw }),
    };
    const keyFields = raw.message_key_fields;
    if (keyFields !== undefined && keyFields !== null) {
      if (!isPlainObject(keyFields) || !Object.values(keyFields).every((v) => typeof v === 'string')) {
        throw new ConfigError(`${name}.message_key_fields`, `must map names to field paths (${this.source})`);
      }
      settings.message_key_fields = { ...(keyFields as Record<string, string>) };
    }
    return settings;
  }
}

/**
 * EventStreamConfig's rule: explicit `topics` as given, else each of `topic_prefixes` + stream name,
 * else the stream name. For a regex entry the served `topics` is itself a regex, useless for one
 * concrete stream, so the topics are rebuilt from the prefixes.
 */
function topicsOf(name: string, raw: Record<string, unknown>, byPattern: boolean): string[] {
  const topics = stringList(raw.topics, `${name}.topics`);
  if (topics && !(byPattern && topics.some((t) => t.startsWith('/')))) return topics;
  const prefixes = stringList(raw.topic_prefixes, `${name}.topic_prefixes`);
  return prefixes ? prefixes.map((prefix) => prefix + name) : [name];
}

function stringList(value: unknown, key: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ConfigError(key, 'must be a list of strings');
  }
  return [...(value as string[])];
}

/** `/pattern/flags` (PHP preg syntax) → RegExp; undefined for a plain stream name. */
function phpRegex(key: string): RegExp | undefined {
  const end = key.lastIndexOf('/');
  if (!key.startsWith('/') || end <= 0) return undefined;
  try {
    return new RegExp(key.slice(1, end), key.slice(end + 1));
  } catch (err) {
    throw new ConfigError(
      key,
      `invalid stream name regex: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * Loads the settings of `streams` from a `file://` JSON/YAML document or an EventStreamConfig API
 * endpoint (`https://meta.wikimedia.org/w/api.php`). Both are shaped `{"streams": {name: settings}}`.
 * Every requested stream must be present. A file is read only when it is a regular file of at most
 * `maxFileBytes`; the API's answer is bounded by `fetchText`.
 */
export async function loadStreamConfigs(
  uri: string,
  streams: readonly string[],
  fetchText?: FetchText,
  maxFileBytes = DEFAULT_MAX_SCHEMA_BYTES,
): Promise<StreamConfigs> {
  let text: string;
  let source = uri;
  if (uri.startsWith('file:')) {
    text = await readRegularFile(fileURLToPath(uri), { maxBytes: maxFileBytes });
  } else if (/^https?:\/\//.test(uri)) {
    if (!fetchText)
      throw new ConfigError('stream_config_uri', `${uri} is http(s) but no HTTP client was given`);
    const url = new URL(uri);
    url.searchParams.set('action', 'streamconfigs');
    url.searchParams.set('format', 'json');
    url.searchParams.set('all_settings', 'true');
    if (streams.length > 0) url.searchParams.set('streams', streams.join('|'));
    source = url.href;
    text = await fetchText(source);
  } else {
    throw new ConfigError('stream_config_uri', `${JSON.stringify(uri)} must be a file:// or http(s):// URI`);
  }

  const doc = parseDocument(text, source);
  const configs = new StreamConfigs(doc, source);
  for (const name of streams) configs.get(name);
  return configs;
}

// API contract (action=streamconfigs, formatversion 1 or 2): {"streams": {"<name>": {settings}}};
// failures come with HTTP 200 as {"error": {"code": …, "info": …}}.
function parseDocument(text: string, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('stream_config_uri', `${source} is not JSON or YAML: ${(err as Error).message}`);
  }
  if (isPlainObject(doc) && isPlainObject(doc.error)) {
    throw new ConfigError(
      'stream_config_uri',
      `${source} answered ${String(doc.error.code)}: ${String(doc.error.info)}`,
    );
  }
  if (!isPlainObject(doc) || !isPlainObject(doc.streams)) {
    throw new ConfigError('stream_config_uri', `${source} has no "streams" mapping`);
  }
  return doc.streams;
}
