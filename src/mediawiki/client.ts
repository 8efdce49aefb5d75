import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { EnrichmentError } from '../core/errors.js';
import { noopMetrics, type Metrics } from '../core/metrics.js';
import type { WikiTarget } from './endpoint.js';
import {
  FetcherClosedError,
  connectionError,
  httpStatusError,
  responseFormatError,
  timeoutError,
} from './errors.js';
import { parseRetryAfter } from './retry-policy.js';
import { Semaphore } from './semaphore.js';

const gunzipAsync = promisify(gunzip);

export interface ActionApiClientOptions {
  /** Sent as `User-Agent`; Wikimedia requires a descriptive one with contact information. */
  readonly userAgent: string;
  /** Requests in flight at once, across all wikis. */
  readonly maxConcurrentRequests: number;
  /** TCP (and TLS) connect timeout of the dispatcher this client creates. */
  readonly connectTimeoutMs: number;
  /** Time allowed for the response headers, and then for the body (each; also the idle limit). */
  readonly readTimeoutMs: number;
}

export interface ApiResponse {
  /** The decoded body of an HTTP 200 answer. */
  readonly body: string;
  /** Retry-After of the answer, in ms (MediaWiki sends it with a maxlag error). */
  readonly retryAfterMs: number | undefined;
}

/** Network failures a request can end in, by the code Node or undici gives them. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

/**
 * GET requests to api.php with the project's headers, a global concurrency budget, timeouts and gzip.
 * Only an HTTP 200 answer is returned; everything else throws an `EnrichmentError` (or
 * `FetcherClosedError` after `close()`).
 */
export class ActionApiClient {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly budget: Semaphore;
  private readonly closing = new AbortController();
  private readonly now: () => number;
  private readonly metrics: Metrics;

  constructor(
    private readonly options: ActionApiClientOptions,
    deps: { dispatcher?: Dispatcher; now?: () => number; metrics?: Metrics } = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.metrics = deps.metrics ?? noopMetrics;
    this.ownsDispatcher = deps.dispatcher === undefined;
    this.dispatcher = deps.dispatcher ?? new Agent({ connect: { timeout: options.connectTimeoutMs } });
    this.budget = new Semaphore(options.maxConcurrentRequests);
  }

  async get(target: WikiTarget, params: URLSearchParams): Promise<ApiResponse> {
    await this.budget.acquire();
    // Measured once a slot is held: time spent waiting for the budget is not the API's.
    const started = performance.now();
    try {
      return await this.send(target, params);
    } finally {
      this.metrics.observe('mediawiki_request_seconds', (performance.now() - started) / 1000);
      this.budget.release();
    }
  }

  private async send(target: WikiTarget, params: URLSearchParams): Promise<ApiResponse> {
    const url = new URL(target.url);
    for (const [key, value] of params) url.searchParams.set(key, value);
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      'accept-encoding': 'gzip',
      accept: 'application/json',
    };
    if (target.host !== undefined) headers.host = target.host;
    // headersTimeout and bodyTimeout are idle limits: a body trickling one byte at a time would pass
    // them forever, so a deadline bounds the whole exchange (connect, then headers, then body). It
    // allows for undici's coarse timers (about 1 s resolution), so that they report the phase first.
    const deadlineMs = this.options.connectTimeoutMs + 2 * this.options.readTimeoutMs + 2000;
    const deadline = AbortSignal.timeout(deadlineMs);
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers,
        headersTimeout: this.options.readTimeoutMs,
        bodyTimeout: this.options.readTimeoutMs,
        signal: AbortSignal.any([this.closing.signal, deadline]),
      });
      const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), this.now());
      if (response.statusCode !== 200) {
        // The status decides; an error page's body is not worth waiting for.
        await response.body.dump().catch(() => undefined);
        throw httpStatusError(response.statusCode, retryAfterMs);
      }
      const raw = Buffer.from(await response.body.arrayBuffer());
      return { body: await decode(raw, headerValue(response.headers['content-encoding'])), retryAfterMs };
    } catch (error) {
      if (error instanceof EnrichmentError) throw error;
      if (this.closing.signal.aborted) throw new FetcherClosedError();
      if (deadline.aborted) throw timeoutError('total', deadlineMs, error);
      throw this.classify(error);
    }
  }

  private classify(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return timeoutError('connect', this.options.connectTimeoutMs, error);
      case 'UND_ERR_HEADERS_TIMEOUT':
        return timeoutError('headers', this.options.readTimeoutMs, error);
      case 'UND_ERR_BODY_TIMEOUT':
        return timeoutError('body', this.options.readTimeoutMs, error);
    }
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
      return connectionError(code, (error as Error).message, error);
    }
    if (typeof code === 'string' && code.startsWith('HPE_')) {
      return responseFormatError('invalid HTTP response', { code });
    }
    // Anything else (an invalid URL, a bug) is no property of the input: let it surface unchanged.
    return error;
  }

  /** Aborts requests in flight, rejects those waiting for the budget, closes a dispatcher it created. */
  async close(): Promise<void> {
    this.closing.abort();
    this.budget.close(new FetcherClosedError());
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function decode(raw: Buffer, encoding: string | undefined): Promise<string> {
  const name = encoding?.trim().toLowerCase();
  if (name === undefined || name === '' || name === 'identity') return raw.toString('utf8');
  if (name !== 'gzip' && name !== 'x-gzip')
    throw responseFormatError('unexpected content-encoding', { encoding: name });
  try {
    return (await gunzipAsync(raw)).toString('utf8');
  } catch (cause) {
    throw responseFormatError('gzip body does not decompress', { cause: String(cause) });
  }
}
