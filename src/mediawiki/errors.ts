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

export function domainNotAllowedError(domain: string): EnrichmentError {
  return new EnrichmentError('DomainNotAllowedError', `Domain ${JSON.stringify(domain)} is not allowed`, {
    details: { domain },
  });
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
