import { ConfigError } from '../core/errors.js';
import { checkHttpRoutes, type HttpRoutes } from '../core/http-routes.js';
import { DEFAULT_ALLOWED_DOMAINS } from './domain-allowlist.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

/** The Action API fetcher's options, resolved (the runtime maps the config file's keys onto them). */
export interface MediaWikiClientOptions {
  /** `https://{domain}/w/api.php`, or a fixed endpoint chosen between wikis by the `Host` header. */
  readonly endpointTemplate: string;
  /** `http_client_routes`: URL prefix → replacement prefix. @default {} */
  readonly httpRoutes: HttpRoutes;
  /** Domain patterns (`*.wikipedia.org`, exact names) the fetcher will send requests for. @default Wikimedia projects */
  readonly allowedDomains: readonly string[];
  /** A descriptive User-Agent with contact information (Wikimedia's policy requires one). */
  readonly userAgent: string;
  /**
   * `maxlag` parameter in seconds; null sends none. A negative value makes a single-database wiki
   * (which reports a lag of -1) refuse every request, which tests use. @default 5
   */
  readonly maxlag: number | null;
  /** Revision ids per request: at most 50, or 500 with `apiHighLimits`. @default 50 */
  readonly batchSize: number;
  /** How long an open batch waits for more ids before it is sent. @default 5 */
  readonly lingerMs: number;
  /** The session has the `apihighlimits` right (bots, sysops), which allows 500 ids per request. @default false */
  readonly apiHighLimits: boolean;
  /** Requests in flight at once across all wikis. @default 8 */
  readonly maxConcurrentRequests: number;
  /** @default 5000 */
  readonly connectTimeoutMs: number;
  /** For the response headers, and again for the body. @default 30000 */
  readonly readTimeoutMs: number;
  /**
   * Largest answer body, counted after decompression; a larger answer fails its revisions with a
   * `ResponseFormatError`. MediaWiki itself cuts results at 8 MiB of content and continues. @default 64 MiB
   */
  readonly maxResponseBytes: number;
  /** PEM certificates of the CAs trusted for HTTPS to the API; unset: Node's bundled CAs. */
  readonly caCertificates?: string;
  readonly retry: RetryPolicy;
}

/** Sent when no User-Agent is configured; Wikimedia asks for one with contact information. */
export const DEFAULT_USER_AGENT =
  'mediawiki-event-enrichment/0.1 (page content change enrichment; configure enrich.user_agent with a contact address)';

/**
 * The defaults of the fetcher's options: the one place they are written (the configuration's
 * declaration takes its defaults from here).
 */
export const DEFAULT_MEDIAWIKI_OPTIONS: Readonly<Omit<MediaWikiClientOptions, 'endpointTemplate'>> =
  Object.freeze({
    httpRoutes: Object.freeze({}),
    allowedDomains: DEFAULT_ALLOWED_DOMAINS,
    userAgent: DEFAULT_USER_AGENT,
    // Wikimedia's API etiquette asks non-interactive clients for maxlag=5.
    maxlag: 5,
    batchSize: 50,
    lingerMs: 5,
    apiHighLimits: false,
    maxConcurrentRequests: 8,
    connectTimeoutMs: 5000,
    readTimeoutMs: 30_000,
    maxResponseBytes: 64 * 1024 * 1024,
    retry: DEFAULT_RETRY_POLICY,
  });

/** The Action API's limit on `revids` values per request, without and with `apihighlimits`. */
export const REVIDS_LIMIT = 50;
export const REVIDS_HIGH_LIMIT = 500;

/**
 * Inclusive bounds of the numeric options: the one place they are written (the configuration's
 * declaration takes its bounds from here). `batchSize` is at most 50 without `apiHighLimits`.
 */
export const MEDIAWIKI_OPTION_BOUNDS = Object.freeze({
  batchSize: [1, REVIDS_HIGH_LIMIT],
  lingerMs: [0, 60_000],
  maxConcurrentRequests: [1, 1024],
  connectTimeoutMs: [1, 3_600_000],
  readTimeoutMs: [1, 3_600_000],
  // An answer is decoded into one string, and V8's longest string is just under 512 Mi characters.
  maxResponseBytes: [64 * 1024, 512 * 1024 * 1024],
  // A negative maxlag makes a single-database wiki (which reports a lag of -1) refuse every request.
  maxlag: [-10, 3600],
  'retry.maxRetries': [0, 100],
  'retry.initialDelayMs': [0, 3_600_000],
  'retry.multiplier': [1, 100],
  'retry.maxDelayMs': [0, 3_600_000],
  'retry.jitter': [0, 1],
  'retry.retryAfterCapMs': [0, 3_600_000],
  'retry.recentEventWindowMs': [0, 86_400_000],
} as const satisfies Record<string, readonly [number, number]>);

type Input = Partial<Omit<MediaWikiClientOptions, 'retry'>> & {
  endpointTemplate: string;
  retry?: Partial<RetryPolicy>;
};

/**
 * Fills defaults and checks bounds; returns a frozen copy and never mutates `input`. A bad value
 * throws a `ConfigError` naming the option.
 */
export function resolveMediaWikiOptions(input: Input): MediaWikiClientOptions {
  if (typeof input.endpointTemplate !== 'string') throw new ConfigError('endpointTemplate', 'is required');
  const merged = {
    ...DEFAULT_MEDIAWIKI_OPTIONS,
    ...withoutUndefined(input),
    endpointTemplate: input.endpointTemplate,
  };
  const retry = Object.freeze({ ...DEFAULT_RETRY_POLICY, ...withoutUndefined(input.retry ?? {}) });
  let url: URL;
  try {
    url = new URL(merged.endpointTemplate.replaceAll('{domain}', 'example.org'));
  } catch {
    throw new ConfigError('endpointTemplate', `not a URL: ${JSON.stringify(merged.endpointTemplate)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('endpointTemplate', 'must be an http or https URL');
  }
  const limit = merged.apiHighLimits ? REVIDS_HIGH_LIMIT : REVIDS_LIMIT;
  integer(
    'batchSize',
    merged.batchSize,
    1,
    limit,
    merged.apiHighLimits ? '' : ' (up to 500 with apiHighLimits)',
  );
  const bounded = (key: keyof typeof MEDIAWIKI_OPTION_BOUNDS, value: number) =>
    integer(key, value, MEDIAWIKI_OPTION_BOUNDS[key][0], MEDIAWIKI_OPTION_BOUNDS[key][1]);
  bounded('lingerMs', merged.lingerMs);
  bounded('maxConcurrentRequests', merged.maxConcurrentRequests);
  bounded('connectTimeoutMs', merged.connectTimeoutMs);
  bounded('readTimeoutMs', merged.readTimeoutMs);
  bounded('maxResponseBytes', merged.maxResponseBytes);
  if (merged.maxlag !== null) bounded('maxlag', merged.maxlag);
  checkHttpRoutes(merged.httpRoutes, 'httpRoutes');
  if (merged.userAgent.trim() === '') throw new ConfigError('userAgent', 'must not be empty');
  bounded('retry.maxRetries', retry.maxRetries);
  bounded('retry.initialDelayMs', retry.initialDelayMs);
  bounded('retry.maxDelayMs', retry.maxDelayMs);
  bounded('retry.retryAfterCapMs', retry.retryAfterCapMs);
  bounded('retry.recentEventWindowMs', retry.recentEventWindowMs);
  const [minMultiplier, maxMultiplier] = MEDIAWIKI_OPTION_BOUNDS['retry.multiplier'];
  if (!(retry.multiplier >= minMultiplier && retry.multiplier <= maxMultiplier))
    throw new ConfigError('retry.multiplier', `must be between ${minMultiplier} and ${maxMultiplier}`);
  if (!(retry.jitter >= 0 && retry.jitter <= 1))
    throw new ConfigError('retry.jitter', 'must be between 0 and 1');
  return Object.freeze({
    ...merged,
    httpRoutes: Object.freeze({ ...merged.httpRoutes }),
    allowedDomains: Object.freeze([...merged.allowedDomains]),
    retry,
  });
}

function integer(key: string, value: number, min: number, max: number, hint = ''): void {
  if (!Number.isInteger(value)) throw new ConfigError(key, `must be an integer (got ${String(value)})`);
  if (value < min || value > max)
    throw new ConfigError(key, `must be between ${min} and ${max}${hint} (got ${value})`);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
