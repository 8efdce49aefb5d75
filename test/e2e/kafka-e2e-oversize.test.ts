/**
 * An output larger than the sink takes. The sink's `properties: { message.max.bytes: 20000 }` makes
 * its limit 20000 − 1024 bytes (room for key and framing); one revision is served with 30,000
 * bytes of content. With `oversize_policy: error_event` (the default) that input becomes an
 * `OversizeEventError` error event carrying the raw input, not the output, and the events after it
 * still flow. With `oversize_policy: fail` the service stops (exit 1) without committing past it.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { parseSummaryLine } from '../helpers/cli.js';
import { e2eRun, type E2eRun } from '../helpers/kafka-e2e.js';
import { assertContents, assertPerPageOrder, EXACTLY_ONE_EACH } from '../helpers/kafka-e2e-books.js';
import { addRevisions, contentOf, editEvent, type Input, type Json } from '../helpers/kafka-e2e-inputs.js';

const SINK_MESSAGE_MAX_BYTES = 20_000;
const BIG_CONTENT_BYTES = 30_000;

interface Setup {
  run: E2eRun;
  inputs: Input[];
  big: Input;
  ends: Map<string, number>;
  /** Where the big input landed. */
  bigAt: { partition: string; offset: number };
}

/** 60 edits on 6 pages over 2 partitions; the 25th (page 3) has the oversize revision. */
async function setup(t: TestContext, name: string): Promise<Setup> {
  const run = await e2eRun(t, name, {
    partitions: { input: 2, output: 2 },
    api: { seed: 3, minMs: 1, maxMs: 5 },
  });
  const inputs = Array.from({ length: 60 }, (_, i) => editEvent(`e2e-${i}`, 1 + (i % 6), 5000 + i));
  const big = inputs[24]!;
  addRevisions(run.api, inputs, {
    content: (revId) => (revId === big.revId ? 'B'.repeat(BIG_CONTENT_BYTES) : contentOf(revId)),
  });
  const { placed, ends } = await run.produce(inputs);
  const at = placed.get(big.id)!;
  return {
    run,
    inputs,
    big,
    ends,
    bigAt: { partition: `${run.topics.input}/${at.partition}`, offset: at.offset },
  };
}

describe('kafka-e2e-oversize: an output over the sink message.max.bytes', { timeout: 300_000 }, () => {
  it('oversize_policy error_event: an OversizeEventError with the raw input, the events after it flow', async (t) => {
    const { run, inputs, big, ends } = await setup(t, 'oversize');
    const config = await run.config({
      sinkProperties: { 'message.max.bytes': String(SINK_MESSAGE_MAX_BYTES) },
      errorSinkProperties: {},
    });
    const service = run.start(config);
    await run.finish(service, ends, 60_000);
    assert.deepEqual(parseSummaryLine(service.stderr())?.counts, {
      records: 60,
      enriched: 59,
      passed: 0,
      dropped: 0,
      failed: 1,
      unfinished: 0,
      OversizeEventError: 1,
    });

    const { outputs, errors, books } = await run.books(inputs);
    assert.deepEqual(books, EXACTLY_ONE_EACH);
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
    assertContents(outputs);
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
    const { run, big, ends, bigAt } = await setup(t, 'oversize-fail');
    const config = await run.config({
      sinkProperties: { 'max.request.size': String(SINK_MESSAGE_MAX_BYTES) },
      errorSinkProperties: {},
      runtime: { oversize_policy: 'fail' },
    });
    const service = run.start(config);
    assert.deepEqual(await service.exited, { code: 1, signal: null }, service.report());
    assert.match(
      service.stderr(),
      new RegExp(
        `output of ${bigAt.partition.replace(/\./g, '\\.')}@${bigAt.offset} is \\d+ bytes, over ${SINK_MESSAGE_MAX_BYTES - 1024}`,
      ),
    );
    const committed = await run.offsets.read(ends);
    assert.ok(
      (committed.get(bigAt.partition) ?? 0) <= bigAt.offset,
      `committed ${committed.get(bigAt.partition)} is not past the oversize input at ${bigAt.offset}`,
    );
    const { outputs, errors } = await run.outcomes();
    assert.ok(!outputs.some((o) => o.id === big.id));
    assert.deepEqual(errors, [], 'no error event under the fail policy');
  });
});
