/**
 * Exactly-once through crashes: `delivery_guarantee: EXACTLY_ONCE` puts outputs, error events and
 * the input offsets into one transaction per commit interval. The service is SIGKILLed four times
 * at seeded random moments while it works and restarted (the restarted instance, with the same
 * instance_id and so the same transactional.id, fences the dead one and aborts its open
 * transaction); a last run finishes. Read with isolation.level=read_committed, every input has
 * exactly one outcome.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { e2eRun, PACED_API } from '../helpers/kafka-e2e.js';
import {
  assertContents,
  assertMissingRevisionErrors,
  assertPerPageOrder,
  EXACTLY_ONE_EACH,
} from '../helpers/kafka-e2e-books.js';
import { crashUntilConsumed } from '../helpers/kafka-e2e-crashes.js';
import { addRevisions, everyNth, pageChanges } from '../helpers/kafka-e2e-inputs.js';
import { seeded } from '../helpers/random.js';

const EVENTS = 6_000;
/**
 * Every record holds its window slot at least PACED_API.minMs, so a run admits at most
 * MAX_IN_FLIGHT × (1 + t / PACED_API.minMs) records in t ms: with the seeded kill moments (7.7 s of
 * work in all) that is under 5,100, so every kill falls into work that is not done.
 */
const MAX_IN_FLIGHT = 50;
const KILLS = 4;
const MISSING_EVERY = 500;

describe('kafka-e2e-exactly-once: EXACTLY_ONCE through SIGKILLs', { timeout: 600_000 }, () => {
  it(`${EVENTS} events, ${KILLS} SIGKILLs: read_committed shows zero lost and zero duplicates`, async (t) => {
    const started = Date.now();
    const run = await e2eRun(t, 'eos', {
      partitions: { input: 4 },
      api: { seed: 5, ...PACED_API },
    });
    const inputs = pageChanges(EVENTS, { pages: 200, seed: 8 });
    const missing = everyNth(inputs, MISSING_EVERY);
    addRevisions(run.api, inputs, { missing });
    const { ends, total } = await run.produce(inputs);
    const config = await run.config({
      deliveryGuarantee: 'EXACTLY_ONCE',
      // The same instance_id on every restart: the same transactional.id, so the new producer
      // fences the killed one and aborts its open transaction at once.
      instanceId: 'e2e-eos-0',
      maxBufferedRecords: 200,
      runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: 200 },
    });
    const runs = await crashUntilConsumed(run, { config, ends, kills: KILLS, random: seeded(99) });
    const committedAfter = runs.slice(0, KILLS).map((r) => r.committedAfter);

    const { outputs, errors, books } = await run.books(inputs, 'read_committed');
    assert.deepEqual(books, EXACTLY_ONE_EACH, 'read_committed: exactly one outcome per input');
    assertMissingRevisionErrors(errors, inputs, missing);
    assertContents(outputs);
    assertPerPageOrder(outputs);

    // What a read_uncommitted reader sees: the killed runs' aborted transactions too. Not an
    // assertion of the service, a figure for the report (it shows the kills did cut transactions).
    const uncommitted = (await run.books(inputs)).books;
    console.log(
      `kafka-e2e-exactly-once: ${inputs.length} inputs, ${outputs.length} outputs + ${errors.length} error events committed, 0 duplicates ` +
        `under read_committed after ${KILLS} SIGKILLs (read_uncommitted would see ${uncommitted.duplicates} duplicates from aborted transactions); ` +
        `committed after each kill: ${committedAfter.join(', ')} of ${total}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
