import { isEnrichmentError } from '../core/errors.js';

/** How failed revision fetches are retried. Every number is configurable; the defaults follow WMF (T309699). */
export interface RetryPolicy {
  /** Retries after the first attempt, so at most `1 + maxRetries` requests per revision. @default 3 */
  readonly maxRetries: number;
  /** Backoff before the first retry. @default 1000 */
  readonly initialDelayMs: number;
  /** Growth of the backoff per retry. @default 2 */
  readonly multiplier: number;
  /** Upper bound of the backoff (before jitter). @default 8000 */
  readonly maxDelayMs: number;
  /** Relative jitter: the backoff is scaled by a factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  readonly jitter: number;
  /** Upper bound on a server-requested Retry-After. @default 30000 */
  readonly retryAfterCapMs: number;
  /**
   * A missing revision is retried only while the event is this recent (by its ingestion time): right
   * after an edit a replica may not have the revision yet; later, missing means deleted. @default 10000
   */
  readonly recentEventWindowMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 3,
  initialDelayMs: 1000,
  multiplier: 2,
  maxDelayMs: 8000,
  jitter: 0.2,
  retryAfterCapMs: 30_000,
  recentEventWindowMs: 10_000,
});

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

export interface RetryClock {
  readonly nowMs: number;
  /** Ingestion time (`meta.dt`) of the event that wants the revision. */
  readonly ingestedAtMs: number;
}

/** 408 and 429 are the client-side statuses worth repeating (request timeout, rate limit). */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Connection failures are retried: a reset most often means the server closed an idle keep-alive
 * socket or a proxy restarted, and a refused connect is a local proxy (WMF's envoy on :6500) coming
 * back. Both are transient, and the retry budget bounds the cost when the service is really down.
 * The exception is a name that does not resolve: retrying cannot create it (the allowlist makes it rare).
 */
const NOT_RETRIED_CONNECTION_CODES: ReadonlySet<string> = new Set(['ENOTFOUND']);

function isRetriedKind(error: unknown, clock: RetryClock, policy: RetryPolicy): boolean {
  if (!isEnrichmentError(error)) return false;
  switch (error.type) {
    case 'TimeoutError':
    case 'MaxlagError':
    case 'ReadonlyError':
      return true;
    case 'HttpStatusError':
      return RETRIED_STATUSES.has(Number(error.details.status));
    case 'ConnectionError':
      return !NOT_RETRIED_CONNECTION_CODES.has(String(error.details.code));
    case 'MissingRevisionError':
      return clock.nowMs - clock.ingestedAtMs < policy.recentEventWindowMs;
    default:
      return false;
  }
}

/** Exponential backoff for the retry after `attempt` failed attempts (1-based), with jitter. */
export function backoffDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const base = Math.min(
    policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1),
    policy.maxDelayMs,
  );
  const factor = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * factor));
}

/**
 * Whether to retry after `attempt` attempts (1-based: 1 after the first request failed) ended in
 * `error`, and after how long. A server's Retry-After is a lower bound on the delay, capped at
 * `retryAfterCapMs` so that one header cannot park a revision for hours.
 */
export function decide(
  error: unknown,
  attempt: number,
  policy: RetryPolicy,
  clock: RetryClock,
  random: () => number = Math.random,
): RetryDecision {
  if (attempt > policy.maxRetries || !isRetriedKind(error, clock, policy)) return { retry: false };
  const backoff = backoffDelayMs(attempt, policy, random);
  const retryAfter = isEnrichmentError(error) ? error.retryAfterMs : undefined;
  if (retryAfter === undefined) return { retry: true, delayMs: backoff };
  return { retry: true, delayMs: Math.max(backoff, Math.min(retryAfter, policy.retryAfterCapMs)) };
}

/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds (a non-negative integer) or an HTTP-date.
 * Returns milliseconds from `nowMs`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with the day name; Date.parse alone would read "-3" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
