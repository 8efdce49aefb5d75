/**
 * The broker goes away in the middle of a run, and comes back. The service does not exit: its
 * consumer, commits and producer retry until the broker answers again, and the run finishes with
 * every input's outcome in the output or error topic and the offsets committed to the end.
 *
 * - A restart (`scripts/kafka.sh restart`: controlled shutdown and start, a few seconds) shorter
 *   than the consumer's session timeout: the service keeps its partitions and reads every input
 *   exactly once, so there are no duplicates either.
 * - An outage longer than the session timeout: the group forgets the member, the source reports its
 *   partitions lost, rejoins and gets them back, and reads again from the last committed offsets;
 *   nothing is lost, and what is repeated is counted and bounded.
 * - The same outage under EXACTLY_ONCE: the open transaction may hold outputs of the lost
 *   partitions, so it is aborted and the process exits 1; restarted, it finishes, and a
 *   read_committed reader sees every input's outcome exactly once.
 */
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { ensureBuilt } from '../helpers/cli.js';
import { ensureKafka, restartKafka, uniqueName } from '../helpers/kafka.js';
import {
  account,
  addRevisions,
  assertFirstDeliveriesInPageOrder,
  assertPerPageOrder,
  contentOf,
  createE2eTopics,
  endOffsets,
  groupOffsets,
  brokerOutage,
  pageChanges,
  produceInputs,
  randomLatency,
  readErrors,
  readInputs,
  readOutputs,
  seeded,
  serviceConfig,
  startService,
  summaryCounts,
  waitForExit,
  waitUntil,
  writeConfig,
  type Json,
  type Service,
} from '../helpers/kafka-e2e.js';
import { startApi, tempDir } from '../helpers/job-harness.js';

const EVENTS = 3_000;
/**
 * At most MAX_IN_FLIGHT records per API_MIN_DELAY_MS (each holds its window slot until its API
 * answer): under 650 records/s, so the 3,000 take more than 4.5 s and the broker goes away while
 * most of them are still to do.
 */
const MAX_IN_FLIGHT = 50;
const API_MIN_DELAY_MS = 80;
const API_MAX_DELAY_MS = 100;
const COMMIT_INTERVAL_MS = 200;
const MISSING_EVERY = 300;

let bootstrap: string;

interface OutageRun {
  service: Service;
  total: number;
  committedBefore: number;
  committedWhenBack: number;
  backAt: number;
  downForMs: number;
  books: ReturnType<typeof account>;
  outputs: Awaited<ReturnType<typeof readOutputs>>;
}

/** One service over EVENTS inputs; `outage` takes the broker away once 300 inputs are committed. */
async function runThroughOutage(
  t: TestContext,
  name: string,
  sessionTimeoutMs: number,
  outage: () => Promise<void>,
): Promise<OutageRun> {
  const topics = await createE2eTopics(bootstrap, name, { input: 4 });
  const group = uniqueName(`e2e-${name}`);
  const offsets = await groupOffsets(t, bootstrap, group);
  const api = await startApi(t, { fallback: randomLatency(seeded(17), API_MIN_DELAY_MS, API_MAX_DELAY_MS) });
  const inputs = pageChanges(EVENTS, { pages: 100, seed: 21 });
  const missing = new Set(
    inputs.filter((_, i) => i % MISSING_EVERY === MISSING_EVERY - 1).map((i) => i.revId),
  );
  addRevisions(api, inputs, { missing });
  await produceInputs(bootstrap, topics.input, inputs);
  const ends = endOffsets([...(await readInputs(bootstrap, topics.input, inputs)).values()], topics.input);
  const total = [...ends.values()].reduce((a, b) => a + b, 0);

  const dir = await tempDir(t, `kafka-e2e-${name}-`);
  const config = await writeConfig(
    dir,
    'service.json',
    serviceConfig({
      bootstrap,
      topics,
      group,
      endpoint: api.url,
      maxBufferedRecords: 200,
      sourceProperties: { 'session.timeout.ms': String(sessionTimeoutMs) },
      runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
    }),
  );
  const service = startService(t, config, name);
  let committedBefore = 0;
  await waitUntil('the first commits', async () => (committedBefore = await offsets.total(ends)) >= 300, {
    timeoutMs: 60_000,
    intervalMs: 100,
    services: [service],
  });
  const down = Date.now();
  await outage();
  const backAt = Date.now();
  assert.equal(
    service.child.exitCode,
    null,
    `the service is still running when the broker is back:\n${service.stderr().slice(-3000)}`,
  );
  // Read for the report only: right after a restart this read may wait for the group coordinator
  // longer than the service needs to finish (outputs made after the restart are checked below).
  const committedWhenBack = await offsets.total(ends);

  await waitUntil('the committed offsets to reach the end of the input', () => offsets.reached(ends), {
    timeoutMs: 90_000,
    intervalMs: 500,
    services: [service],
  });
  assert.deepEqual(await service.stop(), { code: 0, signal: null }, service.stderr().slice(-3000));
  assert.equal(summaryCounts(service.stderr())?.unfinished, 0);

  const outputs = await readOutputs(bootstrap, topics.output);
  const errors = await readErrors(bootstrap, topics.errors);
  const books = account(inputs, outputs, errors);
  assert.deepEqual(books.lost, [], 'every input has an outcome');
  assert.deepEqual(books.unknown, []);
  assert.deepEqual(
    new Set(errors.map((e) => e.id)),
    new Set(inputs.filter((i) => missing.has(i.revId)).map((i) => i.id)),
  );
  for (const o of outputs) {
    const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
    assert.equal(revision.content_slots.main.content_body, contentOf(revision.rev_id));
  }
  assert.ok(
    outputs.some((o) => Date.parse(String((o.event.meta as Json).dt)) > backAt),
    'outputs were made after the broker came back',
  );
  return {
    service,
    total,
    committedBefore,
    committedWhenBack,
    backAt,
    downForMs: backAt - down,
    books,
    outputs,
  };
}

function revocations(service: Service): { lost: boolean; partitions: string[] }[] {
  return service
    .logs()
    .filter((l) => l.message === 'kafka partitions revoked')
    .map((l) => ({ lost: l.lost === true, partitions: l.partitions as string[] }));
}

describe('kafka-e2e-broker-restart: the broker goes away during a run', { timeout: 600_000 }, () => {
  before(async () => {
    [bootstrap] = await Promise.all([ensureKafka(), ensureBuilt()]);
  });

  // `todo` while a product problem is open (failures are reported, not counted): in about one
  // run in six the consumer's group-coordinator connection does not come back after the restart
  // (librdkafka logs "GroupCoordinator: Timed out 0 in-flight, 0 retry-queued, 1 out-queue" every
  // minute), commits time out, the pipeline fails, and then the process does not exit.
  it(
    'a restart within the session timeout: the service keeps going, every input read once, none lost or repeated',
    {
      todo: 'consumer may not reconnect to the group coordinator after a broker restart, and then hangs on shutdown',
    },
    async (t) => {
      const started = Date.now();
      const run = await runThroughOutage(t, 'restart', 30_000, () => restartKafka());
      assert.deepEqual(
        revocations(run.service).filter((r) => r.lost),
        [],
        'the group kept the member through the restart',
      );
      assert.equal(summaryCounts(run.service.stderr())?.records, run.total, 'every input was read once');
      assert.equal(run.books.duplicates, 0, 'nothing was written twice');
      assertPerPageOrder(run.outputs);
      console.log(
        `kafka-e2e-broker-restart (restart): ${run.total} inputs, 0 duplicates; committed ${run.committedBefore} before the restart ` +
          `(${(run.downForMs / 1000).toFixed(1)} s), ${run.committedWhenBack} when it was back; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    },
  );

  it('an outage longer than the session timeout: partitions lost, rejoined, read again from the last commit; none lost', async (t) => {
    const started = Date.now();
    const sessionTimeoutMs = 6_000;
    const run = await runThroughOutage(t, 'outage', sessionTimeoutMs, () =>
      brokerOutage(sessionTimeoutMs + 3_000),
    );
    const revoked = revocations(run.service);
    assert.ok(
      revoked.some((r) => r.lost && r.partitions.length === 4),
      `the source reported its partitions lost: ${JSON.stringify(revoked)}`,
    );
    const records = summaryCounts(run.service.stderr())?.records ?? 0;
    // Repeats come from what was not committed when the session ended: at most the window plus one
    // commit interval's worth of finished records (the crash test derives the same bound), and
    // nothing more while the broker was away, since sends could not be acknowledged.
    const bound =
      MAX_IN_FLIGHT * (1 + Math.ceil((API_MAX_DELAY_MS + 5 + COMMIT_INTERVAL_MS + 150) / API_MIN_DELAY_MS));
    console.log(
      `kafka-e2e-broker-restart (outage): ${run.total} inputs, ${records} records read, ${run.books.duplicates} duplicates (bound ${bound}); ` +
        `committed ${run.committedBefore} before the outage (${(run.downForMs / 1000).toFixed(1)} s), ${run.committedWhenBack} when it was back; ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(run.books.duplicates <= bound, `${run.books.duplicates} duplicates, over ${bound}`);
    assertFirstDeliveriesInPageOrder(run.outputs);
  });

  it('EXACTLY_ONCE, an outage longer than the session timeout: the process stops (exit 1), a restart finishes; none lost or repeated', async (t) => {
    const started = Date.now();
    const sessionTimeoutMs = 6_000;
    const topics = await createE2eTopics(bootstrap, 'eos-outage', { input: 4 });
    const group = uniqueName('e2e-eos-outage');
    const offsets = await groupOffsets(t, bootstrap, group);
    const api = await startApi(t, {
      fallback: randomLatency(seeded(23), API_MIN_DELAY_MS, API_MAX_DELAY_MS),
    });
    const inputs = pageChanges(EVENTS, { pages: 100, seed: 22 });
    addRevisions(api, inputs);
    await produceInputs(bootstrap, topics.input, inputs);
    const ends = endOffsets([...(await readInputs(bootstrap, topics.input, inputs)).values()], topics.input);
    const total = [...ends.values()].reduce((a, b) => a + b, 0);
    const dir = await tempDir(t, 'kafka-e2e-eos-outage-');
    const config = await writeConfig(
      dir,
      'service.json',
      serviceConfig({
        bootstrap,
        topics,
        group,
        endpoint: api.url,
        deliveryGuarantee: 'EXACTLY_ONCE',
        instanceId: 'e2e-eos-outage-0',
        maxBufferedRecords: 200,
        sourceProperties: { 'session.timeout.ms': String(sessionTimeoutMs) },
        runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
      }),
    );
    const first = startService(t, config, 'first run');
    await waitUntil('the first transactions', async () => (await offsets.total(ends)) >= 300, {
      timeoutMs: 60_000,
      intervalMs: 100,
      services: [first],
    });
    await brokerOutage(sessionTimeoutMs + 3_000);
    // The open transaction may hold outputs of the lost partitions, which their next owner writes
    // again: it is aborted and the process stops, to be restarted (as a supervisor would).
    assert.deepEqual(
      await waitForExit(first, 120_000),
      { code: 1, signal: null },
      first.stderr().slice(-3000),
    );
    // The reason varies with timing: librdkafka's session timeout (partitions reported lost), the
    // broker refusing the transaction's offsets (Unknown member), or the aborted transaction's
    // records failing; each is logged, and the run stops without committing past it.
    const failures = first
      .logs()
      .filter((l) => l.message === 'pipeline failure; stopping without committing past it');
    assert.equal(failures.length, 1, `the first run logs why it stopped:\n${first.stderr().slice(-3000)}`);
    const reason = String(((failures[0]!.error ?? {}) as Json).message ?? '');
    const committedAtFailure = await offsets.total(ends);
    assert.ok(committedAtFailure < total, `work was left (committed ${committedAtFailure} of ${total})`);

    const second = startService(t, config, 'second run');
    await waitUntil('the second run to commit the whole input', () => offsets.reached(ends), {
      timeoutMs: 180_000,
      intervalMs: 500,
      services: [second],
    });
    assert.deepEqual(await second.stop(), { code: 0, signal: null }, second.stderr().slice(-3000));
    const outputs = await readOutputs(bootstrap, topics.output, 'read_committed');
    const errors = await readErrors(bootstrap, topics.errors, 'read_committed');
    assert.deepEqual(
      account(inputs, outputs, errors),
      { lost: [], duplicates: 0, duplicatedInputs: 0, unknown: [] },
      'read_committed: exactly one outcome per input',
    );
    assertPerPageOrder(outputs);
    console.log(
      `kafka-e2e-broker-restart (exactly-once outage): ${total} inputs; first run exit 1 with ${committedAtFailure} committed (${reason.slice(0, 120)}); ` +
        `second run finished; read_committed: 0 lost, 0 duplicates; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
