/**
 * At-least-once through crashes: 20,000 page_change events, the service SIGKILLed five times at
 * seeded random moments while it works and restarted each time, then a last run finishes. Every
 * input must have an outcome (zero lost); the repeats a crash causes are counted, reported, and
 * bounded by what the config lets be uncommitted at a kill.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt } from '../helpers/cli.js';
import { ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  account,
  addRevisions,
  assertFirstDeliveriesInPageOrder,
  between,
  contentOf,
  createE2eTopics,
  endOffsets,
  groupOffsets,
  pageChanges,
  produceInputs,
  randomLatency,
  readErrors,
  readInputs,
  readOutputs,
  seeded,
  serviceConfig,
  startService,
  waitForLog,
  waitUntil,
  writeConfig,
  type Json,
  type OutputRecord,
} from '../helpers/kafka-e2e.js';
import { startApi, tempDir } from '../helpers/job-harness.js';

/**
 * Every enriched record holds its window slot at least API_MIN_DELAY_MS, so a run admits at most
 * MAX_IN_FLIGHT × (1 + t / API_MIN_DELAY_MS) records in t ms. The seeded kill moments add up to
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
const API_MIN_DELAY_MS = 80;
const API_MAX_DELAY_MS = 100;
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
 *      (≤ API_MAX_DELAY_MS + linger);
 *  (c) records admitted after the snapshot: within one commit interval plus the commit's round trip.
 * Every enriched record holds its window slot at least until its API answer (≥ API_MIN_DELAY_MS),
 * so the window admits at most max_in_flight records per API_MIN_DELAY_MS; (b) and (c) together
 * are at most max_in_flight × ceil((API_MAX_DELAY + linger + commit interval + round trip) /
 * API_MIN_DELAY). Error events for missing revisions need an API answer too. The source's
 * read-ahead (max_buffered_records) adds nothing: a buffered record has no output yet, it is only
 * read again.
 */
const perKillBound =
  MAX_IN_FLIGHT *
  (1 +
    Math.ceil(
      (API_MAX_DELAY_MS + LINGER_MS + COMMIT_INTERVAL_MS + COMMIT_ROUND_TRIP_ALLOWANCE_MS) / API_MIN_DELAY_MS,
    ));

let bootstrap: string;

describe('kafka-e2e-crash: at-least-once through SIGKILLs', { timeout: 600_000 }, () => {
  before(async () => {
    [bootstrap] = await Promise.all([ensureKafka(), ensureBuilt()]);
  });

  it(`${EVENTS} events, ${KILLS} SIGKILLs at random moments: zero lost, repeats bounded`, async (t) => {
    const started = Date.now();
    const random = seeded(2024);
    const topics = await createE2eTopics(bootstrap, 'crash', { input: PARTITIONS });
    const group = uniqueName('e2e-crash');
    const offsets = await groupOffsets(t, bootstrap, group);
    const api = await startApi(t, { fallback: randomLatency(seeded(7), API_MIN_DELAY_MS, API_MAX_DELAY_MS) });
    const inputs = pageChanges(EVENTS, { pages: 500, seed: 3 });
    const missing = new Set(
      inputs.filter((_, i) => i % MISSING_EVERY === MISSING_EVERY - 1).map((i) => i.revId),
    );
    addRevisions(api, inputs, { missing });
    await produceInputs(bootstrap, topics.input, inputs);
    const ends = endOffsets([...(await readInputs(bootstrap, topics.input, inputs)).values()], topics.input);
    const total = [...ends.values()].reduce((a, b) => a + b, 0);

    const dir = await tempDir(t, 'kafka-e2e-crash-');
    const config = await writeConfig(
      dir,
      'service.json',
      serviceConfig({
        bootstrap,
        topics,
        group,
        endpoint: api.url,
        maxBufferedRecords: 200,
        enrich: { batch_linger_ms: LINGER_MS, max_concurrent_requests: 8 },
        runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
      }),
    );

    /** Wall-clock span of each run, to tell which run wrote an output (by its meta.dt). */
    const runs: { label: string; from: number; to: number; committedAfter: number }[] = [];
    const committedTotal = () => offsets.total(ends);
    for (let k = 1; k <= KILLS; k++) {
      const from = Date.now();
      const service = startService(t, config, `run ${k}`);
      // After a SIGKILL the dead member keeps its partitions until its session (6 s) expires; the
      // random moment is counted from when this run got them, so that it falls into real work.
      await waitForLog(service, 'kafka partitions assigned', 60_000);
      await sleep(between(random, 500, 3000));
      const exit = await service.kill();
      assert.equal(
        exit.signal,
        'SIGKILL',
        `${service.label} was still running when killed:\n${service.stderr().slice(-2000)}`,
      );
      runs.push({ label: service.label, from, to: Date.now(), committedAfter: await committedTotal() });
    }
    for (const run of runs) {
      assert.ok(
        run.committedAfter < total,
        `${run.label} was killed with work left (committed ${run.committedAfter} of ${total})`,
      );
    }
    assert.ok(runs[KILLS - 1]!.committedAfter > 0, 'the killed runs made progress');

    const from = Date.now();
    const last = startService(t, config, 'final run');
    await waitUntil('the final run to commit the whole input', () => offsets.reached(ends), {
      timeoutMs: 240_000,
      intervalMs: 500,
      services: [last],
    });
    assert.deepEqual(await last.stop(), { code: 0, signal: null }, last.stderr().slice(-3000));
    runs.push({ label: last.label, from, to: Date.now(), committedAfter: total });

    const outputs = await readOutputs(bootstrap, topics.output);
    const errors = await readErrors(bootstrap, topics.errors);
    const books = account(inputs, outputs, errors);
    assert.deepEqual(books.lost, [], 'every input has an outcome');
    assert.deepEqual(books.unknown, []);
    // Each outcome is the right one: content for the revisions the API has, error events for the others.
    assert.deepEqual(new Set(errors.map((e) => e.event.error_type)), new Set(['MissingRevisionError']));
    assert.deepEqual(
      new Set(errors.map((e) => e.id)),
      new Set(inputs.filter((i) => missing.has(i.revId)).map((i) => i.id)),
    );
    for (const o of outputs) {
      const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
      assert.equal(revision.content_slots.main.content_body, contentOf(revision.rev_id));
    }
    assertFirstDeliveriesInPageOrder(outputs);

    // Which run wrote each outcome: meta.dt of outputs and dt of error events are their processing time.
    const runOf = (ms: number) => runs.findIndex((r) => ms >= r.from && ms <= r.to);
    const written = [
      ...outputs.map((o: OutputRecord) => ({
        id: o.id,
        run: runOf(Date.parse(String((o.event.meta as Json).dt))),
      })),
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
      for (const run of writers.sort((a, b) => a - b).slice(0, -1)) repeatsPerKill[run]!++;
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
