import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import type { SinkRecord, SourceRecord } from '../../../src/connectors/types.js';
import { recordingMetrics } from '../../../src/core/metrics.js';
import type { Outcome, RecordHandler } from '../../../src/jobs/contract.js';
import { Pipeline, type PipelineOptions } from '../../../src/runtime/pipeline.js';
import { MemorySink, MemorySource, record } from '../../helpers/memory-connectors.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Input values are `{k, n}` (key, sequence) or `{drop}` / `{fail}` / `{big}`. */
function stubHandler(latency: () => number, track?: { inFlight: number; max: number }): RecordHandler {
  return {
    handle(rec: SourceRecord) {
      const v = JSON.parse(rec.value.toString()) as {
        k?: string;
        n?: number;
        drop?: boolean;
        fail?: boolean;
        big?: boolean;
      };
      if (track) track.max = Math.max(track.max, ++track.inFlight);
      const outcome = (async (): Promise<Outcome> => {
        await sleep(latency());
        if (track) track.inFlight--;
        if (v.drop) return { kind: 'dropped', reason: 'canary' };
        if (v.fail)
          return { kind: 'failed', reason: 'MissingRevisionError', errorEvent: out({ error: rec.offset }) };
        const value = v.big ? { k: v.k, n: v.n, pad: 'x'.repeat(500) } : { k: v.k, n: v.n };
        return { kind: 'enriched', reason: 'edit', output: out(value) };
      })();
      return { key: v.k, outcome };
    },
    oversize(rec, bytes, limit, what) {
      return out(
        what === 'output' ? { oversize: rec.offset, bytes, limit } : { shrunk: rec.offset, bytes, limit },
      );
    },
  };
}

/**
 * A stub handler that notes how many records were in flight when each record entered (`before`, by
 * offset) and lets `announce` give each record an `expectedBytes`.
 */
function enteringHandler(announce: (offset: number) => number | undefined = () => undefined) {
  const track = { inFlight: 0, max: 0 };
  const before: number[] = [];
  const inner = stubHandler(() => 3, track);
  const handler: RecordHandler = {
    ...inner,
    handle(rec) {
      before[rec.offset] = track.inFlight;
      const expectedBytes = announce(rec.offset);
      return { ...inner.handle(rec), ...(expectedBytes !== undefined && { expectedBytes }) };
    },
  };
  return { handler, track, before };
}

function out(value: object): SinkRecord {
  return { key: null, value: Buffer.from(JSON.stringify(value)) };
}

function options(
  over: Partial<PipelineOptions> & Pick<PipelineOptions, 'source' | 'handler'>,
): PipelineOptions {
  return {
    sink: new MemorySink(),
    errorSink: new MemorySink(),
    maxInFlight: 16,
    commitIntervalMs: 5,
    drainTimeoutMs: 5_000,
    oversizePolicy: 'error_event',
    logger,
    metrics: recordingMetrics(),
    ...over,
  };
}

test('keeps input order per key while keys proceed concurrently, and commits everything at the end', async () => {
  const input: SourceRecord[] = [];
  for (let i = 0; i < 400; i++)
    input.push(record(`t/${i % 2}`, Math.floor(i / 2), { k: `page${i % 7}`, n: i }));
  const source = new MemorySource(input);
  const sink = new MemorySink();
  const summary = await new Pipeline(
    options({ source, sink, handler: stubHandler(() => Math.random() * 8) }),
  ).run();

  assert.equal(summary.records, 400);
  assert.equal(summary.outcomes.enriched, 400);
  const seen = sink.values() as Array<{ k: string; n: number }>;
  assert.equal(seen.length, 400);
  for (let k = 0; k < 7; k++) {
    const ns = seen.filter((v) => v.k === `page${k}`).map((v) => v.n);
    assert.deepEqual(
      ns,
      [...ns].sort((a, b) => a - b),
      `page${k} left in input order`,
    );
  }
  const global = seen.map((v) => v.n);
  assert.notDeepEqual(
    global,
    [...global].sort((a, b) => a - b),
    'different pages overtook each other',
  );
  assert.deepEqual(Object.fromEntries(source.lastCommit), { 't/0': 200, 't/1': 200 });
});

test('never has more than maxInFlight records between source and acknowledgement', async () => {
  const input = Array.from({ length: 300 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const track = { inFlight: 0, max: 0 };
  const source = new MemorySource(input);
  await new Pipeline(options({ source, handler: stubHandler(() => 2, track), maxInFlight: 10 })).run();
  assert.equal(track.max, 10);
});

test('the window shrinks to its floor while the loop stays saturated, and stays open while it has time to spare', async () => {
  const run = async (utilization: number) => {
    const input = Array.from({ length: 400 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
    const track = { inFlight: 0, max: 0 };
    const metrics = recordingMetrics();
    const limits = new Set<number>();
    // Per record, in read order: the records in flight once it entered, and the limit then.
    const entries: Array<{ inFlight: number; limit: number }> = [];
    const inner = stubHandler(() => 5, track);
    const handler: RecordHandler = {
      ...inner,
      handle(rec) {
        const handled = inner.handle(rec);
        entries.push({ inFlight: track.inFlight, limit: metrics.total('in_flight_limit') });
        return handled;
      },
    };
    let calls = 0;
    const pipeline = new Pipeline(
      options({
        source: new MemorySource(input),
        handler,
        maxInFlight: 40,
        inFlightFloor: 4,
        metrics,
        windowControl: {
          intervalMs: 1,
          utilization: () => {
            calls++;
            limits.add(metrics.total('in_flight_limit'));
            return utilization;
          },
        },
      }),
    );
    assert.equal(metrics.total('in_flight_limit'), 40, 'the window starts at maxInFlight');
    const summary = await pipeline.run();
    assert.equal(summary.outcomes.enriched, 400);
    const after = calls;
    await sleep(20);
    assert.equal(calls, after, 'the run stopped the sizing');
    for (const [i, entry] of entries.entries()) {
      assert.ok(entry.inFlight <= entry.limit, `record ${i} entered within the limit`);
    }
    return { max: track.max, limits: [...limits].sort((a, b) => a - b), entries };
  };
  const saturated = await run(1);
  assert.deepEqual(saturated.limits, [4, 6, 9, 12, 16, 22, 30, 40]);
  // Each 5 ms round of the stub lets at least one interval pass, so the floor is reached within the
  // first 139 records (40 + 30 + 22 + 16 + 12 + 9 + 6 + 4); from there on, at most 4 are in flight.
  assert.ok(Math.max(...saturated.entries.slice(139).map((e) => e.inFlight)) <= 4);
  assert.equal(saturated.max, 40, 'the window started open');
  const spare = await run(0);
  assert.equal(spare.max, 40);
  assert.deepEqual(spare.limits, [40]);
});

test('maxInFlightBytes bounds the bytes in flight: large records wait for room, a record over the budget goes alone', async () => {
  const pad = (n: number) => 'x'.repeat(n);
  // 40 records of ~100 KB, then one of ~1 MB (over the budget), then 10 small ones.
  const input = [
    ...Array.from({ length: 40 }, (_, i) => record('p', i, { k: `k${i}`, n: i, pad: pad(100_000) })),
    record('p', 40, { k: 'huge', n: 40, pad: pad(1_000_000) }),
    ...Array.from({ length: 10 }, (_, i) => record('p', 41 + i, { k: `s${i}`, n: 41 + i })),
  ];
  const { handler, track, before } = enteringHandler();
  const source = new MemorySource(input);
  const sink = new MemorySink();
  const summary = await new Pipeline(
    options({ source, sink, handler, maxInFlight: 100, maxInFlightBytes: 350_000 }),
  ).run();
  assert.equal(summary.outcomes.enriched, 51);
  // Three 100 KB inputs fit into 350 KB; a fourth would not (outputs here are small).
  assert.equal(Math.max(...before.slice(0, 40)) + 1, 3);
  assert.equal(before[40], 0, 'the record over the budget entered only when nothing else was in flight');
  assert.ok(track.max > 3, 'small records, by contrast, are many in flight at once');
  assert.deepEqual(Object.fromEntries(source.lastCommit), { p: 51 });
});

test('an output the input announces is weighed from the start, then replaced by the real one', async () => {
  // Small inputs announcing 100 KB of content each; their outputs turn out small.
  const input = Array.from({ length: 30 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const { handler, track, before } = enteringHandler((offset) => (offset < 20 ? 100_000 : 0));
  const source = new MemorySource(input);
  const summary = await new Pipeline(
    options({ source, handler, maxInFlight: 100, maxInFlightBytes: 350_000 }),
  ).run();
  assert.equal(summary.outcomes.enriched, 30);
  // At most three announced 100 KB outputs fit into 350 KB: a fourth record waits until one is
  // built (and found small), so never more than four are in flight among the first twenty.
  assert.ok(Math.max(...before.slice(0, 20)) <= 3, `in flight before: ${before.slice(0, 20).join(',')}`);
  assert.ok(track.max > 4, 'records announcing nothing are many in flight at once');
  assert.deepEqual(Object.fromEntries(source.lastCommit), { p: 30 });
});

test('an announced size that is no size (infinite, NaN, negative) is not weighed', async () => {
  const input = Array.from({ length: 40 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const announced = [Number.POSITIVE_INFINITY, Number.NaN, -5];
  const { handler, track } = enteringHandler((offset) => announced[offset % 3]);
  const summary = await new Pipeline(
    options({ source: new MemorySource(input), handler, maxInFlight: 100, maxInFlightBytes: 1_000_000 }),
  ).run();
  assert.equal(summary.outcomes.enriched, 40);
  assert.ok(track.max > 10, `records still go many at a time (at most ${track.max} were)`);
});

test('drops, error events and outputs each go to their place; the summary counts them', async () => {
  const input = [
    record('p', 0, { k: 'a', n: 0 }),
    record('p', 1, { drop: true }),
    record('p', 2, { fail: true, k: 'a' }),
    record('p', 3, { k: 'b', n: 3, big: true }),
  ];
  const source = new MemorySource(input);
  const sink = new MemorySink({ maxRecordBytes: 200 });
  const errorSink = new MemorySink();
  const summary = await new Pipeline(
    options({ source, sink, errorSink, handler: stubHandler(() => 1) }),
  ).run();
  assert.deepEqual(sink.values(), [{ k: 'a', n: 0 }]);
  assert.deepEqual(errorSink.values(), [
    { error: 2 },
    {
      oversize: 3,
      bytes: Buffer.byteLength(JSON.stringify({ k: 'b', n: 3, pad: 'x'.repeat(500) })),
      limit: 200,
    },
  ]);
  assert.deepEqual(summary.outcomes, { enriched: 1, passed: 0, dropped: 1, failed: 2 });
  assert.deepEqual(summary.reasons, {
    enriched: { edit: 1 },
    passed: {},
    dropped: { canary: 1 },
    failed: { MissingRevisionError: 1, OversizeEventError: 1 },
  });
  assert.equal(summary.oversize, 1);
  assert.deepEqual(Object.fromEntries(source.lastCommit), { p: 4 });
  assert.ok(sink.closed && errorSink.closed);
});

test('a sink failure stops the pipeline and the commit never passes the failed record', async () => {
  const input = Array.from({ length: 50 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const source = new MemorySource(input);
  const sink = new MemorySink({ failOn: (r) => (JSON.parse(r.value.toString()) as { n: number }).n === 20 });
  const summary = await new Pipeline(
    options({ source, sink, handler: stubHandler(() => 1), maxInFlight: 4 }),
  ).run();
  assert.match(summary.failure ?? '', /broker said no/);
  const committed = source.lastCommit.get('p') ?? 0;
  assert.ok(committed <= 20, `committed ${committed} must not pass offset 20`);
  assert.ok(source.pulled < 50, 'stopped reading after the failure');
});

test('stop() drains what is in flight, commits it, and reads no more', async () => {
  const input = Array.from({ length: 1000 }, (_, i) => record('p', i, { k: `k${i % 5}`, n: i }));
  const source = new MemorySource(input, (n) => n === 100 && pipeline.stop());
  const sink = new MemorySink();
  const pipeline = new Pipeline(options({ source, sink, handler: stubHandler(() => 3) }));
  const summary = await pipeline.run();
  assert.equal(summary.unfinished, 0);
  assert.ok(summary.records >= 99 && summary.records <= 100, `admitted ${summary.records}`);
  assert.equal(sink.records.length, summary.records, 'every admitted record has its output');
  assert.deepEqual(Object.fromEntries(source.lastCommit), { p: summary.records });
});

test('a revoked partition is drained and committed before it is let go', async () => {
  const input = Array.from({ length: 40 }, (_, i) =>
    record(`t/${i % 2}`, Math.floor(i / 2), { k: `k${i}`, n: i }),
  );
  let revokedCommit: Map<string, number> | undefined;
  let revocation: Promise<void> | undefined;
  const source: MemorySource = new MemorySource(input, (n) => {
    if (n === 21) {
      revocation = source.listener!.onPartitionsRevoked(['t/0']).then(() => {
        revokedCommit = source.lastCommit;
      });
    }
  });
  const sink = new MemorySink();
  await new Pipeline(options({ source, sink, handler: stubHandler(() => 2) })).run();
  await revocation;
  assert.ok(revokedCommit, 'revocation finished');
  assert.equal(revokedCommit.get('t/0'), 11, 'everything read from t/0 before the revocation was committed');
});

test('transactional sources get outputs in offset order per partition and commits only at a barrier', async () => {
  const input = Array.from({ length: 200 }, (_, i) => record('t/0', i, { k: `k${i % 9}`, n: i }));
  const source = Object.assign(new MemorySource(input), { transactional: true as const });
  const sink = new MemorySink({ ackDelayMs: () => Math.random() * 3 });
  const sent: number[] = [];
  const commitsSeenAt: number[] = [];
  const origSend = sink.send.bind(sink);
  let unacked = 0;
  sink.send = async (r) => {
    sent.push((JSON.parse(r.value.toString()) as { n: number }).n);
    unacked++;
    try {
      await origSend(r);
    } finally {
      unacked--;
    }
  };
  const origCommit = source.commit.bind(source);
  source.commit = async (next) => {
    commitsSeenAt.push(unacked);
    assert.equal(
      next.get('t/0'),
      sent.length,
      'the transaction holds exactly the outputs of the committed offsets',
    );
    return origCommit(next);
  };
  await new Pipeline(options({ source, sink, handler: stubHandler(() => Math.random() * 5) })).run();
  assert.deepEqual(
    sent,
    Array.from({ length: 200 }, (_, i) => i),
  );
  assert.ok(commitsSeenAt.length > 0);
  assert.ok(
    commitsSeenAt.every((n) => n === 0),
    'no send was in progress at any commit',
  );
});

test('an error event larger than the error sink accepts is replaced by its cut-down form', async () => {
  const source = new MemorySource([record('p', 0, { fail: true }), record('p', 1, { k: 'a', n: 1 })]);
  const errorSink = new MemorySink({ maxRecordBytes: 5 });
  const sink = new MemorySink();
  const summary = await new Pipeline(
    options({ source, sink, errorSink, handler: stubHandler(() => 1) }),
  ).run();
  assert.deepEqual(errorSink.values(), [{ shrunk: 0, bytes: Buffer.byteLength('{"error":0}'), limit: 5 }]);
  assert.deepEqual(sink.values(), [{ k: 'a', n: 1 }]);
  assert.deepEqual(summary.outcomes, { enriched: 1, passed: 0, dropped: 0, failed: 1 });
});

test('a revocation under a transactional source commits the watermark of every partition', async () => {
  const input = Array.from({ length: 400 }, (_, i) =>
    record(`t/${i % 2}`, Math.floor(i / 2), { k: `k${i}`, n: i }),
  );
  let revocation: Promise<void> | undefined;
  const commits: Array<Record<string, number>> = [];
  const source = Object.assign(
    new MemorySource(input, (n) => {
      if (n === 21) revocation = source.listener!.onPartitionsRevoked(['t/0']);
    }),
    { transactional: true as const },
  );
  const origCommit = source.commit.bind(source);
  source.commit = async (next) => {
    commits.push(Object.fromEntries(next));
    return origCommit(next);
  };
  await new Pipeline(options({ source, handler: stubHandler(() => 3), commitIntervalMs: 60_000 })).run();
  await revocation;
  const atRevocation = commits[0]!;
  assert.deepEqual(
    Object.keys(atRevocation).sort(),
    ['t/0', 't/1'],
    'the transaction carried both partitions',
  );
  assert.equal(atRevocation['t/0'], 11);
});

test('waiting for a window slot leaves nothing behind: the heap does not grow with the records read', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapAt = new Map<number, number>();
  const count = 110_000;
  const input = Array.from({ length: count }, (_, i) => record('p', i, { k: `k${i % 50}`, n: i }));
  const source = new MemorySource(input, (n) => {
    if (n === 10_000 || n === count) {
      gc();
      heapAt.set(n, process.memoryUsage().heapUsed);
    }
  });
  // Dropped outcomes, settled at once: nothing is kept by a sink, and each record still holds the
  // one slot while the reader asks for the next.
  const handler: RecordHandler = {
    handle: () => ({ key: undefined, outcome: Promise.resolve({ kind: 'dropped', reason: 'canary' }) }),
    oversize: () => out({}),
  };
  const summary = await new Pipeline(options({ source, handler, maxInFlight: 1 })).run();
  assert.equal(summary.outcomes.dropped, count);
  const growth = heapAt.get(count)! - heapAt.get(10_000)!;
  // A reaction left per wait costs about 300 bytes: 100,000 waits would add about 30 MB.
  assert.ok(growth < 5_000_000, `heap grew by ${(growth / 1e6).toFixed(1)} MB over 100,000 records`);
});

test('reads no further while the job can make no use of more records, and goes on when it can', async () => {
  const input = Array.from({ length: 40 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const { handler, before } = enteringHandler();
  let busy: { promise: Promise<void>; open: () => void } | undefined;
  // Busy after every 10th record, until the test opens it.
  const job: RecordHandler = {
    ...handler,
    handle(rec) {
      const handled = handler.handle(rec);
      if (rec.offset % 10 === 9) {
        let open!: () => void;
        const promise = new Promise<void>((resolve) => (open = resolve));
        busy = { promise, open };
      }
      return handled;
    },
    whenAccepting: () => busy?.promise,
  };
  const source = new MemorySource(input);
  const sink = new MemorySink();
  const run = new Pipeline(options({ source, sink, handler: job, maxInFlight: 100 })).run();
  for (let round = 1; round <= 4; round++) {
    await sleep(30);
    assert.equal(before.length, round * 10, `round ${round}: read up to the busy record, no further`);
    const { open } = busy!;
    busy = undefined;
    open();
  }
  const summary = await run;
  assert.equal(summary.outcomes.enriched, 40);
  assert.deepEqual(
    (sink.values() as Array<{ n: number }>).map((v) => v.n).sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i),
  );
});

test('a stop is not held up by a job that takes no more records', { timeout: 10_000 }, async () => {
  const input = Array.from({ length: 10 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
  const { handler, before } = enteringHandler();
  const never = new Promise<void>(() => {});
  const job: RecordHandler = { ...handler, whenAccepting: () => never };
  const source = new MemorySource(input);
  const pipeline = new Pipeline(options({ source, handler: job }));
  const run = pipeline.run();
  await sleep(20);
  assert.equal(before.length, 1, 'one record read, then the job was busy');
  pipeline.stop();
  const summary = await run;
  assert.equal(summary.records, 1);
  assert.equal(summary.outcomes.enriched, 1);
});

/** Runs `body`, collecting the unhandled rejections Node reports meanwhile (and a turn after). */
async function unhandledDuring<T>(body: () => Promise<T>): Promise<{ result: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const note = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', note);
  try {
    const result = await body();
    await sleep(20);
    return { result, unhandled };
  } finally {
    process.off('unhandledRejection', note);
  }
}

test(
  'a job whose whenAccepting rejects fails the run, which ends; nothing is left unhandled',
  { timeout: 10_000 },
  async () => {
    const input = Array.from({ length: 5 }, (_, i) => record('p', i, { k: `k${i}`, n: i }));
    const { handler, before } = enteringHandler();
    const job: RecordHandler = { ...handler, whenAccepting: () => Promise.reject(new Error('service gone')) };
    const { result: summary, unhandled } = await unhandledDuring(() =>
      new Pipeline(options({ source: new MemorySource(input), handler: job })).run(),
    );
    assert.equal(summary.failure, 'service gone');
    assert.equal(before.length, 1, 'no record read after the failure');
    assert.deepEqual(unhandled, []);
  },
);

test('an outcome that rejects behind an earlier record of its key fails the run, and is not left unhandled', async () => {
  const failing: RecordHandler = {
    handle(rec) {
      const outcome =
        rec.offset === 0
          ? sleep(100).then((): Outcome => ({ kind: 'enriched', reason: 'edit', output: out({ n: 0 }) }))
          : sleep(10).then((): Outcome => {
              throw new Error(`infrastructure failure of record ${rec.offset}`);
            });
      return { key: 'same-page', outcome };
    },
    oversize: () => out({}),
  };
  const sink = new MemorySink();
  const { result: summary, unhandled } = await unhandledDuring(() =>
    new Pipeline(
      options({ source: new MemorySource([record('p', 0, {}), record('p', 1, {})]), sink, handler: failing }),
    ).run(),
  );
  assert.equal(summary.failure, 'infrastructure failure of record 1');
  assert.deepEqual(sink.values(), [{ n: 0 }], 'the earlier record of the key still went out');
  assert.deepEqual(unhandled, []);
});
