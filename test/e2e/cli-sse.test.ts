/**
 * The built CLI reading Wikimedia EventStreams — here a local stand-in speaking its wire format,
 * reached through `http_client_routes` as the public URL would be — enriching from the stand-in
 * Action API into file sinks, stopped with SIGTERM and started again: the second run resumes from
 * the position file, so that every event has exactly one output across the two runs, including an
 * event of the partition (codfw) that had delivered nothing before the stop.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  ensureBuilt,
  pageContentChange,
  parseSummaryLine,
  spawnCli,
  waitForExit,
  waitForLog,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertValidOutput,
  jobConfig,
  jobPaths,
  readLines,
  startApi,
  tempDir,
  USER_AGENT,
  type Json,
} from '../helpers/job-harness.js';
import { CODFW, EQIAD, SseServer, STREAM_PATH } from '../helpers/sse-server.js';
import { waitUntil } from '../helpers/wait.js';

before(() => ensureBuilt());

const PUBLIC_STREAM = `https://stream.wikimedia.org${STREAM_PATH}`;

const edit = (revId: number) =>
  pageChangeEvent({
    page: { page_id: revId, page_title: `Page_${revId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

test('sse → file: enriches streamed events, stops on SIGTERM, resumes from the position file with none skipped or repeated', async (t) => {
  const server = await SseServer.start();
  t.after(() => server.close());
  const api = await startApi(t);
  for (const revId of [1, 2, 3, 4]) {
    api.addRevision({
      revId,
      pageId: revId,
      title: `Page_${revId}`,
      slots: { main: { content: `text ${revId}` } },
    });
  }
  const dir = await tempDir(t, 'cli-sse-');
  const paths = jobPaths(dir);
  const positionFile = join(dir, 'position.json');
  const config = join(dir, 'config.yaml');
  const document = jobConfig(paths, api.url, {
    stream_manager: {
      http_client_routes: { 'https://stream.wikimedia.org': server.origin },
      source: {
        connector: 'sse',
        options: { path: undefined, url: PUBLIC_STREAM, user_agent: USER_AGENT, position_file: positionFile },
      },
      sink: { options: { append: true } },
      error_sink: { options: { append: true } },
    },
    runtime: { log_level: 'info', commit_interval_ms: 100 },
  });
  await writeFile(config, JSON.stringify(document, null, 2));
  const outputs = () => readLines(paths.output);

  // First run: two edits and a canary, all on eqiad; codfw delivers nothing.
  const first = spawnCli(t, pageContentChange(config));
  await waitForLog(first, 'sse source connected', 60_000);
  server.append(EQIAD, edit(1));
  server.append(EQIAD, pageChangeEvent({ meta: { domain: 'canary' } }));
  server.append(EQIAD, edit(2));
  await waitUntil('two outputs', async () => (await outputs()).length === 2, {
    timeoutMs: 30_000,
    watch: [first],
  });
  assert.deepEqual(await first.stop(), { code: 0, signal: null });
  assert.match(
    parseSummaryLine(first.stderr())!.line,
    /records=3 enriched=2 passed=0 dropped=1 failed=0 unfinished=0/,
  );
  const saved = JSON.parse(await readFile(positionFile, 'utf8')) as { url: string; last_event_id: Json[] };
  assert.equal(saved.url, PUBLIC_STREAM);
  const codfwSaved = saved.last_event_id.find((e) => e.topic === CODFW)!;
  assert.equal(codfwSaved.offset, undefined, 'the idle partition is saved as a time, not offset -1');
  assert.ok(typeof codfwSaved.timestamp === 'number', 'with a timestamp');

  // While it is stopped: codfw's first event, and one more on eqiad.
  server.append(CODFW, edit(3));
  server.append(EQIAD, edit(4));

  const second = spawnCli(t, pageContentChange(config));
  await waitUntil('four outputs', async () => (await outputs()).length === 4, {
    timeoutMs: 60_000,
    watch: [second],
  });
  assert.deepEqual(await second.stop(), { code: 0, signal: null });
  assert.match(
    parseSummaryLine(second.stderr())!.line,
    /records=2 enriched=2 passed=0 dropped=0 failed=0 unfinished=0/,
  );
  await waitForExit(second, 1_000);

  const written = (await outputs()).map((l) => JSON.parse(l) as Json);
  assert.deepEqual(
    written.map((o) => [
      (o.revision as Json).rev_id,
      ((o.revision as Json).content_slots as { main: Json }).main.content_body,
    ]),
    [
      [1, 'text 1'],
      [2, 'text 2'],
      [3, 'text 3'],
      [4, 'text 4'],
    ],
    'each event once, in stream order, across the restart',
  );
  for (const output of written) await assertValidOutput(output);
  assert.deepEqual(await readLines(paths.errors), []);

  // What the stream was asked: the public URL routed here, with the configured User-Agent, from the
  // end of the stream at first, then from the saved position (the idle partition as a time).
  assert.equal(server.requests.length, 2);
  for (const request of server.requests) {
    assert.equal(request.headers.host, 'stream.wikimedia.org');
    assert.equal(request.headers['user-agent'], USER_AGENT);
  }
  assert.equal(server.requests[0]!.lastEventId, undefined);
  assert.deepEqual(JSON.parse(server.requests[1]!.lastEventId!), saved.last_event_id);
});
