/**
 * The end of a finite input (a file) is no stop: every record read gets its outcome, however long
 * its fetch takes, because a file has no committed position to resume from. `drain_timeout_ms`
 * bounds only the wait after a stop (a signal, a failure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import { ONE_ENRICHED, outcomeCounts, runJob, startApi, type Json } from '../helpers/job-harness.js';

const edit = (revId: number) =>
  pageChangeEvent({ revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } } });

test('at the end of the input, records in flight finish even when that takes longer than drain_timeout_ms', async (t) => {
  const api = await startApi(t, { fallback: { kind: 'serve', delayMs: 1_000 } });
  api.addRevision({ revId: 2, pageId: 1, title: 'Main_Page', slots: { main: { content: 'slow answer' } } });
  const run = await runJob(t, api, [edit(2)], { runtime: { drain_timeout_ms: 100 } });
  assert.deepEqual(outcomeCounts(run.summary), ONE_ENRICHED);
  const main = (run.outputs[0]?.revision as { content_slots: { main: Json } } | undefined)?.content_slots
    .main;
  assert.equal(main?.content_body, 'slow answer');
});

test(
  'a stop while the end of the input waits for a fetch is bounded by drain_timeout_ms',
  // An unbounded wait would hang the suite: fail instead.
  { timeout: 30_000 },
  async (t) => {
    const api = await startApi(t, { fallback: { kind: 'hang' } });
    api.addRevision({
      revId: 2,
      pageId: 1,
      title: 'Main_Page',
      slots: { main: { content: 'never served' } },
    });
    const run = await runJob(
      t,
      api,
      [edit(2)],
      { enrich: { request_timeout: 600 }, runtime: { drain_timeout_ms: 100 } },
      // Stop once the request is out, as a signal would: the run then ends without its outcome.
      {
        onStart: (pipeline) => {
          const poll = setInterval(() => {
            if (api.requests.length === 0) return;
            clearInterval(poll);
            pipeline.stop();
          }, 10);
          t.after(() => clearInterval(poll));
        },
      },
    );
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 1,
      enriched: 0,
      passed: 0,
      dropped: 0,
      failed: 0,
      unfinished: 1,
      errors: {},
    });
    assert.deepEqual(run.outputs, []);
    assert.deepEqual(run.errors, []);
  },
);

test(
  'a stop while the window is full of records that never finish ends after drain_timeout_ms',
  // Without a bound the run would wait for a free slot for ever: fail instead of hanging the suite.
  { timeout: 30_000 },
  async (t) => {
    const api = await startApi(t, { fallback: { kind: 'hang' } });
    const events = [2, 3, 4, 5, 6].map((revId) => {
      api.addRevision({
        revId,
        pageId: revId,
        title: `Page_${revId}`,
        slots: { main: { content: 'never served' } },
      });
      return pageChangeEvent({
        page: { page_id: revId },
        revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
      });
    });
    const run = await runJob(
      t,
      api,
      events,
      {
        enrich: { batch_size: 1, batch_linger_ms: 0, request_timeout: 600 },
        runtime: { max_in_flight: 2, drain_timeout_ms: 100 },
      },
      {
        // Stop once both slots hold a hanging request: the source loop is waiting for a slot.
        onStart: (pipeline) => {
          const poll = setInterval(() => {
            if (api.requests.length < 2) return;
            clearInterval(poll);
            pipeline.stop();
          }, 10);
          t.after(() => clearInterval(poll));
        },
      },
    );
    assert.deepEqual(outcomeCounts(run.summary), {
      records: 2,
      enriched: 0,
      passed: 0,
      dropped: 0,
      failed: 0,
      unfinished: 2,
      errors: {},
    });
    assert.deepEqual(api.requestedRevIds().sort(), [2, 3]);
    assert.deepEqual(run.outputs, []);
  },
);
