/**
 * Static group membership (`instance_id` → `group.instance.id`) with librdkafka's default session
 * settings (session.timeout.ms 45 s, heartbeat 3 s; the other e2e tests shorten them to 6 s):
 *
 * - SIGKILL, restart at once with the same instance_id: the restarted process takes its partitions
 *   back without waiting for the dead one's session to expire. The time from each restart to the
 *   first output it wrote is measured, printed, and must stay well under the 45 s session (without
 *   static membership it is about 44 s every time); zero lost.
 * - Two processes given the same instance_id: the broker fences the older one, which logs the
 *   instance id and exits 1; the newer one finishes the input; zero lost.
 * - SIGTERM of one of two members: it leaves the group, so the other gets its partitions without
 *   waiting for the session to expire (a scaled-down instance); the hand-over is printed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForExit, waitForLog } from '../helpers/cli.js';
import { assignedPartitions, e2eRun, PACED_API, serviceConfig, type E2eRun } from '../helpers/kafka-e2e.js';
import { assertContents, assertNoneLost } from '../helpers/kafka-e2e-books.js';
import { addRevisions, pageChanges, type Json } from '../helpers/kafka-e2e-inputs.js';
import { between, seeded } from '../helpers/random.js';
import { waitUntil } from '../helpers/wait.js';

const PARTITIONS = 4;
const KILLS = 3;
/** librdkafka's session.timeout.ms; a restart that waited for it would take about this long. */
const DEFAULT_SESSION_MS = 45_000;
/** Generous for a loaded machine (process start, join, first API answer), and far below the session. */
const RESTART_TO_OUTPUT_BOUND_MS = 15_000;

/** The run's service config with librdkafka's own session and heartbeat settings. */
async function defaultSessionConfig(run: E2eRun, instanceId: string, file: string): Promise<string> {
  const document = serviceConfig({
    bootstrap: run.bootstrap,
    topics: run.topics,
    group: run.group,
    endpoint: run.api.url,
    instanceId,
    maxBufferedRecords: 200,
    runtime: { max_in_flight: 30, commit_interval_ms: 200 },
  });
  const source = ((document.stream_manager as Json).source as Json).options as Json;
  source.properties = {};
  return run.write(file, document);
}

/** Processing time of an output (its meta.dt), ms since the epoch. */
const writtenAt = (event: Json) => Date.parse(String((event.meta as Json).dt));

describe('kafka-e2e-static-membership: default session settings', { timeout: 600_000 }, () => {
  it(`SIGKILL and restart with the same instance_id, ${KILLS} times: output resumes in seconds; zero lost`, async (t) => {
    const random = seeded(4242);
    const run = await e2eRun(t, 'static', {
      partitions: { input: PARTITIONS },
      api: { seed: 8, ...PACED_API },
    });
    const inputs = pageChanges(4_000, { pages: 400, seed: 12 });
    addRevisions(run.api, inputs);
    const { ends, total } = await run.produce(inputs);
    const config = await defaultSessionConfig(run, 'e2e-static-0', 'service.json');

    const runs: { from: number; to: number }[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const from = Date.now();
      const service = run.start(config, `run ${k}`);
      await waitForLog(service, 'kafka partitions assigned', 2 * DEFAULT_SESSION_MS);
      await sleep(between(random, 1500, 2500));
      assert.equal((await service.kill()).signal, 'SIGKILL', service.report());
      runs.push({ from, to: Date.now() });
    }
    assert.ok((await run.offsets.total(ends)) < total, 'the last kill left work to do');
    const from = Date.now();
    await run.finish(
      run.start(config, 'final run'),
      ends,
      240_000,
      'the final run to commit the whole input',
    );
    runs.push({ from, to: Date.now() });

    const { outputs, errors, books } = await run.books(inputs);
    assertNoneLost(books);
    assert.deepEqual(errors, []);
    assertContents(outputs);
    // Each restart (every run after the first was started right after a SIGKILL) to the first output it wrote.
    const restartToOutput = runs.slice(1).map(({ from, to }) => {
      const first = Math.min(
        ...outputs.map((o) => writtenAt(o.event)).filter((at) => at >= from && at <= to),
      );
      return first - from;
    });
    console.log(
      `kafka-e2e-static-membership: restart to first output ${restartToOutput.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} ` +
        `(session.timeout.ms ${DEFAULT_SESSION_MS / 1000} s); ${inputs.length} inputs, ${outputs.length} outputs, ${books.duplicates} duplicates`,
    );
    for (const [i, ms] of restartToOutput.entries()) {
      assert.ok(Number.isFinite(ms), `restart ${i + 1} wrote outputs`);
      assert.ok(ms < RESTART_TO_OUTPUT_BOUND_MS, `restart ${i + 1}: first output after ${ms} ms`);
    }
  });

  it('two processes with the same instance_id: they fence each other until the older one stops, says why and exits 1; the newer one finishes', async (t) => {
    const run = await e2eRun(t, 'static-dup', {
      partitions: { input: PARTITIONS },
      api: { seed: 9, ...PACED_API },
    });
    const inputs = pageChanges(2_000, { pages: 200, seed: 13 });
    addRevisions(run.api, inputs);
    const { ends } = await run.produce(inputs);
    const config = await defaultSessionConfig(run, 'e2e-dup-0', 'service.json');

    const older = run.start(config, 'older');
    await waitForLog(older, 'kafka partitions assigned', 60_000);
    const newer = run.start(config, 'newer');
    // Each fence replaces the fenced client, which fences the other process in turn; the older one
    // reaches the limit first (its fourth fence) and stops.
    const exit = await waitForExit(older, 180_000, 'after being fenced again and again').catch(
      (err: unknown) => {
        const fenceLines = (run: typeof older) =>
          run
            .logs()
            .slice(-40)
            .map((l) => `${String(l['@timestamp'])} ${JSON.stringify(l).slice(0, 400)}`)
            .join('\n');
        throw new Error(
          `${(err as Error).message}\nolder:\n${fenceLines(older)}\nnewer:\n${fenceLines(newer)}`,
        );
      },
    );
    assert.deepEqual(exit, { code: 1, signal: null }, older.report());
    const replaced = older
      .logs()
      .filter((l) => String(l.message).startsWith('kafka consumer fenced; replacing it'));
    assert.equal(replaced.length, 3, `three replacements before giving up:\n${older.report()}`);
    const fenced = older
      .logs()
      .find(
        (l) => l['log.level'] === 'error' && String(l.message).startsWith('kafka consumer fenced 4 times'),
      );
    assert.ok(fenced, `the fenced process says why:\n${older.report()}`);
    assert.match(String(fenced.message), /another instance runs .* instance_id "e2e-dup-0"/);

    await run.finish(newer, ends, 240_000, 'the newer process to commit the whole input');
    const { outputs, books } = await run.books(inputs);
    assertNoneLost(books);
    assertContents(outputs);
  });

  it('SIGTERM of one of two members hands its partitions over without waiting for the session', async (t) => {
    const run = await e2eRun(t, 'static-leave', {
      partitions: { input: PARTITIONS },
      api: { seed: 10, ...PACED_API },
    });
    const inputs = pageChanges(1_000, { pages: 100, seed: 14 });
    addRevisions(run.api, inputs);
    const a = run.start(await defaultSessionConfig(run, 'e2e-leave-a', 'a.json'), 'member a');
    const b = run.start(await defaultSessionConfig(run, 'e2e-leave-b', 'b.json'), 'member b');
    await waitUntil(
      'the two members to split the partitions',
      () =>
        assignedPartitions(a).size > 0 &&
        assignedPartitions(a).size + assignedPartitions(b).size === PARTITIONS,
      { timeoutMs: 60_000, intervalMs: 100, watch: [a, b] },
    );
    const { ends } = await run.produce(inputs);
    const stoppedAt = Date.now();
    assert.deepEqual(await a.stop(), { code: 0, signal: null }, a.report());
    await waitUntil('member b to hold every partition', () => assignedPartitions(b).size === PARTITIONS, {
      timeoutMs: 2 * DEFAULT_SESSION_MS,
      intervalMs: 50,
      watch: [b],
    });
    const handOverMs = Date.now() - stoppedAt;
    await run.finish(b, ends, 240_000);
    const { books } = await run.books(inputs);
    assertNoneLost(books);
    console.log(
      `kafka-e2e-static-membership: SIGTERM to the other member holding every partition ${(handOverMs / 1000).toFixed(1)} s ` +
        `(session.timeout.ms ${DEFAULT_SESSION_MS / 1000} s)`,
    );
  });
});
