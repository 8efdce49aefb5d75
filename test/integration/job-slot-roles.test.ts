/**
 * Slot roles are names from the wiki's answer: any of them, even one named like a property every
 * object inherits, is a slot of the output like `main`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import { assertValidOutput, runJob, startApi, type Json } from '../helpers/job-harness.js';

test('slots named __proto__, constructor or toString are enriched like any other', async (t) => {
  const api = await startApi(t);
  const roles = ['main', '__proto__', 'constructor', 'toString'];
  const slots = roles
    .map((role) => `"${role}":{"contentmodel":"wikitext","content":"text of ${role}"}`)
    .join(',');
  api.setFallback(() => ({
    kind: 'raw',
    body: `{"query":{"pages":[{"pageid":1,"revisions":[{"revid":7,"slots":{${slots}}}]}]}}`,
  }));
  const run = await runJob(t, api, [pageChangeEvent({ revision: { rev_id: 7 } })]);

  assert.deepEqual(run.summary.outcomes, { enriched: 1, passed: 0, dropped: 0, failed: 0 });
  const outputSlots = (run.outputs[0]!.revision as Json).content_slots as Json;
  assert.deepEqual(Object.keys(outputSlots), roles);
  for (const role of roles) {
    const slot = Object.getOwnPropertyDescriptor(outputSlots, role)?.value as Json;
    assert.equal(slot.content_body, `text of ${role}`, role);
    if (role !== 'main')
      assert.deepEqual(slot, { slot_role: role, content_model: 'wikitext', content_body: `text of ${role}` });
  }
  await assertValidOutput(run.outputs[0]);
});
