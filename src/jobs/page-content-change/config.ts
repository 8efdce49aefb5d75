import { ConfigError } from '../../core/errors.js';
import { section, type ConfigSchema } from '../../core/config-schema.js';
import {
  DEFAULT_MEDIAWIKI_OPTIONS as D,
  MEDIAWIKI_OPTION_BOUNDS as B,
  REVIDS_LIMIT,
  type MediaWikiClientOptions,
} from '../../mediawiki/options.js';

/**
 * The `enrich` section resolved: the Action API fetcher's options, but for the routes, which come
 * from `stream_manager.http_client_routes`.
 */
export interface EnrichConfig extends Omit<MediaWikiClientOptions, 'httpRoutes' | 'allowedDomains'> {
  /** Undefined: the default Wikimedia project domains. */
  readonly allowedDomains: readonly string[] | undefined;
  /** A PEM file of the CAs trusted for HTTPS to the Action API; undefined: Node's bundled CAs. */
  readonly caBundlePath: string | undefined;
  /** Content above this many bytes (all slots) is an error event, without building the output. */
  readonly maxContentBytes: number | undefined;
}

const integer = (bounds: readonly [number, number], fallback: number, description: string): ConfigSchema => ({
  type: 'integer',
  minimum: bounds[0],
  maximum: bounds[1],
  default: fallback,
  description,
});

/** The `enrich` section, declared: types, defaults, bounds and descriptions. */
export const ENRICH_SCHEMA: ConfigSchema = section(
  {
    mediawiki_api_endpoint_template: {
      type: 'string',
      pattern: '^https?://',
      description:
        "Action API endpoint. With `{domain}` it is replaced by the event's `meta.domain`; without it the endpoint is fixed and the wiki is chosen by the `Host` header (`meta.domain`), as behind WMF's local API proxy.",
    },
    allowed_domains: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description:
        'Domain patterns (`*.wikipedia.org`, exact names) the service may call; unset: the Wikimedia projects. An event for any other domain becomes a `DomainNotAllowedError` error event and no request is made: routing by a field of the input is otherwise an SSRF hole.',
    },
    user_agent: {
      type: 'string',
      default: D.userAgent,
      description:
        "Descriptive User-Agent with contact information (required by Wikimedia's policy); printable ASCII.",
    },
    maxlag: {
      type: ['integer', 'null'],
      minimum: B.maxlag[0],
      maximum: B.maxlag[1],
      default: D.maxlag,
      description:
        '`maxlag` parameter sent with every request; `null` sends none. A maxlag answer is retried after its `Retry-After`.',
    },
    batch_size: integer(
      B.batchSize,
      D.batchSize,
      `Revisions per request (one wiki per request). At most ${REVIDS_LIMIT}, or ${B.batchSize[1]} with \`api_high_limits\`.`,
    ),
    batch_linger_ms: integer(
      B.lingerMs,
      D.lingerMs,
      'How long an open batch waits for more revisions before it is sent; while every request slot (`max_concurrent_requests`) is busy it goes on taking revisions of its wiki until a slot frees or it is full.',
    ),
    api_high_limits: {
      type: 'boolean',
      default: D.apiHighLimits,
      description: 'The API session has the `apihighlimits` right.',
    },
    max_concurrent_requests: integer(
      B.maxConcurrentRequests,
      D.maxConcurrentRequests,
      'Global budget of requests in flight, across wikis (keep-alive connection pool).',
    ),
    connect_timeout_ms: integer(B.connectTimeoutMs, D.connectTimeoutMs, 'Connect timeout.'),
    request_timeout: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: B.readTimeoutMs[1] / 1000,
      default: D.readTimeoutMs / 1000,
      description:
        "Seconds allowed for the response headers, and again for the body (eventutilities-python's `request_timeout`).",
    },
    max_response_bytes: integer(
      B.maxResponseBytes,
      D.maxResponseBytes,
      'Largest Action API answer, counted after decompression; a larger one fails its revisions with `ResponseFormatError` (see [Security and limits](#security-and-limits)).',
    ),
    max_content_size: {
      type: 'integer',
      minimum: 1,
      description:
        "Largest revision content in bytes (all slots together); larger content becomes a `ContentTooLargeError` error event without the output being built. Unset: no limit but the sink's. WMF's HTML job uses 58720256.",
    },
    ssl_ca_bundle_path: {
      type: 'string',
      minLength: 1,
      description:
        "PEM file of the certificate authorities trusted for HTTPS to the Action API (replacing Node's bundled ones); read at start.",
    },
    retry: section(
      {
        max_retries: integer(
          B['retry.maxRetries'],
          D.retry.maxRetries,
          'Retries per revision after the first attempt.',
        ),
        initial_delay_ms: integer(
          B['retry.initialDelayMs'],
          D.retry.initialDelayMs,
          'First backoff; then × `multiplier`, capped by `max_delay_ms`, ± `jitter`.',
        ),
        multiplier: {
          type: 'number',
          minimum: B['retry.multiplier'][0],
          maximum: B['retry.multiplier'][1],
          default: D.retry.multiplier,
          description: 'Growth of the backoff per retry.',
        },
        max_delay_ms: integer(B['retry.maxDelayMs'], D.retry.maxDelayMs, 'Largest backoff, before jitter.'),
        jitter: {
          type: 'number',
          minimum: B['retry.jitter'][0],
          maximum: B['retry.jitter'][1],
          default: D.retry.jitter,
          description: 'Relative jitter (0.2: ±20 %).',
        },
        retry_after_cap_ms: integer(
          B['retry.retryAfterCapMs'],
          D.retry.retryAfterCapMs,
          'Longest `Retry-After` honoured.',
        ),
        recent_event_window_ms: integer(
          B['retry.recentEventWindowMs'],
          D.retry.recentEventWindowMs,
          "A missing revision (`badrevids`) is retried only while the event's `meta.dt` (ingestion time, not `dt`) is this recent: replicas may not have it yet.",
        ),
      },
      { default: {} },
    ),
  },
  { required: ['mediawiki_api_endpoint_template'] },
);

type Validated = {
  mediawiki_api_endpoint_template: string;
  allowed_domains?: string[];
  user_agent: string;
  maxlag: number | null;
  batch_size: number;
  batch_linger_ms: number;
  api_high_limits: boolean;
  max_concurrent_requests: number;
  connect_timeout_ms: number;
  request_timeout: number;
  max_response_bytes: number;
  max_content_size?: number;
  ssl_ca_bundle_path?: string;
  retry: Record<
    | 'max_retries'
    | 'initial_delay_ms'
    | 'multiplier'
    | 'max_delay_ms'
    | 'jitter'
    | 'retry_after_cap_ms'
    | 'recent_event_window_ms',
    number
  >;
};

/**
 * A value sent as an HTTP header: visible ASCII and spaces, not at either end. CR or LF would split
 * the header (undici refuses it, but only at the first request, after the output files were opened),
 * and non-ASCII is not portable in headers.
 */
function checkHeaderValue(key: string, value: string): void {
  const bad = /[^\x20-\x7e]/.exec(value);
  if (bad) {
    throw new ConfigError(
      key,
      `must be printable ASCII; found ${JSON.stringify(bad[0])} at position ${bad.index}`,
    );
  }
  if (value.trim() !== value || value.trim() === '') {
    throw new ConfigError(key, 'must not be blank or start or end with a space');
  }
}

/** The validated `enrich` section (defaults filled in) as the fetcher's options. */
export function resolveEnrichSection(raw: Record<string, unknown>, key = 'enrich'): EnrichConfig {
  const en = raw as Validated;
  // Without the apihighlimits right MediaWiki refuses more than 50 revids ("toomanyvalues").
  if (!en.api_high_limits && en.batch_size > REVIDS_LIMIT) {
    throw new ConfigError(`${key}.batch_size`, `must be <= ${REVIDS_LIMIT} (up to 500 with api_high_limits)`);
  }
  checkHeaderValue(`${key}.user_agent`, en.user_agent);
  const r = en.retry;
  return Object.freeze({
    endpointTemplate: en.mediawiki_api_endpoint_template,
    allowedDomains: en.allowed_domains,
    userAgent: en.user_agent,
    maxlag: en.maxlag,
    batchSize: en.batch_size,
    lingerMs: en.batch_linger_ms,
    apiHighLimits: en.api_high_limits,
    maxConcurrentRequests: en.max_concurrent_requests,
    connectTimeoutMs: en.connect_timeout_ms,
    readTimeoutMs: Math.max(1, Math.round(en.request_timeout * 1000)),
    maxResponseBytes: en.max_response_bytes,
    maxContentBytes: en.max_content_size,
    caBundlePath: en.ssl_ca_bundle_path,
    retry: Object.freeze({
      maxRetries: r.max_retries,
      initialDelayMs: r.initial_delay_ms,
      multiplier: r.multiplier,
      maxDelayMs: r.max_delay_ms,
      jitter: r.jitter,
      retryAfterCapMs: r.retry_after_cap_ms,
      recentEventWindowMs: r.recent_event_window_ms,
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
  readTimeoutMs: 'enrich.request_timeout',
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
