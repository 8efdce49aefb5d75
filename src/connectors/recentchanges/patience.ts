import { abortableSleep } from '../../core/abortable-sleep.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../core/metrics.js';
import type { Waits } from '../../core/waits.js';
import { isPassing, WikiApiError } from './wiki-api.js';

/** Thrown out of a wait that `stop()` ended: no failure, the source is stopping. */
export class StoppedError extends Error {
  constructor() {
    super('recent-changes source stopped');
    this.name = 'StoppedError';
  }
}

export interface PatienceDeps {
  readonly waits: Waits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Aborted by `stop()`. */
  readonly signal: AbortSignal;
  /** The part named in `/readyz` and the status page. */
  readonly part: string;
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
}

const DEFAULT_BACKOFF = { minMs: 1_000, maxMs: 30_000 };

/**
 * Runs `attempt` until it succeeds. While the wiki cannot be reached (or lags, or is read-only),
 * waits with doubling, jittered backoff (or the wiki's Retry-After, when longer) and says so to
 * `waits`, the log and the status page, as the runtime does while it waits for a broker: the stream
 * goes on when the wiki is back. Any other failure is thrown. A stop ends the wait with `StoppedError`.
 */
export async function untilAnswered<T>(attempt: () => Promise<T>, deps: PatienceDeps): Promise<T> {
  const { minMs, maxMs } = deps.backoff ?? DEFAULT_BACKOFF;
  let delay = minMs;
  for (let tries = 1; ; tries++) {
    if (deps.signal.aborted) throw new StoppedError();
    try {
      const value = await attempt();
      if (tries > 1) {
        deps.logger.info({ part: deps.part, tries }, `${deps.part} reachable again`);
        deps.waits.clear(deps.part);
      }
      return value;
    } catch (err) {
      if (deps.signal.aborted) throw new StoppedError();
      if (!isPassing(err)) throw err;
      const why = `unreachable: ${(err as Error).message.split('\n')[0]}`;
      deps.waits.wait(deps.part, why);
      deps.metrics.event('waiting', { part: deps.part, reason: why.slice(0, 300) });
      const retryAfter = err instanceof WikiApiError ? (err.retryAfterMs ?? 0) : 0;
      const wait = Math.max(delay * (0.8 + 0.4 * Math.random()), Math.min(retryAfter, maxMs));
      deps.logger.warn(
        { part: deps.part, tries, retryInMs: Math.round(wait), err },
        `${deps.part} ${why}; trying again`,
      );
      await abortableSleep(wait, deps.signal);
      delay = Math.min(delay * 2, maxMs);
    }
  }
}
