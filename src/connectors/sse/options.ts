import { section, type ConfigSchema } from '../../core/config-schema.js';
import { ConfigError } from '../../core/errors.js';
import type { OptionReader } from '../../core/options.js';

export interface SseSourceOptions {
  /** The stream, e.g. `https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1`. */
  readonly url: string;
  readonly userAgent: string;
  /** Where the committed position is kept. */
  readonly positionFile: string;
  /** Milliseconds since the epoch to start at when there is no position yet. */
  readonly since: number | undefined;
  /** Domain patterns of `meta.domain` to read; undefined: every event. */
  readonly domains: readonly string[] | undefined;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnectMinDelayMs: number;
  readonly reconnectMaxDelayMs: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** Printable ASCII, not starting or ending with a space: what an HTTP header value may safely be. */
const HEADER_VALUE = '^[!-~]([ -~]*[!-~])?$';
/** An exact host name, or `*.` and a suffix (any subdomain of it). */
const DOMAIN_PATTERN =
  '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$';

/** The EventStreams source's options, declared (README's reference tables come from it). */
export const SSE_SOURCE_OPTIONS: ConfigSchema = section(
  {
    url: {
      type: 'string',
      pattern: '^https?://',
      description:
        'The stream, e.g. `https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1` Routed by `stream_manager.http_client_routes` (the `Host` header keeps the original host).',
    },
    user_agent: {
      type: 'string',
      pattern: HEADER_VALUE,
      description:
        "User-Agent of the stream requests, required by Wikimedia's policy: `<client>/<version> (<contact>) <library>/<version>`, e.g. `my-mirror/1.0 (https://example.org/me; me@example.org) mediawiki-event-enrichment/0.1`. Printable ASCII.",
    },
    position_file: {
      type: 'string',
      minLength: 1,
      description:
        "JSON file keeping the stream's committed position (`{url, last_event_id}`), written atomically after each commit; a restart resumes from it. Its folder must exist; file sinks must then append (`append: true`), uncompressed. Required: without it every restart would begin at the end of the stream and lose what came meanwhile.",
    },
    since: {
      type: 'string',
      minLength: 1,
      description:
        'ISO 8601 time (`2026-01-31T12:00:00Z`) to start at when `position_file` does not exist yet; ignored once it does. Unset: the end of the stream. EventStreams keeps about 7 days.',
    },
    domains: {
      type: 'array',
      items: { type: 'string', pattern: DOMAIN_PATTERN },
      minItems: 1,
      description:
        "Only events whose `meta.domain` matches one of these (`en.wikipedia.org`, `*.wikivoyage.org`) are read; the others are skipped by the source (counted, no outcome, no error event). Unset: every event. The public stream carries every Wikimedia wiki: without it, `enrich.allowed_domains` turns the other wikis' events into error events. Events that are not JSON or have no `meta.domain` are always read (the job makes error events of them).",
    },
    idle_timeout_ms: {
      type: 'integer',
      minimum: 100,
      maximum: 86_400_000,
      default: DEFAULT_IDLE_TIMEOUT_MS,
      description:
        'No byte for this long: the connection is taken for dead, dropped and opened again from the position (EventStreams sends no heartbeats). `mediawiki.page_change.v1` carries several events a second; for a stream that is quiet for minutes, raise it (canaries arrive at least hourly).',
    },
    connect_timeout_ms: {
      type: 'integer',
      minimum: 100,
      maximum: 600_000,
      default: 30_000,
      description: 'Time allowed for the response headers of a stream request.',
    },
    reconnect_min_delay_ms: {
      type: 'integer',
      minimum: 10,
      maximum: 600_000,
      default: 1_000,
      description:
        'First wait before connecting again after a drop, a network error, a 5xx or a 429; doubled (±20 % jitter) at each attempt that delivers nothing, up to `reconnect_max_delay_ms`. A `Retry-After` is honoured (up to 10 minutes).',
    },
    reconnect_max_delay_ms: {
      type: 'integer',
      minimum: 10,
      maximum: 3_600_000,
      default: 60_000,
      description: 'Longest wait between connection attempts (but for a longer `Retry-After`).',
    },
  },
  { required: ['url', 'user_agent', 'position_file'] },
);

/** The options as the source uses them; what the schema cannot check throws a `ConfigError`. */
export function readSseSourceOptions(options: OptionReader): SseSourceOptions {
  const url = options.string('url');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(options.key('url'), `${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.hash !== '') {
    throw new ConfigError(options.key('url'), 'must not carry a user name, password or fragment');
  }
  if (parsed.searchParams.has('since')) {
    throw new ConfigError(options.key('url'), 'must not carry `since`: set the `since` option instead');
  }
  let since: number | undefined;
  if (options.has('since')) {
    const text = options.string('since');
    since = Date.parse(text);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(since)) {
      throw new ConfigError(options.key('since'), `${JSON.stringify(text)} is not an ISO 8601 time`);
    }
  }
  const reconnectMinDelayMs = options.integer('reconnect_min_delay_ms');
  const reconnectMaxDelayMs = options.integer('reconnect_max_delay_ms');
  if (reconnectMaxDelayMs < reconnectMinDelayMs) {
    throw new ConfigError(options.key('reconnect_max_delay_ms'), 'must be >= reconnect_min_delay_ms');
  }
  return {
    url,
    userAgent: options.string('user_agent'),
    positionFile: options.string('position_file'),
    since,
    domains: options.has('domains') ? options.stringList('domains') : undefined,
    idleTimeoutMs: options.integer('idle_timeout_ms'),
    connectTimeoutMs: options.integer('connect_timeout_ms'),
    reconnectMinDelayMs,
    reconnectMaxDelayMs,
  };
}

/** Whether `domain` matches one of the patterns (exact, or `*.suffix` for any subdomain). */
export function domainMatches(domain: string, patterns: readonly string[]): boolean {
  const name = domain.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p;
  });
}
