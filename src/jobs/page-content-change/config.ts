import { ConfigError } from '../../core/errors.js';
import type { OptionReader } from '../../core/options.js';
import type { MediaWikiClientOptions } from '../../mediawiki/options.js';

/**
 * The `enrich` section resolved: the Action API fetcher's options (defaults documented there and in
 * README), but for the routes, which come from `stream_manager.http_client_routes`.
 */
export interface EnrichConfig extends Omit<MediaWikiClientOptions, 'httpRoutes' | 'allowedDomains'> {
  /** Undefined: the default Wikimedia project domains. */
  readonly allowedDomains: readonly string[] | undefined;
}

export const DEFAULT_USER_AGENT =
  'mediawiki-event-enrichment/0.1 (page content change enrichment; configure enrich.user_agent with a contact address)';

const MIB = 1024 * 1024;

/**
 * A value sent as an HTTP header: visible ASCII and spaces only. CR or LF would split the header
 * (undici refuses it, but only at the first request, after the output files were opened), and
 * non-ASCII is not portable in headers.
 */
function headerValue(reader: OptionReader, name: string, fallback: string): string {
  const value = reader.string(name, fallback);
  const bad = /[^\x20-\x7e]/.exec(value);
  if (bad) {
    throw new ConfigError(
      reader.key(name),
      `must be printable ASCII; found ${JSON.stringify(bad[0])} at position ${bad.index}`,
    );
  }
  if (value.trim() !== value || value.trim() === '') {
    throw new ConfigError(reader.key(name), 'must not be blank or start or end with a space');
  }
  return value;
}

/** Reads the `enrich` section of the enrichment jobs. */
export function readEnrichSection(en: OptionReader): EnrichConfig {
  const endpointTemplate = en.string('mediawiki_api_endpoint_template');
  if (!/^https?:\/\//.test(endpointTemplate)) {
    throw new ConfigError(en.key('mediawiki_api_endpoint_template'), 'must be an http:// or https:// URL');
  }
  const retry = en.child('retry');
  const apiHighLimits = en.boolean('api_high_limits', false);
  return Object.freeze({
    endpointTemplate,
    allowedDomains: en.has('allowed_domains') ? en.stringList('allowed_domains') : undefined,
    userAgent: headerValue(en, 'user_agent', DEFAULT_USER_AGENT),
    // Wikimedia's API etiquette asks non-interactive clients for maxlag=5; null sends none.
    maxlag: en.has('maxlag') ? en.integer('maxlag') : en.isNull('maxlag') ? undefined : 5,
    apiHighLimits,
    // Without the apihighlimits right MediaWiki refuses more than 50 revids ("toomanyvalues").
    batchSize: en.integer('batch_size', 50, { min: 1, max: apiHighLimits ? 500 : 50 }),
    lingerMs: en.integer('batch_linger_ms', 5, { min: 0, max: 10_000 }),
    maxConcurrentRequests: en.integer('max_concurrent_requests', 8, { min: 1, max: 1024 }),
    connectTimeoutMs: en.integer('connect_timeout_ms', 5_000, { min: 1 }),
    readTimeoutMs: en.integer('read_timeout_ms', 30_000, { min: 1 }),
    maxResponseBytes: en.integer('max_response_bytes', 64 * MIB, { min: 64 * 1024, max: 512 * MIB }),
    retry: Object.freeze({
      maxRetries: retry.integer('max_retries', 3, { min: 0, max: 100 }),
      initialDelayMs: retry.integer('initial_delay_ms', 1_000, { min: 0 }),
      multiplier: retry.number('multiplier', 2, { min: 1 }),
      maxDelayMs: retry.integer('max_delay_ms', 8_000, { min: 0 }),
      jitter: retry.number('jitter', 0.2, { min: 0, max: 1 }),
      retryAfterCapMs: retry.integer('retry_after_cap_ms', 30_000, { min: 0 }),
      recentEventWindowMs: retry.integer('recent_event_window_ms', 10_000, { min: 0 }),
    }),
  });
}

/** The Action API fetcher's option names, as the config file spells them. */
const ENRICH_KEYS: Readonly<Record<string, string>> = {
  endpointTemplate: 'enrich.mediawiki_api_endpoint_template',
  httpRoutes: 'stream_manager.http_client_routes',
  allowedDomains: 'enrich.allowed_domains',
  userAgent: 'enrich.user_agent',
  maxlag: 'enrich.maxlag',
  batchSize: 'enrich.batch_size',
  lingerMs: 'enrich.batch_linger_ms',
  apiHighLimits: 'enrich.api_high_limits',
  maxConcurrentRequests: 'enrich.max_concurrent_requests',
  connectTimeoutMs: 'enrich.connect_timeout_ms',
  readTimeoutMs: 'enrich.read_timeout_ms',
  maxResponseBytes: 'enrich.max_response_bytes',
  'retry.maxRetries': 'enrich.retry.max_retries',
  'retry.initialDelayMs': 'enrich.retry.initial_delay_ms',
  'retry.multiplier': 'enrich.retry.multiplier',
  'retry.maxDelayMs': 'enrich.retry.max_delay_ms',
  'retry.jitter': 'enrich.retry.jitter',
  'retry.retryAfterCapMs': 'enrich.retry.retry_after_cap_ms',
  'retry.recentEventWindowMs': 'enrich.retry.recent_event_window_ms',
};

/** A problem the fetcher found in its options, under the config key the operator wrote. */
export function withConfigKey(err: ConfigError): ConfigError {
  const key = ENRICH_KEYS[err.key];
  if (key === undefined) return err;
  return new ConfigError(key, err.message.slice(err.key.length + 2));
}
