/** Seeded randomness for tests: a failing run can be repeated exactly. */
import type { Behaviour } from './misbehaving-api.js';

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] from `random`. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** An API fallback that serves every request after a random delay in [minMs, maxMs]. */
export function randomLatency(random: () => number, minMs: number, maxMs: number): () => Behaviour {
  return () => ({ kind: 'serve', delayMs: between(random, minMs, maxMs) });
}
