/**
 * The page-content-change job fed by the sse source (a local EventStreams stand-in): events are
 * enriched as from Kafka, the stream's canaries are dropped by the job, an oversize frame and a
 * frame that is not JSON become error events, and a stop commits the position.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import { pino } from 'pino';
import { runPageContentChangeJob } from '../../src/runtime/main.js';
import {
  assertErrorEventFor,
  assertValidOutput,
  jobConfig,
  jobPaths,
  outcomeCounts,
  readLines,
  startApi,
  tempDir,
  USER_AGENT,
  type Json,
} from '../helpers/job-harness.js';
import { CODFW, EQIAD, SseServer } from '../helpers/sse-server.js';

const edit = (revId: number, pageId: number) =>
  pageChangeEvent({
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

test('sse source → job: enriched, canary dropped, oversize and broken frames as error events, position saved', async (t) => {
  const server = await SseServer.start();
  t.after(() => server.close());
  const api = await startApi(t);
  api.addRevision(
    { revId: 11, pageId: 1, title: 'Page_1', slots: { main: { content: 'first content' } } },
    { revId: 12, pageId: 2, title: 'Page_2', slots: { main: { content: 'second content' } } },
  );
  const dir = await tempDir(t, 'sse-job-');
  const positionFile = join(dir, 'position.json');
  const canary = pageChangeEvent({ meta: { domain: 'canary' } });
  const oversize = pageChangeEvent({ comment: 'x'.repeat(10_000) });
  const inputs: Array<[string, Json | string]> = [
    [EQIAD, edit(11, 1)],
    [CODFW, canary],
    [EQIAD, oversize],
    [EQIAD, 'not json'],
    [CODFW, edit(12, 2)],
  ];
  const paths = jobPaths(dir);
  const config = jobConfig(paths, api.url, {
    stream_manager: {
      source: {
        connector: 'sse',
        options: {
          path: undefined,
          url: server.url,
          user_agent: USER_AGENT,
          position_file: positionFile,
          reconnect_min_delay_ms: 20,
        },
      },
      sink: { options: { append: true } },
      error_sink: { options: { append: true } },
    },
    runtime: { max_record_bytes: 4096 },
  });
  const { summary, exitCode } = await runPageContentChangeJob(config, {
    logger: pino({ level: 'silent' }),
    signals: [],
    onStart: (pipeline) => {
      // Once the stream is open, the events; once every output is written, a stop (as SIGTERM).
      const poll = setInterval(() => {
        if (server.streamsStarted === 1 && server.events.length === 0) {
          for (const [topic, event] of inputs) server.append(topic, event);
        }
        void Promise.all([readLines(paths.output), readLines(paths.errors)]).then(([o, e]) => {
          if (o.length + e.length < 4) return;
          clearInterval(poll);
          pipeline.stop();
        });
      }, 20);
      t.after(() => clearInterval(poll));
    },
  });
  const run = {
    summary,
    exitCode,
    outputs: (await readLines(paths.output)).map((l) => JSON.parse(l) as Json),
    errors: (await readLines(paths.errors)).map((l) => JSON.parse(l) as Json),
  };
  assert.equal(run.exitCode, 0, run.summary.failure);
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 5,
    enriched: 2,
    passed: 0,
    dropped: 1,
    failed: 2,
    unfinished: 0,
    errors: { InvalidEventError: 2 },
  });
  assert.deepEqual(run.summary.reasons.dropped, { canary: 1 });
  const bodies = run.outputs.map(
    (o) => ((o.revision as Json).content_slots as { main: { content_body: string } }).main.content_body,
  );
  assert.deepEqual(bodies, ['first content', 'second content']);
  for (const output of run.outputs) await assertValidOutput(output);
  const [tooLarge, broken] = run.errors;
  assert.match(String(tooLarge!.message), /input is \d+ bytes, over the limit of 4096 bytes/);
  await assertErrorEventFor(broken!, 'not json', { errorType: 'InvalidEventError', message: /not JSON/ });
  // Every api request carried the job's user agent; the stream request the source's.
  assert.equal(server.requests[0]!.headers['user-agent'], USER_AGENT);
  const saved = JSON.parse(await readFile(positionFile, 'utf8')) as { url: string; last_event_id: Json[] };
  assert.equal(saved.url, server.url);
  assert.deepEqual(
    saved.last_event_id.map((e) => [e.topic, e.timestamp]),
    [
      [EQIAD, server.events[3]!.timestamp + 1],
      [CODFW, server.events[4]!.timestamp + 1],
    ],
  );
});
