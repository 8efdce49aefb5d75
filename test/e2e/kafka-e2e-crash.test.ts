/**
 * At-least-once through crashes: 20,000 page_change events, the service SIGKILLed five times at
 * seeded random moments while it works and restarted each time, then a last run finishes. Every
 * input must have an outcome (zero lost); the repeats a crash causes are counted, reported, and
 * bounded by what the config lets be uncommitted at a kill.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { e2eRun, PACED_API } from '../helpers/kafka-e2e.js';
import {
  assertContents,
  assertFirstDeliveriesInPageOrder,
  assertMissingRevisionErrors,
  assertNoneLost,
} from '../helpers/kafka-e2e-books.js';
import { crashUntilConsumed } from '../helpers/kafka-e2e-crashes.js';
import { addRevisions, everyNth, pageChanges, type Json } from '../helpers/kafka-e2e-inputs.js';
import { seeded } from '../helpers/random.js';

/**
 * Every enriched record holds its window slot at least PACED_API.minMs, so a run admits at most
 * MAX_IN_FLIGHT × (1 + t / PACED_API.minMs) records in t ms. The seeded kill moments add up to
 * 10.9 s of work, so the killed runs get through at most about 14,200 of the 20,000 inputs and
 * every kill falls into work that is not done (asserted below), on a fast machine too.
 */
const EVENTS = 20_000;
const KILLS = 5;
const PARTITIONS = 4;
/** Every this many inputs, one names a revision the API does not have: an error event. */
const MISSING_EVERY = 1000;

// The numbers the duplicate bound is derived from (see `perKillBound`).
const MAX_IN_FLIGHT = 100;
const COMMIT_INTERVAL_MS = 250;
const LINGER_MS = 5;
/**
 * Time a commit may take from its snapshot of the watermark until the broker stored it. Not a
 * config value: an allowance for a loaded 2-core machine (a commit answer usually takes a few ms).
 */
const COMMIT_ROUND_TRIP_ALLOWANCE_MS = 150;

/**
 * How many outputs one SIGKILL can make repeat. A restart reads again from the last committed
 * offsets, so the repeats are the outputs of records that were not yet covered by the last commit
 * the broker stored before the kill:
 *  (a) records in the window when that commit took its snapshot: at most max_in_flight;
 *  (b) records already done then but above the watermark, because an earlier record of their
 *      partition was still in flight: admitted while that record waited for its API answer
 *      (≤ PACED_API.maxMs + linger);
 *  (c) records admitted after the snapshot: within one commit interval plus the commit's round trip.
 * Every enriched record holds its window slot at least until its API answer (≥ PACED_API.minMs),
 * so the window admits at most max_in_flight records per PACED_API.minMs; (b) and (c) together
 * are at most max_in_flight × ceil((PACED_API.maxMs + linger + commit interval + round trip) /
 * PACED_API.minMs). Error events for missing revisions need an API answer too. The source's
 * read-ahead (max_buffered_records) adds nothing: a buffered record has no output yet, it is only
 * read again.
 */
const perKillBound =
  MAX_IN_FLIGHT *
  (1 +
    Math.ceil(
      (PACED_API.maxMs + LINGER_MS + COMMIT_INTERVAL_MS + COMMIT_ROUND_TRIP_ALLOWANCE_MS) / PACED_API.minMs,
    ));

describe('kafka-e2e-crash: at-least-once through SIGKILLs', { timeout: 600_000 }, () => {
  it(`${EVENTS} events, ${KILLS} SIGKILLs at random moments: zero lost, repeats bounded`, async (t) => {
    const started = Date.now();
    const run = await e2eRun(t, 'crash', {
      partitions: { input: PARTITIONS },
      api: { seed: 7, ...PACED_API },
    });
    const inputs = pageChanges(EVENTS, { pages: 500, seed: 3 });
    const missing = everyNth(inputs, MISSING_EVERY);
    addRevisions(run.api, inputs, { missing });
    const { ends, total } = await run.produce(inputs);
    const config = await run.config({
      maxBufferedRecords: 200,
      enrich: { batch_linger_ms: LINGER_MS, max_concurrent_requests: 8 },
      runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
    });
    const runs = await crashUntilConsumed(run, { config, ends, kills: KILLS, random: seeded(2024) });

    const { outputs, errors, books } = await run.books(inputs);
    assertNoneLost(books);
    // Each outcome is the right one: content for the revisions the API has, error events for the others.
    assertMissingRevisionErrors(errors, inputs, missing);
    assertContents(outputs);
    assertFirstDeliveriesInPageOrder(outputs);

    // Which run wrote each outcome: meta.dt of outputs and dt of error events are their processing time.
    const runOf = (ms: number) => runs.findIndex((r) => ms >= r.from && ms <= r.to);
    const written = [
      ...outputs.map((o) => ({ id: o.id, run: runOf(Date.parse(String((o.event.meta as Json).dt))) })),
      ...errors.map((e) => ({ id: e.id, run: runOf(Date.parse(String(e.event.dt))) })),
    ];
    assert.ok(
      written.every((w) => w.run >= 0),
      'every outcome was written during one of the runs',
    );
    // A repeat is charged to the kill of the run that wrote the earlier copy.
    const repeatsPerKill = runs.map(() => 0);
    const byId = new Map<string, number[]>();
    for (const w of written) byId.set(w.id, [...(byId.get(w.id) ?? []), w.run]);
    for (const writers of byId.values()) {
      for (const writer of writers.sort((a, b) => a - b).slice(0, -1)) repeatsPerKill[writer]!++;
    }
    assert.equal(repeatsPerKill[KILLS], 0, 'the final run (SIGTERM) repeats nothing');
    console.log(
      `kafka-e2e-crash: ${inputs.length} inputs, ${outputs.length} outputs, ${errors.length} error events, ` +
        `${books.duplicates} duplicates (${books.duplicatedInputs} inputs) after ${KILLS} SIGKILLs; per kill ${repeatsPerKill.slice(0, KILLS).join(', ')} ` +
        `(bound ${perKillBound} each); committed after each kill: ${runs
          .slice(0, KILLS)
          .map((r) => r.committedAfter)
          .join(', ')} of ${total}; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    for (let k = 0; k < KILLS; k++) {
      assert.ok(
        repeatsPerKill[k]! <= perKillBound,
        `kill ${k + 1}: ${repeatsPerKill[k]} repeats, over the bound ${perKillBound}`,
      );
    }
    assert.ok(books.duplicates <= KILLS * perKillBound);
  });
});
