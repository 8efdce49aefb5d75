/**
 * What the job tells the runtime about each outcome for its metrics: the input's page_change_kind
 * (`unknown` when it cannot be read or is not a known kind), the event's own time (meta.dt) and,
 * for a failure, the error event's message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Outcome } from '../../src/jobs/contract.js';
import { pageChangeEvent } from '../helpers/events.js';
import { buildJob, startApi, type Json } from '../helpers/job-harness.js';

const META_DT = '2024-05-01T12:00:01Z';

function facts(outcome: Outcome): Json {
  return {
    kind: outcome.kind,
    reason: outcome.reason,
    pageChangeKind: outcome.pageChangeKind,
    eventTime: outcome.eventTime,
    ...(outcome.kind === 'failed' && { message: outcome.message }),
  };
}

test('every outcome carries the page_change_kind and meta.dt of its input; failures their message', async (t) => {
  const api = await startApi(t);
  api.addRevision({ revId: 2, pageId: 1, title: 'Main_Page', slots: { main: { content: 'Hello' } } });
  const job = await buildJob(t, api);
  const time = Date.parse(META_DT);
  const handle = async (input: Json | string) =>
    facts(await job.handle(typeof input === 'string' ? input : JSON.stringify(input)));

  assert.deepEqual(await handle(pageChangeEvent()), {
    kind: 'enriched',
    reason: 'edit',
    pageChangeKind: 'edit',
    eventTime: time,
  });
  assert.deepEqual(await handle(pageChangeEvent({ page_change_kind: 'delete' })), {
    kind: 'passed',
    reason: 'delete',
    pageChangeKind: 'delete',
    eventTime: time,
  });
  assert.deepEqual(
    await handle(
      pageChangeEvent({ page_change_kind: 'visibility_change', revision: { is_content_visible: false } }),
    ),
    { kind: 'passed', reason: 'hidden', pageChangeKind: 'visibility_change', eventTime: time },
  );
  assert.deepEqual(await handle(pageChangeEvent({ meta: { domain: 'canary' } })), {
    kind: 'dropped',
    reason: 'canary',
    pageChangeKind: 'edit',
    eventTime: time,
  });
  const missing = await handle(pageChangeEvent({ revision: { rev_id: 404 } }));
  assert.deepEqual(
    { ...missing, message: undefined },
    {
      kind: 'failed',
      reason: 'MissingRevisionError',
      pageChangeKind: 'edit',
      eventTime: time,
      message: undefined,
    },
  );
  assert.match(String(missing.message), /404/);
  const teleport = await handle(pageChangeEvent({ page_change_kind: 'teleport' }));
  assert.equal(teleport.pageChangeKind, 'unknown', 'a kind outside the set');
  assert.equal(teleport.reason, 'SchemaValidationError');
  assert.match(String(teleport.message), /page_change_kind/);
  const undated = await handle(pageChangeEvent({ meta: { dt: 'yesterday' } }));
  assert.equal(undated.eventTime, undefined, 'a meta.dt that is no time');
  assert.equal(undated.pageChangeKind, 'edit');
  const cut = await handle('{"page_change_kind": "edit"');
  assert.deepEqual(
    { ...cut, message: undefined },
    {
      kind: 'failed',
      reason: 'InvalidEventError',
      pageChangeKind: 'unknown',
      eventTime: undefined,
      message: undefined,
    },
  );
  assert.match(String(cut.message), /^input is not JSON/);
  assert.match(String((await handle('[1]')).message), /not a JSON object/);
  assert.equal((await handle('[1]')).pageChangeKind, 'unknown');
});
