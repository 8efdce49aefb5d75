import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { SourceRecord } from '../../src/connectors/types.js';
import { committedOffsets, createTopic, ensureKafka, restartKafka, uniqueName } from '../helpers/kafka.js';
import {
  iterate,
  kafkaConnectors,
  type ConnectorsSpec,
  nextOffsets,
  pull,
  recordingListener,
  text,
} from '../helpers/kafka-connectors.js';
import { kcatConsume, kcatProduce, keyedValues } from '../helpers/kcat.js';

const bootstrap = await ensureKafka();

/** An input topic holding `values` (keyed `k<index>`), an output topic and a group name. */
async function topicsWith(prefix: string, values: readonly string[]) {
  const input = await createTopic(bootstrap, 1, `${prefix}-in`);
  const output = await createTopic(bootstrap, 1, `${prefix}-out`);
  await kcatProduce(bootstrap, input, keyedValues(values));
  return { input, output, group: uniqueName('group') };
}

/**
 * A source and a sink; the first `count` records read are passed on to the sink as `out:<value>`
 * and committed.
 */
async function passOn(t: TestContext, count: number, spec: ConnectorsSpec) {
  const { source, sink } = kafkaConnectors(t, bootstrap, spec);
  const records = iterate(source!, recordingListener());
  const first = await pull(records, (rs) => rs.length === count);
  await Promise.all(
    first.map((r) => sink!.send({ key: text(r.key), value: Buffer.from(`out:${text(r.value)}`) })),
  );
  const commit = (done: readonly SourceRecord[]) => source!.commit(nextOffsets(done));
  await commit(first);
  return { records, sink: sink!, commit };
}

describe('Kafka connectors across a broker restart', { timeout: 300_000 }, () => {
  it('the source keeps reading and the sink delivers what was sent while the broker was down', async (t) => {
    const { input, output, group } = await topicsWith('restart', ['before-0', 'before-1', 'before-2']);
    const { records, sink, commit } = await passOn(t, 3, {
      clientId: 'restart',
      source: { topic: input, options: { consumer_group: group } },
      sink: { stream: output },
    });

    // A pull pending across the restart, and a send issued while the broker is down.
    const pending = pull(records, (rs) => rs.length === 2, 120_000);
    const stopped = restartKafka();
    const sentDuringRestart = sink.send({ key: 'k-during', value: Buffer.from('out:during') });
    await stopped;
    await sentDuringRestart;
    // One record per call: right after the restart a produce request can fail and be retried behind
    // the next one, and kcat's producer is not idempotent, so two records of one call can swap.
    for (const i of [3, 4]) await kcatProduce(bootstrap, input, [{ key: `k${i}`, value: `after-${i}` }]);
    const after = await pending;
    assert.deepEqual(
      after.map((r) => [r.offset, text(r.value)]),
      [
        [3, 'after-3'],
        [4, 'after-4'],
      ],
    );
    await commit(after);
    assert.deepEqual(await committedOffsets(bootstrap, group, input), new Map([[`${input}/0`, 5]]));
    assert.deepEqual(
      (await kcatConsume(bootstrap, output)).map((r) => r.value),
      ['out:before-0', 'out:before-1', 'out:before-2', 'out:during'],
    );
  });
  it('an exactly-once transaction open across the restart commits afterwards, with its offsets', async (t) => {
    const { input, output, group } = await topicsWith('restart-eos', ['v0', 'v1', 'v2']);
    const eos = { delivery_guarantee: 'EXACTLY_ONCE' };
    const { records, sink, commit } = await passOn(t, 2, {
      clientId: 'restart-eos',
      source: { topic: input, options: { ...eos, consumer_group: group, instance_id: 'restart' } },
      sink: { stream: output, options: eos },
    });

    const [third] = await pull(records, (rs) => rs.length === 1);
    assert.ok(third);
    await sink.send({ key: text(third.key), value: Buffer.from(`out:${text(third.value)}`) });
    await restartKafka();
    await commit([third]);
    assert.deepEqual(
      (await kcatConsume(bootstrap, output, { isolation: 'read_committed' })).map((r) => r.value),
      ['out:v0', 'out:v1', 'out:v2'],
    );
    assert.deepEqual(await committedOffsets(bootstrap, group, input), new Map([[`${input}/0`, 3]]));
  });
});
