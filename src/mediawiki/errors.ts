import { EnrichmentError } from '../core/errors.js';

/**
 * The failures of the MediaWiki layer, as `EnrichmentError`s with their stable `type`. Whether they
 * are retried is decided by `retry-policy.ts`; `retryable` here is the default reading of the type.
 */

export function httpStatusError(status: number, retryAfterMs?: number): EnrichmentError {
  return new EnrichmentError('HttpStatusError', `Action API answered with HTTP ${status}`, {
    retryable: [408, 429, 500, 502, 503, 504].includes(status),
    retryAfterMs,
    details: { status },
  });
}

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

export function timeoutError(phase: TimeoutPhase, timeoutMs: number, cause?: unknown): EnrichmentError {
  return new EnrichmentError('TimeoutError', `Action API request timed out (${phase}, ${timeoutMs} ms)`, {
    retryable: true,
    details: { phase, timeout_ms: timeoutMs },
    cause,
  });
}

export function connectionError(code: string, message: string, cause?: unknown): EnrichmentError {
  return new EnrichmentError('ConnectionError', `Action API connection failed: ${message}`, {
    retryable: true,
    details: { code },
    cause,
  });
}

export function apiError(code: string, info: string, retryAfterMs?: number): EnrichmentError {
  const type = code === 'maxlag' ? 'MaxlagError' : code === 'readonly' ? 'ReadonlyError' : 'ApiError';
  return new EnrichmentError(type, `Action API error ${code}: ${info}`, {
    retryable: type !== 'ApiError',
    retryAfterMs,
    details: { api_code: code, api_info: info },
  });
}

export function responseFormatError(reason: string, details: Record<string, unknown> = {}): EnrichmentError {
  return new EnrichmentError('ResponseFormatError', `Unexpected Action API response: ${reason}`, {
    details: { reason, ...details },
  });
}

/** Why a revision counts as missing; all three read the same to consumers of the error stream. */
export type MissingReason = 'badrevids' | 'page_missing' | 'absent';

export function missingRevisionError(revId: number, reason: MissingReason): EnrichmentError {
  return new EnrichmentError('MissingRevisionError', `Revision ${revId} is missing or deleted`, {
    retryable: true,
    details: { rev_id: revId, reason },
  });
}

/**
 * Larger than `maxResponseBytes`, counted on the wire and again after decompression. Not retried: a
 * wiki gives the same answer to the same question.
 */
export function answerTooLargeError(
  limitBytes: number,
  counted: 'declared' | 'received' | 'decompressed',
): EnrichmentError {
  return new EnrichmentError(
    'ResponseFormatError',
    `Unexpected Action API response: answer too large (${counted} size over the limit of ${limitBytes} bytes, enrich.max_response_bytes)`,
    { details: { reason: 'answer too large', counted, limit_bytes: limitBytes } },
  );
}

/**
 * `meta.domain` is not a plain host name (`canonicalWikiDomain`), or it is one that the allowlist
 * does not admit. Either way no request is made.
 */
export function domainNotAllowedError(
  domain: string,
  reason: 'not_allowed' | 'not_host_name' = 'not_allowed',
): EnrichmentError {
  const message =
    reason === 'not_host_name'
      ? `Domain ${JSON.stringify(domain)} is not a plain host name`
      : `Domain ${JSON.stringify(domain)} is not allowed`;
  return new EnrichmentError('DomainNotAllowedError', message, { details: { domain, reason } });
}

/**
 * The fetcher was closed while the fetch was pending. Not an `EnrichmentError` on purpose: it is no
 * outcome of the input, so the job must not turn it into an error event (nor commit past the input).
 */
export class FetcherClosedError extends Error {
  constructor() {
    super('revision fetcher closed');
    this.name = 'FetcherClosedError';
  }
}
