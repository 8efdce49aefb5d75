/**
 * Scaling out with a consumer group: two service processes in one group share a 6-partition topic.
 * One is SIGKILLed in the middle of the run; when its session expires the group gives its
 * partitions to the other, which reads them from the dead member's last committed offsets (not
 * earlier, not later) and finishes. Zero lost; the repeats are counted and reported.
 *
 * Which process fetched which revision is told by the User-Agent each one sends to the API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { assignedPartitions, e2eRun, PACED_API, USER_AGENT } from '../helpers/kafka-e2e.js';
import {
  assertContents,
  assertFirstDeliveriesInPageOrder,
  assertNoneLost,
} from '../helpers/kafka-e2e-books.js';
import { addRevisions, pageChanges } from '../helpers/kafka-e2e-inputs.js';
import { between, seeded } from '../helpers/random.js';
import { waitUntil } from '../helpers/wait.js';

const EVENTS = 6_000;
const PARTITIONS = 6;
/** Each process finishes at most MAX_IN_FLIGHT records per PACED_API.minMs: under 650/s each. */
const MAX_IN_FLIGHT = 50;
const COMMIT_INTERVAL_MS = 200;

describe('kafka-e2e-group: two processes in one consumer group, one killed', { timeout: 600_000 }, () => {
  it('the survivor takes over the dead member’s partitions from its committed offsets; zero lost', async (t) => {
    const started = Date.now();
    const random = seeded(5150);
    const run = await e2eRun(t, 'group', {
      partitions: { input: PARTITIONS },
      api: { seed: 6, ...PACED_API },
    });
    const { topics, offsets, api } = run;
    const inputs = pageChanges(EVENTS, { pages: 300, seed: 9 });
    addRevisions(api, inputs);

    const member = async (name: string) =>
      run.start(
        await run.config(
          {
            // Two processes on one host: the host-name default would give both one group.instance.id.
            instanceId: name,
            maxBufferedRecords: 200,
            enrich: { user_agent: `${USER_AGENT} ${name}` },
            runtime: { max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: COMMIT_INTERVAL_MS },
          },
          `${name}.json`,
        ),
        name.replace('-', ' '),
      );
    const a = await member('member-a');
    const b = await member('member-b');
    const all = Array.from({ length: PARTITIONS }, (_, p) => `${topics.input}/${p}`);
    // The split settles before any input exists, so both members work from the first record.
    await waitUntil(
      'the two members to split the partitions',
      () => {
        const held = [...assignedPartitions(a), ...assignedPartitions(b)];
        return (
          assignedPartitions(a).size > 0 &&
          assignedPartitions(b).size > 0 &&
          held.length === PARTITIONS &&
          new Set(held).size === PARTITIONS
        );
      },
      { timeoutMs: 60_000, intervalMs: 100, watch: [a, b] },
    );
    const ofA = [...assignedPartitions(a)].sort();
    const ofB = [...assignedPartitions(b)].sort();

    const { placed, ends } = await run.produce(inputs);
    assert.deepEqual([...ends.keys()].sort(), all, 'inputs on every partition');
    const endsOfA = new Map(ofA.map((p) => [p, ends.get(p)!]));

    await waitUntil(
      'member a to commit some of its partitions',
      async () => (await offsets.total(endsOfA)) >= 300,
      { timeoutMs: 60_000, intervalMs: 100, watch: [a, b] },
    );
    await sleep(between(random, 500, 1500));
    assert.equal((await a.kill()).signal, 'SIGKILL');
    const killedAt = performance.now();
    // A commit a sent just before it died may still be on its way; b gets the partitions only
    // when a's session expires (6 s), so this reads a's last word.
    await sleep(1000);
    const committedByA = await offsets.read(endsOfA);
    const leftOfA = ofA.filter((p) => (committedByA.get(p) ?? 0) < ends.get(p)!);
    assert.ok(
      leftOfA.length > 0,
      `member a was killed with work left (committed ${JSON.stringify([...committedByA])})`,
    );

    await waitUntil('member b to commit the whole input', () => offsets.reached(ends), {
      timeoutMs: 180_000,
      intervalMs: 500,
      watch: [b],
    });
    assert.deepEqual([...assignedPartitions(b)].sort(), all, 'member b holds every partition');
    assert.deepEqual(await b.stop(), { code: 0, signal: null }, b.report());

    const { outputs, errors, books } = await run.books(inputs);
    assertNoneLost(books);
    assert.deepEqual(errors, []);
    assertContents(outputs);
    assertFirstDeliveriesInPageOrder(outputs);

    // Where b started on each partition it took over: the lowest offset among the revisions it
    // asked the API for, after the kill. It must be exactly the offset a had committed.
    const byRev = new Map([...placed.values()].map((r) => [r.input.revId, r]));
    const fetchedByB = api.requests
      .filter((r) => String(r.headers['user-agent']).endsWith(' member-b') && r.receivedAt > killedAt)
      .flatMap((r) => r.revIds);
    for (const p of leftOfA) {
      const offsetsFetched = fetchedByB
        .map((rev) => byRev.get(rev)!)
        .filter((r) => `${topics.input}/${r.partition}` === p)
        .map((r) => r.offset);
      assert.equal(
        Math.min(...offsetsFetched),
        committedByA.get(p) ?? 0,
        `member b started ${p} at a's committed offset`,
      );
    }
    // And a never fetched past what it had read; its repeats are the difference.
    const fetchedByA = new Set(
      api.requests
        .filter((r) => String(r.headers['user-agent']).endsWith(' member-a'))
        .flatMap((r) => r.revIds),
    );
    const repeatedFromA = [...fetchedByA].filter((rev) => {
      const at = byRev.get(rev)!;
      const p = `${topics.input}/${at.partition}`;
      return leftOfA.includes(p) && at.offset >= (committedByA.get(p) ?? 0);
    }).length;
    console.log(
      `kafka-e2e-group: ${inputs.length} inputs over ${PARTITIONS} partitions, members a ${JSON.stringify(ofA.map((p) => p.split('/')[1]))} ` +
        `b ${JSON.stringify(ofB.map((p) => p.split('/')[1]))}; a killed with ${leftOfA.length} partitions unfinished; ${outputs.length} outputs, ` +
        `${books.duplicates} duplicates (${repeatedFromA} of a's fetched revisions were past its commit); ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.ok(books.duplicates <= repeatedFromA, 'only what a fetched past its last commit is repeated');
  });
});
