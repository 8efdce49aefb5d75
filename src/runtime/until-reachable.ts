import type { Logger } from 'pino';
import { abortableSleep } from '../core/abortable-sleep.js';
import type { Metrics } from '../core/metrics.js';
import { isUnreachable } from '../core/unreachable.js';
import type { Waits } from '../core/waits.js';

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
}

export const START_BACKOFF: Backoff = { minMs: 1_000, maxMs: 30_000 };

/**
 * Runs `attempt` until it succeeds, waiting with backoff (doubling, with jitter) while what it needs
 * is unreachable (`isUnreachable`): the wait is logged, noted for the status page and reported to
 * `waits` (so `/readyz` says why). Any other failure is thrown at once. Resolves `undefined` if
 * `signal` aborts first (the service was asked to stop while it waited).
 */
export async function untilReachable<T>(
  part: string,
  attempt: () => Promise<T>,
  deps: { waits: Waits; logger: Logger; metrics: Metrics; signal: AbortSignal; backoff?: Backoff },
): Promise<T | undefined> {
  const { minMs, maxMs } = deps.backoff ?? START_BACKOFF;
  let delay = minMs;
  for (let tries = 1; ; tries++) {
    if (deps.signal.aborted) return undefined;
    try {
      const value = await attempt();
      if (tries > 1) deps.logger.info({ part, tries }, `${part} reachable again`);
      deps.waits.clear(part);
      return value;
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const why = `unreachable: ${firstLine(err)}`;
      deps.waits.wait(part, why);
      deps.metrics.event('waiting', { part, reason: why.slice(0, 300) });
      deps.logger.warn({ part, tries, retryInMs: delay, err }, `${part} ${why}; trying again`);
      await abortableSleep(delay * (0.8 + 0.4 * Math.random()), deps.signal);
      delay = Math.min(delay * 2, maxMs);
    }
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
