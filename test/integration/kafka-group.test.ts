import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { KafkaSource } from '../../src/connectors/kafka/index.js';
import type { SourceRecord } from '../../src/connectors/types.js';
import { committedOffsets, createTopic, ensureKafka, uniqueName } from '../helpers/kafka.js';
import { iterate, kafkaSource, pull, recordingListener, text } from '../helpers/kafka-connectors.js';
import { kcatProduce } from '../helpers/kcat.js';

const bootstrap = await ensureKafka();

function source(t: TestContext, topic: string, group: string, clientId: string): KafkaSource {
  return kafkaSource(t, bootstrap, topic, { consumer_group: group }, { clientId });
}

const at = (records: readonly SourceRecord[]) =>
  records.map((r) => `${r.partition}@${r.offset}=${text(r.value)}`).sort();

describe('two KafkaSources in one consumer group', { timeout: 180_000 }, () => {
  it('split the partitions; revocation waits for onPartitionsRevoked; a leaving member hands over at its commits', async (t) => {
    const topic = await createTopic(bootstrap, 4, 'group-split');
    const group = uniqueName('group');
    const partitions = [0, 1, 2, 3].map((p) => `${topic}/${p}`);
    for (let p = 0; p < 4; p++) {
      await kcatProduce(
        bootstrap,
        topic,
        [0, 1, 2, 3, 4].map((i) => ({ key: `p${p}`, value: `p${p}-${i}` })),
        p,
      );
    }
    const events: string[] = [];

    const a = source(t, topic, group, 'member-a');
    // A's runtime "drains" its revoked partitions and commits them at offset 4 before letting go.
    const listenerA = recordingListener(async (revoked) => {
      events.push('a:revoke-start');
      await new Promise((r) => setTimeout(r, 500));
      await a.commit(new Map(revoked.map((p) => [p, 4])));
      events.push('a:revoke-committed');
    });
    const itA = iterate(a, listenerA);
    const readA = await pull(itA, (rs) => rs.length === 20);
    assert.deepEqual(new Set(readA.map((r) => r.partition)), new Set(partitions));
    // Progress committed so far by A: two records of every partition.
    await a.commit(new Map(partitions.map((p) => [p, 2])));

    const b = source(t, topic, group, 'member-b');
    const listenerB = recordingListener();
    const itB = iterate(b, listenerB);
    const firstB = await pull(itB, (rs) => rs.length === 2);
    events.push('b:first-records');

    assert.equal(listenerA.revoked.length, 1);
    const movedToB = [...(listenerA.revoked[0] ?? [])].sort();
    assert.equal(movedToB.length, 2);
    assert.deepEqual(new Set(firstB.map((r) => r.partition)), new Set(movedToB));
    // B starts at the offsets A committed inside onPartitionsRevoked, so it got them only after.
    assert.deepEqual(at(firstB), movedToB.map((p) => `${p}@4=p${p.slice(-1)}-4`).sort());
    assert.deepEqual(events, ['a:revoke-start', 'a:revoke-committed', 'b:first-records']);

    // A finishes: commits where it got to on its remaining partitions and leaves the group.
    const keptByA = partitions.filter((p) => !movedToB.includes(p));
    await a.commit(new Map(keptByA.map((p) => [p, 3])));
    a.stop();
    await a.close();
    assert.equal(
      listenerA.revoked.length,
      1,
      'closing does not call back into the runtime (it committed before close)',
    );

    const handedOver = await pull(itB, (rs) => rs.length === 4);
    assert.deepEqual(
      at(handedOver),
      keptByA.flatMap((p) => [3, 4].map((i) => `${p}@${i}=p${p.slice(-1)}-${i}`)).sort(),
    );
    assert.deepEqual(listenerB.revoked, []);

    await b.commit(new Map(partitions.map((p) => [p, 5])));
    assert.deepEqual(await committedOffsets(bootstrap, group, topic), new Map(partitions.map((p) => [p, 5])));
    b.stop();
    await b.close();
  });

  it('ignores commits for partitions it does not own', async (t) => {
    const topic = await createTopic(bootstrap, 1, 'group-foreign');
    const group = uniqueName('group');
    await kcatProduce(bootstrap, topic, [{ key: 'k', value: 'v' }]);
    const s = source(t, topic, group, 'member');
    const it1 = iterate(s, recordingListener());
    await pull(it1, (rs) => rs.length === 1);
    await s.commit(
      new Map([
        [`${topic}/0`, 1],
        [`${topic}/7`, 9],
        ['other-topic/0', 3],
      ]),
    );
    assert.deepEqual(await committedOffsets(bootstrap, group, topic), new Map([[`${topic}/0`, 1]]));
    s.stop();
    await s.close();
  });
});
