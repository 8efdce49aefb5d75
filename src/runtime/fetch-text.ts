import { request } from 'undici';
import { DEFAULT_MAX_SCHEMA_BYTES, HttpStatusError, ReadRefusedError } from '../core/bounded-read.js';
import { routeUrl, type HttpRoutes } from '../core/http-routes.js';
import type { FetchText } from '../core/schema-repository.js';

export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;

/**
 * GET a URL as text for schema and stream-config lookups, through `http_client_routes`. The answer
 * is bounded: at most `maxBytes` (a larger one is abandoned as soon as its length or its bytes show
 * it), and the whole request, body included, within `timeoutMs`, so that a server dripping bytes
 * cannot hold a lookup forever. Redirects are not followed: a redirect could leave the repository.
 */
export function createFetchText(
  routes: HttpRoutes,
  userAgent: string,
  timeoutMs = DEFAULT_FETCH_TIMEOUT_MS,
  maxBytes = DEFAULT_MAX_SCHEMA_BYTES,
): FetchText {
  return async (url) => {
    const routed = routeUrl(url, routes);
    const headers: Record<string, string> = {
      'user-agent': userAgent,
      accept: 'application/json, application/yaml, text/plain',
    };
    if (routed.host) headers.host = routed.host;
    const res = await request(routed.url, {
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Reading is what reports errors; an abandoned body's abort needs no handler besides this one.
    res.body.on('error', () => {});
    try {
      if (res.statusCode !== 200) throw new HttpStatusError(url, res.statusCode);
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(url, maxBytes);
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) throw tooLarge(url, maxBytes);
        chunks.push(chunk);
      }
      return Buffer.concat(chunks, total).toString('utf8');
    } finally {
      // Not read to its end (an error status, or too large): close the connection rather than drain it.
      if (!res.body.readableEnded) res.body.destroy();
    }
  };
}

function tooLarge(url: string, maxBytes: number): ReadRefusedError {
  return new ReadRefusedError(`GET ${url} answered more than ${maxBytes} bytes`);
}
