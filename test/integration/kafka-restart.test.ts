import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { OptionReader } from '../../src/core/options.js';
import { createKafkaConnectors } from '../../src/connectors/kafka/index.js';
import {
  committedOffsets,
  createTopic,
  ensureKafka,
  iterate,
  nextOffsets,
  pull,
  recordingListener,
  restartKafka,
  text,
  uniqueName,
} from '../helpers/kafka.js';
import { kcatConsume, kcatProduce } from '../helpers/kcat.js';

let bootstrap: string;

describe('Kafka connectors across a broker restart', { timeout: 300_000 }, () => {
  before(async () => {
    bootstrap = await ensureKafka();
  });

  it('the source keeps reading and the sink delivers what was sent while the broker was down', async (t) => {
    const input = await createTopic(bootstrap, 1, 'restart-in');
    const output = await createTopic(bootstrap, 1, 'restart-out');
    const group = uniqueName('group');
    await kcatProduce(
      bootstrap,
      input,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: `before-${i}` })),
    );
    const { source, sink } = createKafkaConnectors({
      source: {
        options: new OptionReader({ bootstrap_servers: bootstrap, consumer_group: group }, 'source'),
        defaultTopics: [input],
      },
      sink: { options: new OptionReader({ bootstrap_servers: bootstrap }, 'sink'), stream: output },
      clientId: 'restart',
    });
    assert.ok(source && sink);
    t.after(async () => {
      source.stop();
      await sink.close();
      await source.close();
    });
    const records = iterate(source, recordingListener());
    const first = await pull(records, (rs) => rs.length === 3);
    await Promise.all(
      first.map((r) => sink.send({ key: text(r.key), value: Buffer.from(`out:${text(r.value)}`) })),
    );
    await source.commit(nextOffsets(first));

    // A pull pending across the restart, and a send issued while the broker is down.
    const pending = pull(records, (rs) => rs.length === 2, 120_000);
    const stopped = restartKafka();
    const sentDuringRestart = sink.send({ key: 'k-during', value: Buffer.from('out:during') });
    await stopped;
    await sentDuringRestart;
    await kcatProduce(
      bootstrap,
      input,
      [3, 4].map((i) => ({ key: `k${i}`, value: `after-${i}` })),
    );
    const after = await pending;
    assert.deepEqual(
      after.map((r) => [r.offset, text(r.value)]),
      [
        [3, 'after-3'],
        [4, 'after-4'],
      ],
    );
    await source.commit(nextOffsets(after));
    assert.deepEqual(await committedOffsets(bootstrap, group, input), new Map([[`${input}/0`, 5]]));
    assert.deepEqual(
      (await kcatConsume(bootstrap, output)).map((r) => r.value),
      ['out:before-0', 'out:before-1', 'out:before-2', 'out:during'],
    );
  });
  it('an exactly-once transaction open across the restart commits afterwards, with its offsets', async (t) => {
    const input = await createTopic(bootstrap, 1, 'restart-eos-in');
    const output = await createTopic(bootstrap, 1, 'restart-eos-out');
    const group = uniqueName('group');
    await kcatProduce(
      bootstrap,
      input,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: `v${i}` })),
    );
    const eos = { bootstrap_servers: bootstrap, delivery_guarantee: 'EXACTLY_ONCE' };
    const { source, sink } = createKafkaConnectors({
      source: {
        options: new OptionReader({ ...eos, consumer_group: group, instance_id: 'restart' }, 'source'),
        defaultTopics: [input],
      },
      sink: { options: new OptionReader(eos, 'sink'), stream: output },
      clientId: 'restart-eos',
    });
    assert.ok(source && sink);
    t.after(async () => {
      source.stop();
      await sink.close();
      await source.close();
    });
    const records = iterate(source, recordingListener());
    const first = await pull(records, (rs) => rs.length === 2);
    await Promise.all(
      first.map((r) => sink.send({ key: text(r.key), value: Buffer.from(`out:${text(r.value)}`) })),
    );
    await source.commit(nextOffsets(first));

    const [third] = await pull(records, (rs) => rs.length === 1);
    assert.ok(third);
    await sink.send({ key: text(third.key), value: Buffer.from(`out:${text(third.value)}`) });
    await restartKafka();
    await source.commit(nextOffsets([third]));
    assert.deepEqual(
      (await kcatConsume(bootstrap, output, { isolation: 'read_committed' })).map((r) => r.value),
      ['out:v0', 'out:v1', 'out:v2'],
    );
    assert.deepEqual(await committedOffsets(bootstrap, group, input), new Map([[`${input}/0`, 3]]));
  });
});
