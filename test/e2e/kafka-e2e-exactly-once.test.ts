/**
 * Exactly-once through crashes: `delivery_guarantee: EXACTLY_ONCE` puts outputs, error events and
 * the input offsets into one transaction per commit interval. The service is SIGKILLed four times
 * at seeded random moments while it works and restarted (the restarted instance, with the same
 * instance_id and so the same transactional.id, fences the dead one and aborts its open
 * transaction); a last run finishes. Read with isolation.level=read_committed, every input has
 * exactly one outcome.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt } from '../helpers/cli.js';
import { ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  account,
  addRevisions,
  assertPerPageOrder,
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
} from '../helpers/kafka-e2e.js';
import { startApi, tempDir } from '../helpers/job-harness.js';

const EVENTS = 6_000;
/**
 * Every record holds its window slot at least API_MIN_DELAY_MS, so a run admits at most
 * MAX_IN_FLIGHT × (1 + t / API_MIN_DELAY_MS) records in t ms: with the seeded kill moments (7.7 s of
 * work in all) that is under 5,100, so every kill falls into work that is not done.
 */
const MAX_IN_FLIGHT = 50;
const API_MIN_DELAY_MS = 80;
const API_MAX_DELAY_MS = 100;
const KILLS = 4;
const MISSING_EVERY = 500;

let bootstrap: string;

describe('kafka-e2e-exactly-once: EXACTLY_ONCE through SIGKILLs', { timeout: 600_000 }, () => {
  before(async () => {
    [bootstrap] = await Promise.all([ensureKafka(), ensureBuilt()]);
  });

  it(`${EVENTS} events, ${KILLS} SIGKILLs: read_committed shows zero lost and zero duplicates`, async (t) => {
    const started = Date.now();
    const random = seeded(99);
    const topics = await createE2eTopics(bootstrap, 'eos', { input: 4 });
    const group = uniqueName('e2e-eos');
    const offsets = await groupOffsets(t, bootstrap, group);
    const api = await startApi(t, { fallback: randomLatency(seeded(5), API_MIN_DELAY_MS, API_MAX_DELAY_MS) });
    const inputs = pageChanges(EVENTS, { pages: 200, seed: 8 });
    const missing = new Set(
      inputs.filter((_, i) => i % MISSING_EVERY === MISSING_EVERY - 1).map((i) => i.revId),
    );
    addRevisions(api, inputs, { missing });
    await produceInputs(bootstrap, topics.input, inputs);
    const ends = endOffsets([...(await readInputs(bootstrap, topics.input, inputs)).values()], topics.input);
    const total = [...ends.values()].reduce((a, b) => a + b, 0);

    const dir = await tempDir(t, 'kafka-e2e-eos-');
    const config = await writeConfig(
      dir,
      'service.json',
      serviceConfig({
        bootstrap,
        topics,
        group,
        endpoint: api.url,
        deliveryGuarantee: 'EXACTLY_ONCE',
        // The same instance_id on every restart: the same transactional.id, so the new producer
        // fences the killed one and aborts its open transaction at once.
        instanceId: 'e2e-eos-0',
        maxBufferedRecords: 200,
        runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: 200 },
      }),
    );

    const committedAfter: number[] = [];
    const committedTotal = () => offsets.total(ends);
    for (let k = 1; k <= KILLS; k++) {
      const service = startService(t, config, `run ${k}`);
      await waitForLog(service, 'kafka partitions assigned', 60_000);
      await sleep(between(random, 500, 3000));
      const exit = await service.kill();
      assert.equal(
        exit.signal,
        'SIGKILL',
        `${service.label} was still running when killed:\n${service.stderr().slice(-2000)}`,
      );
      committedAfter.push(await committedTotal());
    }
    assert.ok(
      committedAfter.every((c) => c < total),
      `every kill left work (committed ${committedAfter.join(', ')} of ${total})`,
    );
    assert.ok(committedAfter[KILLS - 1]! > 0, 'the killed runs committed transactions');

    const last = startService(t, config, 'final run');
    await waitUntil('the final run to commit the whole input', () => offsets.reached(ends), {
      timeoutMs: 240_000,
      intervalMs: 500,
      services: [last],
    });
    assert.deepEqual(await last.stop(), { code: 0, signal: null }, last.stderr().slice(-3000));

    const outputs = await readOutputs(bootstrap, topics.output, 'read_committed');
    const errors = await readErrors(bootstrap, topics.errors, 'read_committed');
    const books = account(inputs, outputs, errors);
    assert.deepEqual(
      books,
      { lost: [], duplicates: 0, duplicatedInputs: 0, unknown: [] },
      'read_committed: exactly one outcome per input',
    );
    assert.deepEqual(
      new Set(errors.map((e) => e.id)),
      new Set(inputs.filter((i) => missing.has(i.revId)).map((i) => i.id)),
    );
    assert.ok(errors.every((e) => e.event.error_type === 'MissingRevisionError'));
    for (const o of outputs) {
      const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
      assert.equal(revision.content_slots.main.content_body, contentOf(revision.rev_id));
    }
    assertPerPageOrder(outputs);

    // What a read_uncommitted reader sees: the killed runs' aborted transactions too. Not an
    // assertion of the service, a figure for the report (it shows the kills did cut transactions).
    const uncommitted = account(
      inputs,
      await readOutputs(bootstrap, topics.output),
      await readErrors(bootstrap, topics.errors),
    );
    console.log(
      `kafka-e2e-exactly-once: ${inputs.length} inputs, ${outputs.length} outputs + ${errors.length} error events committed, 0 duplicates ` +
        `under read_committed after ${KILLS} SIGKILLs (read_uncommitted would see ${uncommitted.duplicates} duplicates from aborted transactions); ` +
        `committed after each kill: ${committedAfter.join(', ')} of ${total}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
