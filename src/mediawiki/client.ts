import { performance } from 'node:perf_hooks';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { EnrichmentError } from '../core/errors.js';
import { noopMetrics, type Metrics } from '../core/metrics.js';
import { readAnswerBody } from './answer-body.js';
import type { WikiTarget } from './endpoint.js';
import {
  FetcherClosedError,
  answerTooLargeError,
  connectionError,
  httpStatusError,
  responseFormatError,
  timeoutError,
} from './errors.js';
import { parseRetryAfter } from './retry-policy.js';
import { Semaphore } from './semaphore.js';
import { statusLabelOf } from './status-label.js';

export interface ActionApiClientOptions {
  /** Sent as `User-Agent`; Wikimedia requires a descriptive one with contact information. */
  readonly userAgent: string;
  /** Requests in flight at once, across all wikis. */
  readonly maxConcurrentRequests: number;
  /** TCP (and TLS) connect timeout of the dispatcher this client creates. */
  readonly connectTimeoutMs: number;
  /** Time allowed for the response headers, and then for the body (each; also the idle limit). */
  readonly readTimeoutMs: number;
  /** Largest answer body, on the wire and again after decompression. */
  readonly maxResponseBytes: number;
  /** PEM certificates of the CAs trusted for HTTPS, instead of Node's bundled ones. */
  readonly caCertificates?: string;
}

export interface ApiResponse {
  /** The body of an HTTP 200 answer, its bytes (inflated when it came gzipped). */
  readonly body: Buffer;
  /** Retry-After of the answer, in ms (MediaWiki sends it with a maxlag error). */
  readonly retryAfterMs: number | undefined;
}

/**
 * GET requests to api.php with the project's headers, a global concurrency budget, timeouts, gzip and
 * a bound on the answer's size. Only an HTTP 200 answer is returned; every other ending of a request
 * throws an `EnrichmentError` (or `FetcherClosedError` after `close()`), whatever undici, the socket
 * or the decoder threw, so that no answer can stop the job.
 */
export class ActionApiClient {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly budget: Semaphore;
  private closed = false;
  /** One per request in flight: `close()` aborts them. */
  private readonly inFlight = new Set<AbortController>();
  private readonly now: () => number;
  private readonly metrics: Metrics;

  constructor(
    private readonly options: ActionApiClientOptions,
    deps: { dispatcher?: Dispatcher; now?: () => number; metrics?: Metrics } = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.metrics = deps.metrics ?? noopMetrics;
    this.ownsDispatcher = deps.dispatcher === undefined;
    this.dispatcher =
      deps.dispatcher ??
      new Agent({
        connect: {
          timeout: options.connectTimeoutMs,
          ...(options.caCertificates !== undefined ? { ca: options.caCertificates } : {}),
        },
      });
    this.budget = new Semaphore(options.maxConcurrentRequests);
  }

  async get(target: WikiTarget, params: URLSearchParams): Promise<ApiResponse> {
    await this.budget.acquire();
    // Measured once a slot is held: time spent waiting for the budget is not the API's.
    const started = performance.now();
    let status = 'none';
    try {
      const response = await this.send(target, params);
      status = '200';
      return response;
    } catch (error) {
      if (error instanceof EnrichmentError) status = statusLabelOf(error);
      throw error;
    } finally {
      this.metrics.observe('mediawiki_request_duration_seconds', (performance.now() - started) / 1000, {
        status,
      });
      this.budget.release();
    }
  }

  private async send(target: WikiTarget, params: URLSearchParams): Promise<ApiResponse> {
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
    if (this.closed) throw new FetcherClosedError();
    // One controller and one timer per request, aborted by the deadline or by close(): composing
    // signals (AbortSignal.any of a timeout and a long-lived one) tracks every request's signal with
    // weak references and a finalizer, which the collector pays for on each of them.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, deadlineMs);
    timer.unref();
    this.inFlight.add(controller);
    try {
      const url = new URL(target.url);
      for (const [key, value] of params) url.searchParams.set(key, value);
      const response = await request(url, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers,
        headersTimeout: this.options.readTimeoutMs,
        bodyTimeout: this.options.readTimeoutMs,
        signal: controller.signal,
      });
      const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']), this.now());
      if (response.statusCode !== 200) {
        // The status decides; an error page's body is not worth waiting for.
        await response.body.dump().catch(() => undefined);
        throw httpStatusError(response.statusCode, retryAfterMs);
      }
      const body = await readAnswerBody(
        response.body,
        {
          contentEncoding: headerValue(response.headers['content-encoding']),
          contentLength: headerValue(response.headers['content-length']),
        },
        this.options.maxResponseBytes,
      );
      return { body, retryAfterMs };
    } catch (error) {
      if (error instanceof EnrichmentError) throw error;
      if (this.closed) throw new FetcherClosedError();
      if (timedOut) throw timeoutError('total', deadlineMs, error);
      throw this.classify(error);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  private classify(error: unknown): EnrichmentError {
    // undici's parser error carries no code (its `HPE_` name is lost), so it is known by its class.
    if (error instanceof undiciErrors.HTTPParserError) {
      // Bytes that are not HTTP/1.1 (garbage, a bad status line, header or chunk, HTTP/0.9) come from
      // a server or proxy that is broken or is not an HTTP server at all: asking again gets the same
      // bytes, so, like a body that is not JSON, it is not retried. A connection that merely ends
      // early is a ConnectionError below, and is retried.
      return responseFormatError('invalid HTTP response', { parser_error: (error as Error).message });
    }
    const code = (error as { code?: unknown } | null)?.code;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return timeoutError('connect', this.options.connectTimeoutMs, error);
      case 'UND_ERR_HEADERS_TIMEOUT':
        return timeoutError('headers', this.options.readTimeoutMs, error);
      case 'UND_ERR_BODY_TIMEOUT':
        return timeoutError('body', this.options.readTimeoutMs, error);
      case 'UND_ERR_HEADERS_OVERFLOW':
        return responseFormatError('response headers too large', { code });
      case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
        return answerTooLargeError(this.options.maxResponseBytes, 'received');
    }
    if (typeof code === 'string' && code.startsWith('HPE_')) {
      return responseFormatError('invalid HTTP response', { code });
    }
    // Everything else is a failure of the exchange (ECONNRESET, UND_ERR_SOCKET, a content-length
    // mismatch, …) or one nobody foresaw. None is a fact about the input, and none may stop the job:
    // each is a ConnectionError under its own code, retried within the budget and visible in the
    // logs and metrics.
    const name = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : String(error);
    return connectionError(typeof code === 'string' ? code : name, message, error);
  }

  /** Aborts requests in flight, rejects those waiting for the budget, closes a dispatcher it created. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort();
    this.inFlight.clear();
    this.budget.close(new FetcherClosedError());
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
