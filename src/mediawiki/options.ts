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
   * `maxlag` parameter in seconds; unset sends none. A negative value makes a single-database wiki
   * (which reports a lag of -1) refuse every request, which tests use. @default undefined
   */
  readonly maxlag?: number;
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
  readonly retry: RetryPolicy;
}

export const DEFAULT_MEDIAWIKI_OPTIONS: Readonly<Omit<MediaWikiClientOptions, 'endpointTemplate'>> =
  Object.freeze({
    httpRoutes: Object.freeze({}),
    allowedDomains: DEFAULT_ALLOWED_DOMAINS,
    userAgent:
      'mediawiki-event-enrichment/0.1 (page_content_change enrichment; set user_agent with your contact)',
    maxlag: undefined,
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
  integer('lingerMs', merged.lingerMs, 0, 60_000);
  integer('maxConcurrentRequests', merged.maxConcurrentRequests, 1, 10_000);
  integer('connectTimeoutMs', merged.connectTimeoutMs, 1, 3_600_000);
  integer('readTimeoutMs', merged.readTimeoutMs, 1, 3_600_000);
  // An answer is decoded into one string, and V8's longest string is just under 512 Mi characters.
  integer('maxResponseBytes', merged.maxResponseBytes, 1024, 512 * 1024 * 1024);
  if (merged.maxlag !== undefined) integer('maxlag', merged.maxlag, -10, 3600);
  checkHttpRoutes(merged.httpRoutes, 'httpRoutes');
  if (merged.userAgent.trim() === '') throw new ConfigError('userAgent', 'must not be empty');
  integer('retry.maxRetries', retry.maxRetries, 0, 100);
  integer('retry.initialDelayMs', retry.initialDelayMs, 0, 3_600_000);
  integer('retry.maxDelayMs', retry.maxDelayMs, 0, 3_600_000);
  integer('retry.retryAfterCapMs', retry.retryAfterCapMs, 0, 3_600_000);
  integer('retry.recentEventWindowMs', retry.recentEventWindowMs, 0, 86_400_000);
  if (!(retry.multiplier >= 1)) throw new ConfigError('retry.multiplier', 'must be >= 1');
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
