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

/**
 * The limit after an interval of `utilization`; a limit within `floor`..`capacity` stays within
 * them. It shrinks only when the interval before was saturated too: one large answer parsed can
 * fill an interval, and a window shrunk for it would leave the next requests to a slow wiki with
 * fewer revisions.
 */
export function nextLimit(
  limit: number,
  utilization: number,
  saturatedBefore: boolean,
  floor: number,
  capacity: number,
): number {
  if (utilization >= SATURATED && saturatedBefore) {
    // At least one less, so that a floor of 1 is reached from 2.
    return Math.max(Math.min(floor, capacity), Math.min(limit - 1, Math.floor(limit * 0.75)));
  }
  if (utilization < SPARE) return Math.min(capacity, limit * 2);
  return limit;
}

/**
 * Sizes the window by how busy the event loop is. Records read ahead are useful while the process
 * waits on the wiki: they fill the next batches of many wikis. While the loop is saturated they only
 * wait in memory, where the collector copies each of them at every scavenge, so that the same
 * events cost more CPU the more are held (about a tenth more for 1 KB events at 1,000 than at 256).
 * So the window starts at its capacity (`runtime.max_in_flight`) and shrinks by a quarter in each
 * interval that follows another in which the loop was saturated, down to `floor`
 * (`runtime.in_flight_floor`); it doubles in each interval in which the loop had time to spare, back
 * up to the capacity.
 *
 * Starts sizing `window` and returns what stops it.
 */
export function controlWindow(window: InFlightWindow, options: WindowControlOptions): () => void {
  const floor = Math.min(options.floor, window.capacity);
  if (floor >= window.capacity) return () => undefined;
  const utilization = options.utilization ?? loopUtilization();
  let saturatedBefore = false;
  const timer = setInterval(() => {
    const load = utilization();
    window.resize(nextLimit(window.limit, load, saturatedBefore, floor, window.capacity));
    saturatedBefore = load >= SATURATED;
  }, options.intervalMs ?? 50);
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
