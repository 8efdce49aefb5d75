import { performance } from 'node:perf_hooks';
import type { InFlightWindow } from './window.js';

export interface WindowControlOptions {
  /** The smallest limit; at or above the window's capacity, the window keeps its capacity. */
  readonly floor: number;
  /** @default 50 */
  readonly intervalMs?: number;
  /** The event loop's utilization (0..1) since the last call. @default from `performance.eventLoopUtilization` */
  readonly utilization?: () => number;
}

/** At or above this utilization the loop is saturated. */
export const SATURATED = 0.9;
/** Below this, the loop has time to spare. */
export const SPARE = 0.75;

/** The limit after an interval of `utilization`, within `floor`..`capacity`. */
export function nextLimit(limit: number, utilization: number, floor: number, capacity: number): number {
  const low = Math.min(floor, capacity);
  if (utilization >= SATURATED) return Math.max(low, Math.round(limit * 0.75));
  if (utilization < SPARE) return Math.min(capacity, Math.ceil(limit * 1.5));
  return Math.min(capacity, Math.max(low, limit));
}

/**
 * Sizes the window by how busy the event loop is. Records read ahead are useful while the process
 * waits on the wiki: they fill the next batches of many wikis. While the loop is saturated they only
 * wait in memory, where the collector copies each of them at every scavenge, so that the same
 * events cost more CPU the more are held (about a tenth more for 1 KB events at 1,000 than at 256).
 * So: from `floor`, the window grows by half each interval in which the loop had time to spare, up
 * to its capacity (`runtime.max_in_flight`), and shrinks by a quarter in each interval in which
 * it was saturated, down to `floor` (`runtime.in_flight_floor`). It starts at `floor`, as a
 * connection starts with a small congestion window: a restart with a backlog does not begin by
 * reading a thousand records into memory.
 *
 * Starts sizing `window` (from its floor) and returns what stops it.
 */
export function controlWindow(window: InFlightWindow, options: WindowControlOptions): () => void {
  const floor = Math.min(options.floor, window.capacity);
  window.resize(floor);
  if (floor >= window.capacity) return () => undefined;
  const utilization = options.utilization ?? loopUtilization();
  const timer = setInterval(
    () => window.resize(nextLimit(window.limit, utilization(), floor, window.capacity)),
    options.intervalMs ?? 50,
  );
  // The pipeline's end stops it; it never keeps the process alive by itself.
  timer.unref();
  return () => clearInterval(timer);
}

function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    return utilization;
  };
}
