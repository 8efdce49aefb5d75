import { HttpStatusError } from './bounded-read.js';
import { SchemaNotFoundError } from './schema-repository.js';

/** Socket and timeout failures: the other side is down, restarting or unreachable for now. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether a failure to load something from a service (a schema repository, the stream-config API)
 * may pass by itself: no connection, a timeout, a 5xx, 408 or 429. Anything else (a 404, an
 * answer that is not a schema, a file that is not there) is a configuration problem that waiting
 * does not fix. Looks through `cause` chains, since loaders wrap what they met.
 */
export function isUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof HttpStatusError) return e.status >= 500 || e.status === 408 || e.status === 429;
    if (e instanceof SchemaNotFoundError) {
      // Some http(s) place failed in a way that may pass (a file base's failure does not).
      return e.attempts.some((a) => a.outcome === 'failed' && /^https?:/.test(a.url));
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('UND_ERR_'))) return true;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  }
  return false;
}
