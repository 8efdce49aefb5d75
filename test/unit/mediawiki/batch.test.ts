import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { EnrichmentError } from '../../../src/core/errors.js';
import { recordingMetrics } from '../../../src/core/metrics.js';
import { RevisionBatcher, type BatchRunner } from '../../../src/mediawiki/batch.js';
import { resolveWikiTarget } from '../../../src/mediawiki/endpoint.js';
import { FetcherClosedError, httpStatusError } from '../../../src/mediawiki/errors.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/mediawiki/retry-policy.js';
import type { RevisionResult } from '../../../src/mediawiki/revisions.js';
import type { RevisionContent } from '../../../src/mediawiki/types.js';

const en = resolveWikiTarget('http://localhost:6500/w/api.php', 'en.wikipedia.org', {});
const de = resolveWikiTarget('http://localhost:6500/w/api.php', 'de.wikipedia.org', {});
const retry = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 0, maxDelayMs: 0, jitter: 0, maxRetries: 2 };

function revision(revId: number): RevisionContent {
  return { revId, slots: { main: { role: 'main', content: `text ${revId}`, textHidden: false } } };
}

/** A runner that records its calls and answers by `answer(domain, revId, call number)`. */
function recordingRunner(
  answer: (domain: string, revId: number, call: number) => RevisionResult = (_d, id) => ({
    ok: true,
    revision: revision(id),
  }),
) {
  const calls: { domain: string; revIds: number[] }[] = [];
  const run: BatchRunner = async (target, revIds) => {
    calls.push({ domain: target.domain, revIds: [...revIds] });
    return new Map(revIds.map((id) => [id, answer(target.domain, id, calls.length)]));
  };
  return { run, calls };
}

function batcher(
  run: BatchRunner,
  options: { batchSize: number; lingerMs: number; maxConcurrentRequests?: number },
) {
  const metrics = recordingMetrics();
  const b = new RevisionBatcher({ ...options, retry }, run, { metrics, now: Date.now, random: () => 0.5 });
  return { b, metrics };
}

describe('RevisionBatcher', () => {
  it('sends a batch when it is full, and the rest after the linger', async (t) => {
    const { run, calls } = recordingRunner();
    const { b } = batcher(run, { batchSize: 3, lingerMs: 5 });
    t.after(() => b.close());
    const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((id) => b.submit(en, id, Date.now())));
    assert.deepEqual(
      results.map((r) => r.revId),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      calls.map((c) => c.revIds),
      [[1, 2, 3], [4, 5, 6], [7]],
    );
  });

  it('while every request slot is busy, a ready batch keeps taking ids until a slot frees or it is full', async (t) => {
    const calls: number[][] = [];
    const gates: Array<() => void> = [];
    const run: BatchRunner = async (_target, revIds) => {
      calls.push([...revIds]);
      await new Promise<void>((open) => gates.push(open));
      return new Map(revIds.map((id) => [id, { ok: true, revision: revision(id) } as RevisionResult]));
    };
    const { b, metrics } = batcher(run, { batchSize: 4, lingerMs: 1, maxConcurrentRequests: 1 });
    t.after(() => b.close());
    const first = b.submit(en, 1, 0);
    while (calls.length < 1) await sleep(2);
    // The only slot is taken: ids arriving one linger apart wait together instead of each becoming
    // a request of its own; the fifth starts another batch, the first one being full.
    const later: Promise<RevisionContent>[] = [];
    for (const id of [2, 3, 4, 5, 6]) {
      later.push(b.submit(en, id, 0));
      await sleep(5);
    }
    const other = b.submit(de, 7, 0);
    await sleep(5);
    assert.deepEqual(calls, [[1]], 'nothing else sent while the slot is busy');
    assert.equal(b.pending, 6);
    gates.shift()!();
    await first;
    while (calls.length < 2) await sleep(2);
    assert.deepEqual(calls[1], [2, 3, 4, 5], 'the oldest ready batch, filled while it waited');
    gates.shift()!();
    while (calls.length < 3) await sleep(2);
    gates.shift()!();
    while (calls.length < 4) await sleep(2);
    gates.shift()!();
    await Promise.all([...later, other]);
    assert.deepEqual(calls.slice(2), [[6], [7]], 'then the others in the order they became ready');
    assert.deepEqual(metrics.observations.get('mediawiki_batch_revisions'), [1, 4, 1, 1]);
  });

  /** A runner whose requests wait until the test opens them, one gate each, in order. */
  function gatedRunner() {
    const gates: Array<() => void> = [];
    const run: BatchRunner = async (_target, revIds) => {
      await new Promise<void>((open) => gates.push(open));
      return new Map(revIds.map((id) => [id, { ok: true, revision: revision(id) } as RevisionResult]));
    };
    const openNext = async () => {
      while (gates.length < 1) await sleep(1);
      gates.shift()!();
    };
    return { run, openNext };
  }

  it('is saturated while every slot is busy and the batch next in line is full, and says when that ends', async (t) => {
    const { run, openNext } = gatedRunner();
    const { b } = batcher(run, { batchSize: 2, lingerMs: 1000, maxConcurrentRequests: 1 });
    t.after(() => b.close());
    const fetches = [b.submit(en, 1, 0), b.submit(en, 2, 0)];
    await sleep(5);
    assert.equal(b.whenUnsaturated(), undefined, 'the slot is busy, but nothing waits for it');
    fetches.push(b.submit(en, 3, 0), b.submit(en, 3, 0));
    assert.equal(b.whenUnsaturated(), undefined, 'a repeated id is one id: the batch is not full');
    fetches.push(b.submit(de, 4, 0));
    fetches.push(b.submit(en, 5, 0));
    const saturated = b.whenUnsaturated();
    assert.ok(saturated, 'a full batch waits for the only slot');
    assert.equal(b.whenUnsaturated(), saturated, 'one promise for every caller');
    let woken = false;
    void saturated.then(() => (woken = true));
    await sleep(5);
    assert.equal(woken, false);
    await openNext();
    await saturated;
    assert.equal(
      b.whenUnsaturated(),
      undefined,
      'the full batch took the slot; the one lingering is not ready',
    );
    await openNext();
    b.close();
    const settled = await Promise.allSettled(fetches);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('is not saturated while the batch next in line can still grow, though later ones are full', async (t) => {
    const { run, openNext } = gatedRunner();
    const { b } = batcher(run, { batchSize: 3, lingerMs: 1, maxConcurrentRequests: 1 });
    t.after(() => b.close());
    const fetches = [1, 2, 3, 4].map((id) => b.submit(en, id, 0));
    await sleep(10); // 4's linger is over: its batch is next in line, with one id
    fetches.push(...[11, 12, 13].map((id) => b.submit(de, id, 0)));
    assert.equal(b.whenUnsaturated(), undefined, 'the full batch of de is behind the one of en');
    fetches.push(b.submit(en, 5, 0));
    assert.equal(b.whenUnsaturated(), undefined);
    fetches.push(b.submit(en, 6, 0));
    const saturated = b.whenUnsaturated();
    assert.ok(saturated, 'the batch next in line filled up while it waited');
    await openNext();
    await sleep(5);
    assert.equal(b.whenUnsaturated(), saturated, 'the full batch of de is next in line now');
    await openNext();
    await saturated;
    assert.equal(b.whenUnsaturated(), undefined, 'nothing waits for the slot');
    await openNext();
    assert.deepEqual(
      (await Promise.all(fetches)).map((r) => r.revId),
      [1, 2, 3, 4, 11, 12, 13, 5, 6],
    );
  });

  it('is never saturated without a bound on request slots, nor after close', async (t) => {
    const run: BatchRunner = () => new Promise(() => {});
    const { b } = batcher(run, { batchSize: 1, lingerMs: 1000 });
    t.after(() => b.close());
    const fetches = [1, 2, 3, 4].map((id) => b.submit(en, id, 0));
    assert.equal(b.whenUnsaturated(), undefined);
    const bounded = batcher(run, { batchSize: 1, lingerMs: 1000, maxConcurrentRequests: 1 }).b;
    const more = [1, 2].map((id) => bounded.submit(en, id, 0));
    const saturated = bounded.whenUnsaturated();
    assert.ok(saturated);
    bounded.close();
    await saturated;
    assert.equal(bounded.whenUnsaturated(), undefined);
    void Promise.allSettled([...fetches, ...more]);
  });

  it('a revision the runner finds early is settled at once, and its final result is not read', async (t) => {
    let finish!: () => void;
    const run: BatchRunner = async (_target, _revIds, found) => {
      found!(revision(1));
      found!(revision(99)); // not asked for: ignored
      await new Promise<void>((resolve) => (finish = resolve));
      // The final map no longer knows revision 1 (its content was handed over).
      return new Map<number, RevisionResult>([
        [1, { ok: false, error: httpStatusError(404, undefined) }],
        [2, { ok: true, revision: revision(2) }],
      ]);
    };
    const { b, metrics } = batcher(run, { batchSize: 50, lingerMs: 1 });
    t.after(() => b.close());
    const early = b.submit(en, 1, 0);
    const late = b.submit(en, 2, 0);
    assert.equal((await early).revId, 1, 'settled while the batch still runs');
    finish();
    assert.equal((await late).revId, 2);
    assert.equal(metrics.total('mediawiki_retries_total'), 0, 'no retry from the final result of revision 1');
  });

  it('keeps wikis apart', async (t) => {
    const { run, calls } = recordingRunner();
    const { b } = batcher(run, { batchSize: 50, lingerMs: 5 });
    t.after(() => b.close());
    await Promise.all([b.submit(en, 1, 0), b.submit(de, 1, 0), b.submit(en, 2, 0)]);
    assert.deepEqual(calls, [
      { domain: 'en.wikipedia.org', revIds: [1, 2] },
      { domain: 'de.wikipedia.org', revIds: [1] },
    ]);
  });

  it('asks once for an id wanted twice, and both get the answer', async (t) => {
    const { run, calls } = recordingRunner();
    const { b, metrics } = batcher(run, { batchSize: 50, lingerMs: 5 });
    t.after(() => b.close());
    const [a, c] = await Promise.all([b.submit(en, 5, 0), b.submit(en, 5, 0)]);
    assert.deepEqual(
      calls.map((x) => x.revIds),
      [[5]],
    );
    assert.equal(a, c);
    assert.equal(metrics.total('mediawiki_retries_total'), 0);
  });

  it('retries a failed revision alone, in whatever batch of its wiki is open', async (t) => {
    const { run, calls } = recordingRunner((_d, id, call) =>
      id === 1 && call === 1
        ? { ok: false, error: httpStatusError(503) }
        : { ok: true, revision: revision(id) },
    );
    // batchSize 2 sends [1, 2] at once; the long linger keeps the next batch open until it is full.
    const { b, metrics } = batcher(run, { batchSize: 2, lingerMs: 60_000 });
    t.after(() => b.close());
    const first = Promise.all([b.submit(en, 1, 0), b.submit(en, 2, 0)]);
    const third = b.submit(en, 3, 0);
    const [[r1, r2], r3] = await Promise.all([first, third]);
    assert.deepEqual([r1.revId, r2.revId, r3.revId], [1, 2, 3]);
    assert.deepEqual(
      calls.map((c) => c.revIds),
      [
        [1, 2],
        [3, 1],
      ],
    );
    assert.equal(metrics.counts.get('mediawiki_retries_total{reason=HttpStatusError}'), 1);
  });

  it('gives up after 1 + maxRetries attempts with the last error', async (t) => {
    const { run, calls } = recordingRunner(() => ({ ok: false, error: httpStatusError(500) }));
    const { b, metrics } = batcher(run, { batchSize: 50, lingerMs: 1 });
    t.after(() => b.close());
    await assert.rejects(b.submit(en, 9, 0), (error: unknown) => {
      assert.ok(error instanceof EnrichmentError);
      assert.equal(error.type, 'HttpStatusError');
      assert.equal(error.details.status, 500);
      return true;
    });
    assert.equal(calls.length, 3);
    assert.equal(metrics.total('mediawiki_retries_total'), 2);
  });

  it('rejects a runner failure that is no input failure as is, without retrying', async (t) => {
    const bug = new TypeError('bug');
    let calls = 0;
    const { b } = batcher(
      async () => {
        calls += 1;
        throw bug;
      },
      { batchSize: 50, lingerMs: 1 },
    );
    t.after(() => b.close());
    await assert.rejects(b.submit(en, 1, 0), (error: unknown) => error === bug);
    assert.equal(calls, 1);
  });

  it('on close rejects waiting fetches, clears its timers and refuses new ones', async () => {
    const { run, calls } = recordingRunner((_d, id) =>
      id === 1 ? { ok: false, error: httpStatusError(503) } : { ok: true, revision: revision(id) },
    );
    const slowRetry = { ...retry, initialDelayMs: 60_000, maxDelayMs: 60_000 };
    const deps = { metrics: recordingMetrics(), now: Date.now, random: () => 0.5 };
    const b = new RevisionBatcher({ batchSize: 2, lingerMs: 60_000, retry: slowRetry }, run, deps);
    const retrying = b.submit(en, 1, 0);
    const done = b.submit(en, 5, 0);
    assert.equal((await done).revId, 5);
    // Revision 1 failed and waits a minute for its retry; revision 2 waits a minute in an open batch.
    const lingering = b.submit(de, 2, 0);
    assert.equal(b.pending, 2);
    b.close();
    await assert.rejects(retrying, FetcherClosedError);
    await assert.rejects(lingering, FetcherClosedError);
    await assert.rejects(b.submit(en, 4, 0), FetcherClosedError);
    assert.equal(b.pending, 0);
    assert.deepEqual(
      calls.map((c) => c.revIds),
      [[1, 5]],
    );
  });
});
