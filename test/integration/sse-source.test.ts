/**
 * The EventStreams source against a local server speaking KafkaSSE's wire format
 * (test/helpers/sse-server.ts): frames split byte by byte, CRLF, comments, multi-line data,
 * `event: error`, drops, 429 and 5xx, an idle stall, refusals, positions across reconnects and
 * restarts (an idle partition included), `since`, oversize frames, the `domains` filter, stopping.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { checkSsePosition } from '../../src/connectors/sse/index.js';
import type { SseSourceOptions } from '../../src/connectors/sse/options.js';
import { partitionKey, type PartitionPosition } from '../../src/connectors/sse/position.js';
import { SseRefusedError, SseSource, WAIT_PART } from '../../src/connectors/sse/source.js';
import type { SinkRecord, SourceRecord } from '../../src/connectors/types.js';
import { OptionReader } from '../../src/core/options.js';
import { ConfigError } from '../../src/core/errors.js';
import { recordingMetrics } from '../../src/core/metrics.js';
import { RECORD_HEAD_BYTES } from '../../src/core/record-head.js';
import type { Waits } from '../../src/core/waits.js';
import type { RecordHandler } from '../../src/jobs/contract.js';
import { Pipeline } from '../../src/runtime/pipeline.js';
import { tempDir } from '../helpers/job-harness.js';
import { MemorySink } from '../helpers/memory-connectors.js';
import { CODFW, EQIAD, SseServer, STREAM_PATH, type StoredEvent } from '../helpers/sse-server.js';
import { waitUntil, withDeadline } from '../helpers/wait.js';

const USER_AGENT = 'mediawiki-event-enrichment-tests/0.1 (sse source; tests@example.org) undici';

async function startServer(t: TestContext, options: Parameters<typeof SseServer.start>[0] = {}) {
  const server = await SseServer.start(options);
  t.after(() => server.close());
  return server;
}

/** Waits told to the source, in order. */
function recordingWaits(): Waits & { calls: Array<{ part: string; why?: string }> } {
  const calls: Array<{ part: string; why?: string }> = [];
  return {
    calls,
    wait: (part, why) => calls.push({ part, why }),
    clear: (part) => calls.push({ part }),
  };
}

/** A pino logger writing its lines, parsed, into `lines`. */
function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

interface Made {
  source: SseSource;
  metrics: ReturnType<typeof recordingMetrics>;
  waits: ReturnType<typeof recordingWaits>;
  lines: Array<Record<string, unknown>>;
  options: SseSourceOptions;
}

function makeSource(
  server: SseServer,
  dir: string,
  over: Partial<SseSourceOptions> = {},
  deps: { maxRecordBytes?: number; httpRoutes?: Record<string, string> } = {},
): Made {
  const options: SseSourceOptions = {
    url: server.url,
    userAgent: USER_AGENT,
    positionFile: join(dir, 'position.json'),
    since: undefined,
    domains: undefined,
    idleTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    reconnectMinDelayMs: 20,
    reconnectMaxDelayMs: 200,
    ...over,
  };
  const metrics = recordingMetrics();
  const waits = recordingWaits();
  const { logger, lines } = memoryLogger();
  const source = new SseSource(options, {
    maxRecordBytes: deps.maxRecordBytes ?? 1024 * 1024,
    logger,
    metrics,
    waits,
    ...(deps.httpRoutes && { httpRoutes: deps.httpRoutes }),
  });
  return { source, metrics, waits, lines, options };
}

const noRevocations = { onPartitionsRevoked: async () => {} };

/** Pulls records one at a time, each within a deadline. */
function reader(source: SseSource) {
  const iterator = source.records(noRevocations)[Symbol.asyncIterator]();
  return {
    async take(n: number, timeoutMs = 10_000): Promise<SourceRecord[]> {
      const out: SourceRecord[] = [];
      while (out.length < n) {
        const next = await withDeadline(iterator.next(), timeoutMs, `record ${out.length + 1} of ${n}`);
        if (next.done) throw new Error(`the source ended after ${out.length} of ${n} records`);
        out.push(next.value);
      }
      return out;
    },
    next: () => iterator.next(),
    end: () => iterator.return?.(undefined),
  };
}

const values = (records: readonly SourceRecord[]) => records.map((r) => r.value.toString());

/** An event the server can serve: small JSON with a number, the way the tests recognise it. */
const ev = (n: number | string, domain = 'en.wikipedia.org') => ({ n, meta: { domain } });

/** The data of stored events, to compare with records. */
const data = (events: readonly StoredEvent[]) => events.map((e) => e.data);

function parsedId(header: string | undefined): PartitionPosition[] {
  assert.ok(header !== undefined, 'a Last-Event-ID was sent');
  return JSON.parse(header) as PartitionPosition[];
}

function entryOf(id: PartitionPosition[], topic: string): PartitionPosition {
  const entry = id.find((e) => partitionKey(e) === `${topic}/0`);
  assert.ok(entry, `the id has ${topic}`);
  return entry;
}

/** The pipeline with a handler that outputs each input as it is, committing every 10 ms. */
function echoPipeline(source: SseSource, sink = new MemorySink()) {
  const handler: RecordHandler = {
    handle: (record) => ({
      key: undefined,
      outcome: Promise.resolve({
        kind: 'enriched',
        reason: 'edit',
        output: { key: null, value: record.value } satisfies SinkRecord,
      }),
    }),
    oversize: () => ({ key: null, value: Buffer.from('{}') }),
  };
  const pipeline = new Pipeline({
    source,
    sink,
    errorSink: new MemorySink(),
    handler,
    maxInFlight: 10,
    commitIntervalMs: 10,
    drainTimeoutMs: 5_000,
    oversizePolicy: 'error_event',
    logger: pino({ level: 'silent' }),
    metrics: recordingMetrics(),
  });
  return { pipeline, sink, run: pipeline.run() };
}

describe('sse source', () => {
  it('reads frames written byte by byte with CRLF, comments and multi-line data; sends its headers through the routes', async (t) => {
    const server = await startServer(t);
    server.script({ kind: 'serve', split: 1, lineEnd: '\r\n', comments: true });
    const dir = await tempDir(t, 'sse-');
    const { source, waits } = makeSource(
      server,
      dir,
      { url: `https://stream.example.org${STREAM_PATH}` },
      { httpRoutes: { 'https://stream.example.org': server.origin } },
    );
    t.after(() => source.close());
    const read = reader(source);
    const first = read.take(3);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const appended = [
      server.append(EQIAD, ev(1)),
      // JSON over two data lines: the server splits data at LF, the client joins with LF.
      server.append(CODFW, '{"n": 2,\n "meta": {"domain": "en.wikipedia.org"}}'),
      server.append(EQIAD, ev(3)),
    ];
    const records = await first;
    assert.deepEqual(values(records), data(appended));
    assert.deepEqual(
      records.map((r) => [r.partition, r.offset, r.key, r.oversizeBytes]),
      [0, 1, 2].map((n) => [`https://stream.example.org${STREAM_PATH}`, n, null, undefined]),
    );
    const [request] = server.requests;
    assert.equal(request!.headers['user-agent'], USER_AGENT);
    assert.equal(request!.headers.accept, 'text/event-stream');
    assert.equal(request!.headers.host, 'stream.example.org', 'the routed request keeps the original host');
    assert.equal(request!.lastEventId, undefined);
    assert.equal(request!.since, undefined, 'a first start without since begins at the end');
    assert.deepEqual(waits.calls, [
      { part: WAIT_PART, why: `connecting to https://stream.example.org${STREAM_PATH}` },
      { part: WAIT_PART },
    ]);
    await read.end();
  });

  it('after event: error, logs it and resumes from the id of the last event: nothing skipped or repeated', async (t) => {
    const server = await startServer(t);
    server.script({ kind: 'serve', after: 2, then: 'error' });
    const { source, metrics, lines } = makeSource(server, await tempDir(t, 'sse-'));
    t.after(() => source.close());
    const read = reader(source);
    const taken = read.take(4);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const appended = [1, 2, 3, 4].map((n) => server.append(EQIAD, ev(n)));
    assert.deepEqual(values(await taken), data(appended));
    assert.equal(server.requests.length, 2);
    const id = parsedId(server.requests[1]!.lastEventId);
    assert.deepEqual(entryOf(id, EQIAD), {
      topic: EQIAD,
      partition: 0,
      timestamp: appended[1]!.timestamp + 1,
    });
    assert.equal(metrics.counts.get('sse_reconnects_total{reason=error_event}'), 1);
    const warning = lines.find((l) => String(l.msg).includes('the server sent an error'));
    assert.ok(warning, 'the error event is logged');
    assert.match(String(warning.msg), /broker went away/);
    assert.equal(warning.level, 40, 'as a warning');
    await read.end();
  });

  it('after a drop mid-stream, reconnects; a partition that delivered nothing resumes from the connection start, not the end', async (t) => {
    const server = await startServer(t);
    server.script({ kind: 'serve', after: 3, then: 'drop' });
    const { source, metrics } = makeSource(server, await tempDir(t, 'sse-'));
    t.after(() => source.close());
    const read = reader(source);
    const taken = read.take(5);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const openedBefore = server.requests[0]!.at;
    // Three on eqiad, then the drop before codfw's first event: codfw delivered nothing on the
    // first connection, so its id entry there is `offset: -1`.
    const appended = [
      server.append(EQIAD, ev(1)),
      server.append(EQIAD, ev(2)),
      server.append(EQIAD, ev(3)),
      server.append(CODFW, ev('c1')),
      server.append(EQIAD, ev(4)),
    ];
    assert.deepEqual(values(await taken), data(appended), 'c1 is not lost');
    const id = parsedId(server.requests[1]!.lastEventId);
    assert.deepEqual(entryOf(id, EQIAD), {
      topic: EQIAD,
      partition: 0,
      timestamp: appended[2]!.timestamp + 1,
    });
    const codfw = entryOf(id, CODFW);
    assert.equal(codfw.offset, undefined, 'no offset -1 is sent back');
    assert.ok(codfw.timestamp! <= appended[3]!.timestamp, 'codfw restarts no later than its first event');
    assert.ok(codfw.timestamp! <= openedBefore, 'from when the first connection was opened');
    const reconnects = [...metrics.counts].filter(([k]) => k.startsWith('sse_reconnects_total'));
    assert.equal(reconnects.length, 1);
    assert.match(reconnects[0]![0], /reason=(network_error|ended)/);
    await read.end();
  });

  it('a 429 with Retry-After, then a 503: waits at least as asked, tells /readyz, counts; what came meanwhile is read', async (t) => {
    const server = await startServer(t);
    server.script(
      { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: 'too many connections' },
      { kind: 'status', status: 503, body: 'unavailable' },
    );
    const { source, metrics, waits } = makeSource(server, await tempDir(t, 'sse-'));
    t.after(() => source.close());
    const read = reader(source);
    const taken = read.take(1);
    await waitUntil('the first request', () => server.requests.length === 1, { timeoutMs: 10_000 });
    // Appended after the first attempt: a later attempt starts from that attempt, not at the end.
    const early = server.append(EQIAD, ev(1));
    assert.deepEqual(values(await taken), data([early]));
    assert.deepEqual(
      server.requests.map((r) => r.status),
      [429, 503, 200],
    );
    const [first, second, third] = server.requests;
    assert.ok(second!.at - first!.at >= 1000, `Retry-After honoured: ${second!.at - first!.at} ms`);
    assert.ok(third!.since !== undefined && Number(third!.since) <= first!.at, 'since the first attempt');
    assert.equal(metrics.counts.get('sse_reconnects_total{reason=too_many_requests}'), 1);
    assert.equal(metrics.counts.get('sse_reconnects_total{reason=server_error}'), 1);
    const told = waits.calls.filter((c) => c.why !== undefined).map((c) => c.why!);
    assert.match(told[1]!, /HTTP 429: too many connections; connecting again in 1\.\d s/);
    assert.match(told[2]!, /HTTP 503: unavailable; connecting again in/);
    assert.deepEqual(waits.calls.at(-1), { part: WAIT_PART }, 'cleared once connected');
    assert.ok(
      metrics.events.some((e) => e.name === 'waiting' && e.fields.part === WAIT_PART),
      'a waiting event for the status page',
    );
    await read.end();
  });

  it('fails at once, with a clear error, on a 4xx other than 429 or a stream that is not text/event-stream', async (t) => {
    const cases: Array<[Parameters<SseServer['script']>[0], RegExp]> = [
      [
        { kind: 'status', status: 400, body: '{"title":"InvalidAssignmentError"}' },
        /answered HTTP 400: \{"title":"InvalidAssignmentError"\}: the server refused the position sent as Last-Event-ID; .*position\.json may be corrupt/,
      ],
      [{ kind: 'status', status: 404, body: 'nope' }, /answered HTTP 404: nope: no such stream/],
      [
        { kind: 'status', status: 200, headers: { 'content-type': 'text/html' }, body: '<html>' },
        /answered with content-type text\/html, not text\/event-stream/,
      ],
      [
        { kind: 'status', status: 301, headers: { location: 'https://elsewhere.example/' } },
        /HTTP 301: redirects are not followed \(location https:\/\/elsewhere\.example\/\)/,
      ],
    ];
    for (const [behaviour, message] of cases) {
      const server = await startServer(t);
      server.script(behaviour);
      const dir = await tempDir(t, 'sse-');
      // A position, so that the 400 is about it.
      await writeFile(
        join(dir, 'position.json'),
        JSON.stringify({ url: server.url, last_event_id: [{ topic: EQIAD, partition: 0, offset: 5 }] }),
      );
      const { source } = makeSource(server, dir);
      t.after(() => source.close());
      await assert.rejects(reader(source).take(1), (err: Error) => {
        assert.ok(err instanceof SseRefusedError, err.message);
        assert.match(err.message, message);
        return true;
      });
      assert.equal(server.requests.length, 1, 'not asked again');
    }
  });

  it('the idle watchdog drops a stalled connection and resumes; it does not fire while the pipeline is not pulling', async (t) => {
    const server = await startServer(t);
    server.script({ kind: 'serve', after: 2, then: 'stall' });
    const { source, metrics } = makeSource(server, await tempDir(t, 'sse-'), { idleTimeoutMs: 1_000 });
    t.after(() => source.close());
    const read = reader(source);
    const taken = read.take(4);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const appended = [1, 2, 3, 4].map((n) => server.append(EQIAD, ev(n)));
    assert.deepEqual(values(await taken), data(appended));
    assert.equal(metrics.counts.get('sse_reconnects_total{reason=idle}'), 1);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(
      entryOf(parsedId(server.requests[1]!.lastEventId), EQIAD).timestamp,
      appended[1]!.timestamp + 1,
    );
    await waitUntil('the stalled stream to be closed by the client', () => server.openStreams === 1, {
      timeoutMs: 10_000,
    });

    // Not pulling for three idle timeouts, while an event arrives: no reconnect.
    const later = server.append(EQIAD, ev(5));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.deepEqual(values(await read.take(1)), data([later]));
    assert.equal(server.requests.length, 2);
    assert.equal(metrics.counts.get('sse_reconnects_total{reason=idle}'), 1);
    await read.end();
  });

  it('restarts from the position file with no event skipped or repeated, an idle partition included', async (t) => {
    const server = await startServer(t);
    const dir = await tempDir(t, 'sse-');
    const positionFile = join(dir, 'position.json');

    // First run: two eqiad events; codfw delivers nothing.
    const a = makeSource(server, dir);
    const first = echoPipeline(a.source);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const before = [server.append(EQIAD, ev(1)), server.append(EQIAD, ev(2))];
    await waitUntil('two outputs', () => first.sink.records.length === 2, { timeoutMs: 10_000 });
    first.pipeline.stop();
    assert.equal((await first.run).failure, undefined);
    const saved = JSON.parse(await readFile(positionFile, 'utf8')) as {
      url: string;
      last_event_id: PartitionPosition[];
    };
    assert.equal(saved.url, server.url);
    assert.deepEqual(entryOf(saved.last_event_id, EQIAD), {
      topic: EQIAD,
      partition: 0,
      timestamp: before[1]!.timestamp + 1,
    });
    assert.ok(entryOf(saved.last_event_id, CODFW).timestamp! <= server.requests[0]!.at, 'codfw: a time');

    // While it is stopped: codfw's first event, and more on eqiad.
    const meanwhile = [server.append(CODFW, ev('c1')), server.append(EQIAD, ev(3))];

    // Second run from the same file.
    const b = makeSource(server, dir);
    const second = echoPipeline(b.source);
    await waitUntil('two more outputs', () => second.sink.records.length === 2, { timeoutMs: 10_000 });
    const after = [server.append(EQIAD, ev(4))];
    await waitUntil('three outputs', () => second.sink.records.length === 3, { timeoutMs: 10_000 });
    second.pipeline.stop();
    assert.equal((await second.run).failure, undefined);

    const outputs = [...first.sink.records, ...second.sink.records].map((r) => r.value.toString());
    assert.deepEqual(outputs, data([...before, ...meanwhile, ...after]), 'each event once, in order');
    const resumed = server.requests[1]!;
    assert.equal(resumed.since, undefined);
    assert.deepEqual(parsedId(resumed.lastEventId), saved.last_event_id, 'the saved id, as it was');
    const last = JSON.parse(await readFile(positionFile, 'utf8')) as { last_event_id: PartitionPosition[] };
    assert.deepEqual(entryOf(last.last_event_id, EQIAD).timestamp, after[0]!.timestamp + 1);
    assert.deepEqual(entryOf(last.last_event_id, CODFW).timestamp, meanwhile[0]!.timestamp + 1);
  });

  it('commits save the id of the last committed record only; what was read after it is read again', async (t) => {
    const server = await startServer(t);
    const dir = await tempDir(t, 'sse-');
    const a = makeSource(server, dir);
    const read = reader(a.source);
    const taken = read.take(3);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const appended = [1, 2, 3].map((n) => server.append(EQIAD, ev(n)));
    const records = await taken;
    // Records 0 and 1 done; 2 is not.
    await a.source.commit(new Map([[server.url, 2]]));
    await read.end();
    await a.source.close();
    const saved = JSON.parse(await readFile(join(dir, 'position.json'), 'utf8')) as {
      last_event_id: PartitionPosition[];
    };
    assert.equal(entryOf(saved.last_event_id, EQIAD).timestamp, appended[1]!.timestamp + 1);
    assert.equal(records.length, 3);

    const b = makeSource(server, dir);
    t.after(() => b.source.close());
    const again = await reader(b.source).take(1);
    assert.deepEqual(values(again), data([appended[2]!]), 'the uncommitted record is read again');
  });

  it('since: the first start begins at that time; once a position exists it is ignored', async (t) => {
    const server = await startServer(t);
    const now = Date.now();
    const old = [
      server.append(EQIAD, ev(1), now - 60_000),
      server.append(CODFW, ev('c1'), now - 50_000),
      server.append(EQIAD, ev(2), now - 30_000),
      server.append(CODFW, ev('c2'), now - 20_000),
    ];
    const dir = await tempDir(t, 'sse-');
    const since = now - 55_000;
    const a = makeSource(server, dir, { since });
    const read = reader(a.source);
    assert.deepEqual(values(await read.take(3)), data(old.slice(1)));
    assert.equal(server.requests[0]!.since, String(since));
    assert.equal(server.requests[0]!.lastEventId, undefined);
    await a.source.commit(new Map([[server.url, 3]]));
    await read.end();
    await a.source.close();

    const b = makeSource(server, dir, { since });
    t.after(() => b.source.close());
    const next = reader(b.source).take(1);
    await waitUntil('the second stream', () => server.streamsStarted === 2, { timeoutMs: 10_000 });
    const fresh = server.append(EQIAD, ev(3));
    assert.deepEqual(values(await next), data([fresh]));
    assert.equal(server.requests[1]!.since, undefined, 'since is not sent with a position');
    assert.ok(server.requests[1]!.lastEventId !== undefined, 'the position is sent');
  });

  it('an offset the server resolved from a start time goes back as that time (another data centre has other offsets)', async (t) => {
    const server = await startServer(t);
    const now = Date.now();
    const old = [
      server.append(EQIAD, ev(1), now - 40_000),
      server.append(EQIAD, ev(2), now - 30_000),
      server.append(CODFW, ev('c1'), now - 20_000),
    ];
    // The first connection ends before codfw delivers: its id entry is the offset the server found
    // for `since` in its own cluster.
    server.script({ kind: 'serve', after: 2, then: 'drop' });
    const since = now - 50_000;
    const { source } = makeSource(server, await tempDir(t, 'sse-'), { since });
    t.after(() => source.close());
    const read = reader(source);
    assert.deepEqual(values(await read.take(3)), data(old));
    const id = parsedId(server.requests[1]!.lastEventId);
    assert.deepEqual(entryOf(id, CODFW), { topic: CODFW, partition: 0, timestamp: since });
    await read.end();
  });

  it('a frame larger than max_record_bytes becomes its head with oversizeBytes; the next is whole', async (t) => {
    const server = await startServer(t);
    const { source } = makeSource(server, await tempDir(t, 'sse-'), {}, { maxRecordBytes: 2048 });
    t.after(() => source.close());
    const read = reader(source);
    const taken = read.take(2);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const big = server.append(EQIAD, { n: 1, pad: 'x'.repeat(200_000) });
    const small = server.append(EQIAD, ev(2));
    const [head, whole] = await taken;
    assert.equal(head!.oversizeBytes, Buffer.byteLength(big.data));
    assert.equal(head!.value.length, RECORD_HEAD_BYTES);
    assert.ok(big.data.startsWith(head!.value.toString()), 'the head is the frame’s first bytes');
    assert.equal(whole!.oversizeBytes, undefined);
    assert.equal(whole!.value.toString(), small.data);
    await read.end();
  });

  it('domains: other wikis are skipped and counted; with nothing left to commit they move the saved position', async (t) => {
    const server = await startServer(t);
    const dir = await tempDir(t, 'sse-');
    const a = makeSource(server, dir, { domains: ['en.wikipedia.org', '*.wikivoyage.org'] });
    const read = reader(a.source);
    const taken = read.take(3);
    await waitUntil('the stream to start', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    const appended = [
      server.append(EQIAD, ev(1)),
      server.append(EQIAD, ev(2, 'de.wikipedia.org')),
      server.append(EQIAD, ev(3, 'fr.wikivoyage.org')),
      server.append(EQIAD, 'not json'),
      server.append(EQIAD, ev(5, 'canary')),
      server.append(EQIAD, ev(6, 'de.wikipedia.org')),
    ];
    assert.deepEqual(values(await taken), data([appended[0]!, appended[2]!, appended[3]!]));
    await a.source.commit(new Map([[server.url, 3]]));
    // The skipped events after the last record are read when the source is pulled again.
    const pending = read.next();
    await waitUntil('the last two skipped', () => a.metrics.counts.get('sse_skipped_events_total') === 3, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    a.source.stop();
    assert.equal((await pending).done, true);
    await a.source.close();
    const saved = JSON.parse(await readFile(join(dir, 'position.json'), 'utf8')) as {
      last_event_id: PartitionPosition[];
    };
    assert.equal(
      entryOf(saved.last_event_id, EQIAD).timestamp,
      appended[5]!.timestamp + 1,
      'past the skipped events at the end',
    );
  });

  it('stop() ends the records at once while waiting to reconnect, or for the next event', async (t) => {
    const server = await startServer(t);
    server.script({ kind: 'status', status: 503, headers: { 'retry-after': '600' } });
    const waiting = makeSource(server, await tempDir(t, 'sse-'));
    const read = reader(waiting.source);
    const next = read.next();
    await waitUntil('the 503', () => waiting.waits.calls.some((c) => /HTTP 503/.test(c.why ?? '')), {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    waiting.source.stop();
    assert.deepEqual(await withDeadline(next, 5_000, 'the end after stop()'), {
      done: true,
      value: undefined,
    });

    const streaming = makeSource(server, await tempDir(t, 'sse-'));
    const read2 = reader(streaming.source);
    const next2 = read2.next();
    await waitUntil('the stream', () => server.streamsStarted === 1, { timeoutMs: 10_000 });
    streaming.source.stop();
    assert.deepEqual(await withDeadline(next2, 5_000, 'the end after stop()'), {
      done: true,
      value: undefined,
    });
    await waitUntil('the server to see the stream closed', () => server.openStreams === 0, {
      timeoutMs: 10_000,
    });
    await waiting.source.close();
    await streaming.source.close();
  });

  it('refuses a position file of another stream, or one that is not a position, as a configuration error', async (t) => {
    const server = await startServer(t);
    const dir = await tempDir(t, 'sse-');
    const path = join(dir, 'position.json');
    const binding = (url: string) => ({
      stream: 'mediawiki.page_change.v1',
      version: '1.2.0',
      connector: 'sse',
      key: 'stream_manager.source',
      options: new OptionReader(
        {
          url,
          user_agent: USER_AGENT,
          position_file: path,
          idle_timeout_ms: 1000,
          connect_timeout_ms: 1000,
          reconnect_min_delay_ms: 10,
          reconnect_max_delay_ms: 10,
        },
        'stream_manager.source.options',
      ),
    });
    await checkSsePosition(binding(server.url));
    await writeFile(
      path,
      JSON.stringify({
        url: `${server.url}.other`,
        last_event_id: [{ topic: EQIAD, partition: 0, offset: 1 }],
      }),
    );
    await assert.rejects(checkSsePosition(binding(server.url)), (err: Error) => {
      assert.ok(err instanceof ConfigError, err.message);
      assert.match(
        err.message,
        /^stream_manager\.source\.options\.position_file: position file .* holds a position of .*\.other, not of/,
      );
      return true;
    });
    await writeFile(path, '{"url": "x", "last_event_id": [{"topic": "t", "partition": 0, "offset": -1}]}');
    await assert.rejects(checkSsePosition(binding(server.url)), /has no valid "last_event_id"/);
    await writeFile(path, 'garbage');
    await assert.rejects(checkSsePosition(binding(server.url)), /is not JSON/);
  });
});
