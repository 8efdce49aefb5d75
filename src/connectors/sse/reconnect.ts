/** When to connect again to the stream, and the reasons for doing so. */

/** Why a connection ended and another is opened; the `reason` label of `sse_reconnects_total`. */
export const RECONNECT_REASONS = [
  /** The server ended the response (EventStreams' edge drops long connections now and then). */
  'ended',
  /** The connection could not be opened, or broke (reset, refused, timed out, not resolvable). */
  'network_error',
  /** An HTTP 5xx or 408. */
  'server_error',
  /** HTTP 429: too many connections from this address. */
  'too_many_requests',
  /** No byte for `idle_timeout_ms`: the connection is taken for dead. */
  'idle',
  /** The server sent `event: error` (after which it ends the stream). */
  'error_event',
] as const;

export type ReconnectReason = (typeof RECONNECT_REASONS)[number];

/** Longest `Retry-After` honoured: a bigger one is a misconfigured server, not a plan. */
export const RETRY_AFTER_CAP_MS = 10 * 60_000;

/**
 * The wait before attempt `failures + 1` after `failures` connections in a row that delivered no
 * event: `minMs` doubled per failure up to `maxMs`, ±20 % jitter (so that many clients dropped at
 * once do not come back at once), and never less than the server's `Retry-After`.
 */
export function reconnectDelayMs(
  failures: number,
  bounds: { minMs: number; maxMs: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(bounds.maxMs, bounds.minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  const jittered = Math.round(base * (0.8 + 0.4 * random()));
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * `Retry-After` in milliseconds: delay-seconds or an HTTP date, capped at `RETRY_AFTER_CAP_MS`;
 * undefined when absent or not understood.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date (`Sat, 31 Jan 2026 12:00:30 GMT`); Date.parse alone would take `-5` for a year.
    if (!/^[A-Za-z]{3}, .*\d{2}:\d{2}:\d{2}/.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}
