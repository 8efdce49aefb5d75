/**
 * An output larger than the sink takes. The sink's `properties: { message.max.bytes: 20000 }` makes
 * its limit 20000 − 1024 bytes (room for key and framing); one revision is served with 30,000
 * bytes of content. With `oversize_policy: error_event` (the default) that input becomes an
 * `OversizeEventError` error event carrying the raw input, not the output, and the events after it
 * still flow. With `oversize_policy: fail` the service stops (exit 1) without committing past it.
 */
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { ensureBuilt } from '../helpers/cli.js';
import { ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  account,
  assertPerPageOrder,
  contentOf,
  createE2eTopics,
  editEvent,
  endOffsets,
  groupOffsets,
  produceInputs,
  randomLatency,
  readErrors,
  readInputs,
  readOutputs,
  seeded,
  serviceConfig,
  startService,
  summaryCounts,
  waitUntil,
  writeConfig,
  type E2eTopics,
  type Input,
  type Json,
} from '../helpers/kafka-e2e.js';
import { startApi, tempDir } from '../helpers/job-harness.js';

const SINK_MESSAGE_MAX_BYTES = 20_000;
const BIG_CONTENT_BYTES = 30_000;

let bootstrap: string;

interface Setup {
  topics: E2eTopics;
  inputs: Input[];
  big: Input;
  ends: Map<string, number>;
  /** Where the big input landed. */
  bigAt: { partition: string; offset: number };
  endpoint: string;
}

/** 60 edits on 6 pages over 2 partitions; the 25th (page 3) has the oversize revision. */
async function setup(t: TestContext, name: string): Promise<Setup> {
  const topics = await createE2eTopics(bootstrap, name, { input: 2, output: 2 });
  const api = await startApi(t, { fallback: randomLatency(seeded(3), 1, 5) });
  const inputs = Array.from({ length: 60 }, (_, i) => editEvent(`e2e-${i}`, 1 + (i % 6), 5000 + i));
  const big = inputs[24]!;
  for (const input of inputs) {
    const content = input === big ? 'B'.repeat(BIG_CONTENT_BYTES) : contentOf(input.revId);
    api.addRevision({
      revId: input.revId,
      pageId: input.pageId,
      title: `Page_${input.pageId}`,
      slots: { main: { content } },
    });
  }
  await produceInputs(bootstrap, topics.input, inputs);
  const placed = await readInputs(bootstrap, topics.input, inputs);
  const at = placed.get(big.id)!;
  return {
    topics,
    inputs,
    big,
    ends: endOffsets([...placed.values()], topics.input),
    bigAt: { partition: `${topics.input}/${at.partition}`, offset: at.offset },
    endpoint: api.url,
  };
}

describe('kafka-e2e-oversize: an output over the sink message.max.bytes', { timeout: 300_000 }, () => {
  before(async () => {
    [bootstrap] = await Promise.all([ensureKafka(), ensureBuilt()]);
  });

  it('oversize_policy error_event: an OversizeEventError with the raw input, the events after it flow', async (t) => {
    const { topics, inputs, big, ends, endpoint } = await setup(t, 'oversize');
    const group = uniqueName('e2e-oversize');
    const offsets = await groupOffsets(t, bootstrap, group);
    const dir = await tempDir(t, 'kafka-e2e-oversize-');
    const config = await writeConfig(
      dir,
      'service.json',
      serviceConfig({
        bootstrap,
        topics,
        group,
        endpoint,
        sinkProperties: { 'message.max.bytes': String(SINK_MESSAGE_MAX_BYTES) },
        errorSinkProperties: {},
      }),
    );
    const service = startService(t, config);
    await waitUntil('the committed offsets to reach the end of the input', () => offsets.reached(ends), {
      timeoutMs: 60_000,
      services: [service],
    });
    assert.deepEqual(await service.stop(), { code: 0, signal: null }, service.stderr().slice(-3000));
    assert.deepEqual(summaryCounts(service.stderr()), {
      records: 60,
      enriched: 59,
      passed: 0,
      dropped: 0,
      failed: 1,
      unfinished: 0,
      OversizeEventError: 1,
    });

    const outputs = await readOutputs(bootstrap, topics.output);
    const errors = await readErrors(bootstrap, topics.errors);
    assert.deepEqual(account(inputs, outputs, errors), {
      lost: [],
      duplicates: 0,
      duplicatedInputs: 0,
      unknown: [],
    });
    assert.ok(!outputs.some((o) => o.id === big.id), 'no output for the oversize input');
    assert.ok(outputs.every((o) => o.value.length <= SINK_MESSAGE_MAX_BYTES - 1024));
    assert.deepEqual(
      outputs.map((o) => o.id).sort(),
      inputs
        .filter((i) => i !== big)
        .map((i) => i.id)
        .sort(),
      'every other input, before and after the oversize one, has its output',
    );
    for (const o of outputs) {
      const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
      assert.equal(revision.content_slots.main.content_body, contentOf(revision.rev_id));
    }
    assertPerPageOrder(outputs);
    // The same page's later revisions made it out, after the oversize one was turned into an error.
    const laterOnPage = outputs.filter(
      (o) => o.key === big.key && Number((o.event.revision as Json).rev_id) > big.revId,
    );
    assert.equal(
      laterOnPage.length,
      inputs.filter((i) => i.pageId === big.pageId && i.revId > big.revId).length,
    );

    assert.equal(errors.length, 1);
    const error = errors[0]!;
    assert.equal(error.event.error_type, 'OversizeEventError');
    assert.equal(error.event.raw_event, big.value, 'the error event carries the raw input');
    assert.ok(!String(error.event.raw_event).includes('BBBBBBBBBB'), 'and not the enriched output');
    assert.match(
      String(error.event.message),
      new RegExp(`over the sink's limit of ${SINK_MESSAGE_MAX_BYTES - 1024} bytes`),
    );
    assert.equal(error.key, big.key);
    assert.ok(error.value.length < SINK_MESSAGE_MAX_BYTES, 'the error event itself is small');
  });

  it('oversize_policy fail: the service stops with exit 1 and does not commit past the oversize input', async (t) => {
    const { topics, big, ends, bigAt, endpoint } = await setup(t, 'oversize-fail');
    const group = uniqueName('e2e-oversize-fail');
    const offsets = await groupOffsets(t, bootstrap, group);
    const dir = await tempDir(t, 'kafka-e2e-oversize-fail-');
    const config = await writeConfig(
      dir,
      'service.json',
      serviceConfig({
        bootstrap,
        topics,
        group,
        endpoint,
        sinkProperties: { 'max.request.size': String(SINK_MESSAGE_MAX_BYTES) },
        errorSinkProperties: {},
        runtime: { oversize_policy: 'fail' },
      }),
    );
    const service = startService(t, config);
    const exit = await service.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, service.stderr().slice(-3000));
    assert.match(
      service.stderr(),
      new RegExp(
        `output of ${bigAt.partition.replace(/\./g, '\\.')}@${bigAt.offset} is \\d+ bytes, over ${SINK_MESSAGE_MAX_BYTES - 1024}`,
      ),
    );
    const committed = await offsets.read(ends);
    assert.ok(
      (committed.get(bigAt.partition) ?? 0) <= bigAt.offset,
      `committed ${committed.get(bigAt.partition)} is not past the oversize input at ${bigAt.offset}`,
    );
    const outputs = await readOutputs(bootstrap, topics.output);
    assert.ok(!outputs.some((o) => o.id === big.id));
    assert.deepEqual(await readErrors(bootstrap, topics.errors), [], 'no error event under the fail policy');
  });
});
