import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Agent, request } from 'undici';
import { HttpStatusError } from '../../core/bounded-read.js';
import { routeUrl, type HttpRoutes } from '../../core/http-routes.js';
import { isUnreachable } from '../../core/unreachable.js';
import { apiErrorOf, WikiAnswerError } from './answers.js';

const gunzipAsync = promisify(gunzip);

type Json = Record<string, unknown>;

/** An `error` in an Action API answer (which comes with HTTP 200). */
export class WikiApiError extends Error {
  constructor(
    readonly code: string,
    info: string,
    /** Retry-After of the answer (maxlag), in ms. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`Action API error ${code}: ${info}`);
    this.name = 'WikiApiError';
  }
}

/**
 * Whether asking again later may succeed: the wiki is unreachable, times out, answers 5xx, 408 or
 * 429, or says it lags (`maxlag`) or is read-only for now. A 4xx, an answer that is not the API's
 * and any other API error are the configuration's problem (a wrong URL, a refused User-Agent).
 */
export function isPassing(err: unknown): boolean {
  if (err instanceof WikiApiError) return err.code === 'maxlag' || err.code === 'readonly';
  return isUnreachable(err);
}

export interface WikiApiOptions {
  /** The wiki's api.php as configured; `routes` may send it elsewhere. */
  readonly apiUrl: string;
  readonly routes: HttpRoutes;
  readonly userAgent: string;
  /** The whole request, answer included. */
  readonly timeoutMs: number;
  /** Largest answer, compressed and again decompressed. */
  readonly maxResponseBytes: number;
}

/** `maxlag` sent with every request: Wikimedia's etiquette for automated clients. */
const MAXLAG_SECONDS = '5';

/**
 * GET requests to one wiki's api.php (`format=json&formatversion=2`), with the project's habits: a
 * descriptive User-Agent, gzip, `maxlag`, `http_client_routes` (a routed request keeps the wiki's
 * host in `Host`), a deadline over the whole exchange and a bound on the answer's size.
 */
export class WikiApi {
  private readonly dispatcher: Agent;
  private readonly target: { url: string; host?: string };

  constructor(private readonly options: WikiApiOptions) {
    this.dispatcher = new Agent({ connect: { timeout: options.timeoutMs } });
    this.target = routeUrl(options.apiUrl, options.routes);
  }

  /** The parsed answer; throws `HttpStatusError`, `WikiApiError`, `WikiAnswerError` or what the socket met. */
  async get(params: Readonly<Record<string, string>>, signal: AbortSignal): Promise<Json> {
    const url = new URL(this.target.url);
    for (const [key, value] of Object.entries({
      format: 'json',
      formatversion: '2',
      maxlag: MAXLAG_SECONDS,
      ...params,
    })) {
      url.searchParams.set(key, value);
    }
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      'accept-encoding': 'gzip',
      accept: 'application/json',
    };
    if (this.target.host !== undefined) headers.host = this.target.host;
    const response = await request(url, {
      dispatcher: this.dispatcher,
      headers,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    // Reading is what reports errors; an abandoned body's abort needs no handler besides this one.
    response.body.on('error', () => {});
    let bytes: Buffer;
    try {
      if (response.statusCode !== 200) throw new HttpStatusError(this.options.apiUrl, response.statusCode);
      bytes = await this.readBody(response.body as AsyncIterable<Buffer>);
    } finally {
      if (!response.body.readableEnded) response.body.destroy();
    }
    if (String(response.headers['content-encoding'] ?? '').toLowerCase() === 'gzip') {
      bytes = await gunzipAsync(bytes, { maxOutputLength: this.options.maxResponseBytes }).catch(
        (err: unknown) => {
          throw new WikiAnswerError(`gzip body could not be read: ${(err as Error).message}`);
        },
      );
    }
    let answer: unknown;
    try {
      answer = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new WikiAnswerError(`not JSON (${bytes.subarray(0, 80).toString('utf8')}…)`);
    }
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      throw new WikiAnswerError('not a JSON object');
    }
    const error = apiErrorOf(answer as Json);
    if (error) {
      throw new WikiApiError(error.code, error.info, retryAfterMs(response.headers['retry-after']));
    }
    return answer as Json;
  }

  private async readBody(body: AsyncIterable<Buffer>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of body) {
      total += chunk.length;
      if (total > this.options.maxResponseBytes) {
        throw new WikiAnswerError(`answer larger than ${this.options.maxResponseBytes} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, total);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const seconds = Number(value);
  return value !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
