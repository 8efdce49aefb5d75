/**
 * Crashes at random moments: the service is SIGKILLed while it works, restarted, killed again, and
 * finally left to finish the input, as a supervisor restarting a crashing process would.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForLog } from './cli.js';
import type { E2eRun } from './kafka-e2e.js';
import { sum, type Offsets } from './kafka.js';
import { between } from './random.js';

export interface ServiceRun {
  readonly label: string;
  /** Wall-clock span of the run (ms since the epoch), to tell which run wrote an output. */
  readonly from: number;
  readonly to: number;
  /** What the group had committed once the run was gone (the whole input for the last run). */
  readonly committedAfter: number;
}

/**
 * `kills` runs of `config`, each SIGKILLed `killAfterMs` (a seeded random span) after it got its
 * partitions, then a last run until the group committed `ends`, stopped with SIGTERM. Asserts that
 * every kill hit a running process that had work left, that the killed runs made progress and that
 * the last run exits 0. Returns every run, the last one included.
 */
export async function crashUntilConsumed(
  run: E2eRun,
  o: {
    config: string;
    ends: Offsets;
    kills: number;
    random: () => number;
    killAfterMs?: readonly [number, number];
  },
): Promise<ServiceRun[]> {
  const [minMs, maxMs] = o.killAfterMs ?? [500, 3000];
  const total = sum(o.ends);
  const runs: ServiceRun[] = [];
  for (let k = 1; k <= o.kills; k++) {
    const from = Date.now();
    const service = run.start(o.config, `run ${k}`);
    // After a SIGKILL the dead member keeps its partitions until its session (6 s) expires; the
    // random moment is counted from when this run got them, so that it falls into real work.
    await waitForLog(service, 'kafka partitions assigned', 60_000);
    await sleep(between(o.random, minMs, maxMs));
    const exit = await service.kill();
    assert.equal(
      exit.signal,
      'SIGKILL',
      `${service.label} was still running when killed:\n${service.report()}`,
    );
    runs.push({
      label: service.label,
      from,
      to: Date.now(),
      committedAfter: await run.offsets.total(o.ends),
    });
  }
  for (const killed of runs) {
    assert.ok(
      killed.committedAfter < total,
      `${killed.label} was killed with work left (committed ${killed.committedAfter} of ${total})`,
    );
  }
  assert.ok(runs.at(-1)!.committedAfter > 0, 'the killed runs made progress');

  const from = Date.now();
  const last = run.start(o.config, 'final run');
  await run.finish(last, o.ends, 240_000, 'the final run to commit the whole input');
  runs.push({ label: last.label, from, to: Date.now(), committedAfter: total });
  return runs;
}
