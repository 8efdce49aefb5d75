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
import { describe, it, type TestContext } from 'node:test';
import { parseSummaryLine, waitForExit, type CliRun } from '../helpers/cli.js';
import { brokerOutage, restartKafka } from '../helpers/kafka.js';
import { e2eRun, PACED_API, type ServiceConfigOptions } from '../helpers/kafka-e2e.js';
import {
  assertContents,
  assertFirstDeliveriesInPageOrder,
  assertMissingRevisionErrors,
  assertNoneLost,
  assertPerPageOrder,
  EXACTLY_ONE_EACH,
  type Accounting,
  type OutcomeRecord,
} from '../helpers/kafka-e2e-books.js';
import { addRevisions, everyNth, pageChanges, type Json } from '../helpers/kafka-e2e-inputs.js';
import { waitUntil } from '../helpers/wait.js';

const EVENTS = 3_000;
/**
 * At most MAX_IN_FLIGHT records per PACED_API.minMs (each holds its window slot until its API
 * answer): under 650 records/s, so the 3,000 take more than 4.5 s and the broker goes away while
 * most of them are still to do.
 */
const MAX_IN_FLIGHT = 50;
const COMMIT_INTERVAL_MS = 200;
const MISSING_EVERY = 300;

interface OutageRun {
  service: CliRun;
  total: number;
  committedBefore: number;
  committedWhenBack: number;
  backAt: number;
  downForMs: number;
  books: Accounting;
  outputs: OutcomeRecord[];
}

/** The run's inputs and the test API serving them, a delivery guarantee and a session timeout. */
async function outageSetup(
  t: TestContext,
  name: string,
  o: { apiSeed: number; inputSeed: number; missingEvery?: number; config: Partial<ServiceConfigOptions> },
) {
  const run = await e2eRun(t, name, {
    partitions: { input: 4 },
    api: { seed: o.apiSeed, ...PACED_API },
  });
  const inputs = pageChanges(EVENTS, { pages: 100, seed: o.inputSeed });
  const missing = o.missingEvery ? everyNth(inputs, o.missingEvery) : new Set<number>();
  addRevisions(run.api, inputs, { missing });
  const { ends, total } = await run.produce(inputs);
  const config = await run.config({
    maxBufferedRecords: 200,
    runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
    ...o.config,
  });
  return { run, inputs, missing, ends, total, config };
}

/** One service over EVENTS inputs; `outage` takes the broker away once 300 inputs are committed. */
async function runThroughOutage(
  t: TestContext,
  name: string,
  sessionTimeoutMs: number,
  outage: () => Promise<void>,
): Promise<OutageRun> {
  const { run, inputs, missing, ends, total, config } = await outageSetup(t, name, {
    apiSeed: 17,
    inputSeed: 21,
    missingEvery: MISSING_EVERY,
    config: { sourceProperties: { 'session.timeout.ms': String(sessionTimeoutMs) } },
  });
  const { offsets } = run;
  const service = run.start(config, name);
  let committedBefore = 0;
  await waitUntil('the first commits', async () => (committedBefore = await offsets.total(ends)) >= 300, {
    timeoutMs: 60_000,
    intervalMs: 100,
    watch: [service],
  });
  const down = Date.now();
  await outage();
  const backAt = Date.now();
  assert.ok(service.running(), `the service is still running when the broker is back:\n${service.report()}`);
  // Read for the report only: right after a restart this read may wait for the group coordinator
  // longer than the service needs to finish (outputs made after the restart are checked below).
  const committedWhenBack = await offsets.total(ends);

  await run.finish(service, ends, 90_000);
  assert.equal(parseSummaryLine(service.stderr())?.counts.unfinished, 0);

  const { outputs, errors, books } = await run.books(inputs);
  assertNoneLost(books);
  assertMissingRevisionErrors(errors, inputs, missing);
  assertContents(outputs);
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

function revocations(service: CliRun): { lost: boolean; partitions: string[] }[] {
  return service
    .logs()
    .filter((l) => l.message === 'kafka partitions revoked')
    .map((l) => ({ lost: l.lost === true, partitions: l.partitions as string[] }));
}

describe('kafka-e2e-broker-restart: the broker goes away during a run', { timeout: 600_000 }, () => {
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
      assert.equal(
        parseSummaryLine(run.service.stderr())?.counts.records,
        run.total,
        'every input was read once',
      );
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
    const records = parseSummaryLine(run.service.stderr())?.counts.records ?? 0;
    // Repeats come from what was not committed when the session ended: at most the window plus one
    // commit interval's worth of finished records (the crash test derives the same bound), and
    // nothing more while the broker was away, since sends could not be acknowledged.
    const bound =
      MAX_IN_FLIGHT * (1 + Math.ceil((PACED_API.maxMs + 5 + COMMIT_INTERVAL_MS + 150) / PACED_API.minMs));
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
    const { run, inputs, ends, total, config } = await outageSetup(t, 'eos-outage', {
      apiSeed: 23,
      inputSeed: 22,
      config: {
        deliveryGuarantee: 'EXACTLY_ONCE',
        instanceId: 'e2e-eos-outage-0',
        sourceProperties: { 'session.timeout.ms': String(sessionTimeoutMs) },
      },
    });
    const first = run.start(config, 'first run');
    await waitUntil('the first transactions', async () => (await run.offsets.total(ends)) >= 300, {
      timeoutMs: 60_000,
      intervalMs: 100,
      watch: [first],
    });
    await brokerOutage(sessionTimeoutMs + 3_000);
    // The open transaction may hold outputs of the lost partitions, which their next owner writes
    // again: it is aborted and the process stops, to be restarted (as a supervisor would).
    assert.deepEqual(await waitForExit(first, 120_000), { code: 1, signal: null }, first.report());
    // The reason varies with timing: librdkafka's session timeout (partitions reported lost), the
    // broker refusing the transaction's offsets (Unknown member), or the aborted transaction's
    // records failing; each is logged, and the run stops without committing past it.
    const failures = first
      .logs()
      .filter((l) => l.message === 'pipeline failure; stopping without committing past it');
    assert.equal(failures.length, 1, `the first run logs why it stopped:\n${first.stderr().slice(-3000)}`);
    const reason = String(((failures[0]!.error ?? {}) as Json).message ?? '');
    const committedAtFailure = await run.offsets.total(ends);
    assert.ok(committedAtFailure < total, `work was left (committed ${committedAtFailure} of ${total})`);

    const second = run.start(config, 'second run');
    await run.finish(second, ends, 180_000, 'the second run to commit the whole input');
    const { outputs, books } = await run.books(inputs, 'read_committed');
    assert.deepEqual(books, EXACTLY_ONE_EACH, 'read_committed: exactly one outcome per input');
    assertPerPageOrder(outputs);
    console.log(
      `kafka-e2e-broker-restart (exactly-once outage): ${total} inputs; first run exit 1 with ${committedAtFailure} committed (${reason.slice(0, 120)}); ` +
        `second run finished; read_committed: 0 lost, 0 duplicates; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
