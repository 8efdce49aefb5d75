import { section, type ConfigSchema } from '../../core/config-schema.js';
import { ConfigError } from '../../core/errors.js';
import type { OptionReader } from '../../core/options.js';

/** Sent when no `user_agent` is configured; Wikimedia asks for one with contact information. */
export const DEFAULT_RECENTCHANGES_USER_AGENT =
  'mediawiki-event-enrichment/0.1 (recent changes source; configure user_agent with a contact address)';

/** Where a first start (no position yet) begins. */
export type Since = { kind: 'now' } | { kind: 'earliest' } | { kind: 'time'; timestamp: string };

export interface RecentChangesOptions {
  /** The wiki's api.php; `http_client_routes` apply to it. */
  readonly apiUrl: string;
  /** Where the committed position is kept; unset: in memory only. */
  readonly positionFile: string | undefined;
  readonly since: Since;
  /** Pause between the end of one poll and the start of the next. */
  readonly pollIntervalMs: number;
  /** How far behind the newest row each poll reads again, for rows written late. */
  readonly overlapSeconds: number;
  /** Most rows remembered for de-duplication; older ones are given up first. */
  readonly maxWindowRows: number;
  /** `rclimit`: rows per request. */
  readonly batchSize: number;
  readonly userAgent: string;
  /** Whole request (connect, headers, body). */
  readonly requestTimeoutMs: number;
}

/** The recent-changes source's options, declared (README's reference table comes from it). */
export const RECENTCHANGES_SOURCE_OPTIONS: ConfigSchema = section(
  {
    api_url: {
      type: 'string',
      minLength: 1,
      description:
        "The wiki's `api.php` (`https://en.wikipedia.org/w/api.php`); `http_client_routes` apply, and a routed request keeps the original host in its `Host` header.",
    },
    position_file: {
      type: 'string',
      minLength: 1,
      description:
        'Where the committed position (the cursor and the rows it remembers) is kept, written atomically after each commit; a restart resumes from it, neither skipping nor repeating a row. Its folder must exist; file sinks must then set `append: true`. Unset: kept in memory only, a restart begins again at `since`.',
    },
    since: {
      type: 'string',
      pattern: '^(now|earliest|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2}))$',
      default: 'now',
      description:
        "Where a first start (no position yet) begins: `now` (the wiki's clock), `earliest` (the oldest row the wiki keeps: `$wgRCMaxAge`, 90 days by default, 30 on Wikimedia wikis) or an ISO 8601 time (`2026-11-24T12:00:00Z`).",
    },
    poll_interval_ms: {
      type: 'integer',
      minimum: 100,
      maximum: 3_600_000,
      default: 5000,
      description: 'Pause between the end of one poll and the start of the next.',
    },
    overlap_seconds: {
      type: 'integer',
      minimum: 0,
      maximum: 86_400,
      default: 60,
      description:
        "Each poll reads again this far behind the newest row it emitted, for rows the wiki writes after their action (with the action's time); rows already emitted are recognised by `rcid` and skipped.",
    },
    max_window_rows: {
      type: 'integer',
      minimum: 100,
      maximum: 1_000_000,
      default: 10_000,
      description:
        'Most rows remembered for that recognition (memory and position file); when the overlap holds more, the oldest are given up and a row written later behind them would be missed.',
    },
    batch_size: {
      type: 'integer',
      minimum: 1,
      maximum: 500,
      default: 500,
      description:
        "Rows per request (`rclimit`); the source's requests are anonymous, which MediaWiki allows 500.",
    },
    user_agent: {
      type: 'string',
      minLength: 1,
      default: DEFAULT_RECENTCHANGES_USER_AGENT,
      description:
        'User-Agent of its requests; Wikimedia requires a descriptive one with contact information.',
    },
    request_timeout_ms: {
      type: 'integer',
      minimum: 100,
      maximum: 600_000,
      default: 30_000,
      description: 'Time allowed for one request, answer included; a request that times out is tried again.',
    },
  },
  { required: ['api_url'] },
);

const ISO_SECOND = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Reads options validated against `RECENTCHANGES_SOURCE_OPTIONS` (defaults filled in). */
export function readRecentChangesOptions(options: OptionReader): RecentChangesOptions {
  const apiUrl = options.string('api_url');
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new ConfigError(options.key('api_url'), `not a URL: ${JSON.stringify(apiUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(options.key('api_url'), 'must be an http or https URL');
  }
  return {
    apiUrl,
    positionFile: options.has('position_file') ? options.string('position_file') : undefined,
    since: readSince(options),
    pollIntervalMs: options.integer('poll_interval_ms'),
    overlapSeconds: options.integer('overlap_seconds'),
    maxWindowRows: options.integer('max_window_rows'),
    batchSize: options.integer('batch_size'),
    userAgent: options.string('user_agent'),
    requestTimeoutMs: options.integer('request_timeout_ms'),
  };
}

function readSince(options: OptionReader): Since {
  const raw = options.string('since');
  if (raw === 'now') return { kind: 'now' };
  if (raw === 'earliest') return { kind: 'earliest' };
  const ms = Date.parse(raw);
  if (!ISO_SECOND.test(raw) || !Number.isFinite(ms)) {
    throw new ConfigError(
      options.key('since'),
      `must be now, earliest or an ISO 8601 time (got ${JSON.stringify(raw)})`,
    );
  }
  // The wiki's timestamps have whole seconds in UTC; a start inside a second starts at that second.
  return {
    kind: 'time',
    timestamp: new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
  };
}
