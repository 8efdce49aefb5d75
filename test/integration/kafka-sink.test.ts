import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { KafkaClientError, type KafkaSink } from '../../src/connectors/kafka/index.js';
import { createTopic, ensureKafka, uniqueName } from '../helpers/kafka.js';
import { kafkaConnectors } from '../helpers/kafka-connectors.js';
import { kcatConsume } from '../helpers/kcat.js';

const bootstrap = await ensureKafka();

/** A sink for `prefix + stream`, closed when the test ends. */
function sink(
  t: TestContext,
  prefix: string,
  stream: string,
  extra: Record<string, unknown> = {},
): KafkaSink {
  const options = { bootstrap_servers: [bootstrap], ...(prefix && { kafka_topic_prefix: prefix }), ...extra };
  return kafkaConnectors(t, bootstrap, { sink: { stream, options } }).sink!;
}

describe('KafkaSink on a real broker', { timeout: 180_000 }, () => {
  it('writes keys, values and timestamps that kcat reads back; the topic is prefix + stream name', async (t) => {
    const stream = uniqueName('page_content_change');
    const out = sink(t, 'eqiad.', `${stream}:1.2.0`);
    assert.equal(out.topic, `eqiad.${stream}`);
    const base = Date.parse('2024-05-01T12:00:00Z');
    const records = [0, 1, 2, 3, 4].map((i) => ({
      key: `{"wiki_id":"enwiki","page_id":${100 + i}}`,
      value: Buffer.from(JSON.stringify({ n: i, text: `revision ${i}` })),
      timestamp: base + i * 1000,
    }));
    await Promise.all(records.map((r) => out.send(r)));
    await out.flush();
    const read = await kcatConsume(bootstrap, `eqiad.${stream}`);
    const byKey = new Map(read.map((r) => [r.key, r]));
    assert.equal(read.length, 5);
    for (const r of records) {
      const got = byKey.get(r.key);
      assert.ok(got, `record with key ${r.key}`);
      assert.equal(got.value, r.value.toString());
      assert.equal(got.timestamp, r.timestamp);
    }
  });

  it('a record without key or timestamp gets a null key and the time it was produced', async (t) => {
    const stream = uniqueName('nokey');
    const out = sink(t, 'p.', stream);
    const before = Date.now();
    await out.send({ key: null, value: Buffer.from('{"x":1}') });
    const after = Date.now();
    const [only, ...rest] = await kcatConsume(bootstrap, `p.${stream}`);
    assert.deepEqual(rest, []);
    assert.equal(only?.key, null);
    assert.equal(only?.value, '{"x":1}');
    assert.ok(
      only.timestamp >= before - 1000 && only.timestamp <= after + 1000,
      `timestamp ${only.timestamp} near send time`,
    );
  });

  it('keeps per-key order on a multi-partition topic (one partition per key, in send order)', async (t) => {
    const topic = await createTopic(bootstrap, 6, 'ordered');
    const out = sink(t, '', topic);
    const keys = Array.from({ length: 12 }, (_, k) => `{"wiki_id":"w${k % 3}","page_id":${k}}`);
    const sends: Promise<void>[] = [];
    for (let seq = 0; seq < 50; seq++) {
      for (const key of keys) sends.push(out.send({ key, value: Buffer.from(`${key}#${seq}`) }));
    }
    await Promise.all(sends);
    const read = await kcatConsume(bootstrap, topic);
    assert.equal(read.length, 600);
    const partitionsUsed = new Set(read.map((r) => r.partition));
    assert.ok(partitionsUsed.size > 1, 'keys spread over several partitions');
    for (const key of keys) {
      const ofKey = read.filter((r) => r.key === key);
      assert.equal(new Set(ofKey.map((r) => r.partition)).size, 1, `one partition for ${key}`);
      assert.deepEqual(
        ofKey.map((r) => r.value),
        Array.from({ length: 50 }, (_, seq) => `${key}#${seq}`),
      );
    }
  });

  it('rejects a record over message.max.bytes instead of dropping it, and keeps working', async (t) => {
    const stream = uniqueName('oversize');
    // Java name, mapped to librdkafka's message.max.bytes.
    const out = sink(t, 'x.', stream, { properties: { 'max.request.size': 20_000 } });
    assert.equal(out.maxRecordBytes, 20_000 - 1024);
    await assert.rejects(out.send({ key: 'big', value: Buffer.alloc(30_000, 'a') }), (err: unknown) => {
      assert.ok(err instanceof KafkaClientError);
      assert.match(err.message, /too large/i);
      return true;
    });
    await out.send({ key: 'fits', value: Buffer.alloc(out.maxRecordBytes, 'b') });
    const read = await kcatConsume(bootstrap, `x.${stream}`);
    assert.deepEqual(
      read.map((r) => [r.key, r.value.length]),
      [['fits', out.maxRecordBytes]],
    );
  });

  it('uses the default message.max.bytes of librdkafka when none is configured', (t) => {
    const out = sink(t, 'y.', uniqueName('default'));
    assert.equal(out.maxRecordBytes, 1_000_000 - 1024);
  });

  it('output and error sinks with the same settings write to their own topics', async (t) => {
    const stream = uniqueName('out');
    const errors = uniqueName('job.error');
    const options = { kafka_topic_prefix: 'dc.' };
    const connectors = kafkaConnectors(t, bootstrap, {
      sink: { stream, options },
      errorSink: { stream: errors, options },
    });
    const [out, errorSink] = [connectors.sink!, connectors.errorSink!];
    await Promise.all([
      out.send({ key: 'k', value: Buffer.from('ok') }),
      errorSink.send({ key: null, value: Buffer.from('failed') }),
    ]);
    await out.close();
    // The shared producer stays open for the error sink until it closes too.
    await errorSink.send({ key: null, value: Buffer.from('failed again') });
    await errorSink.close();
    assert.deepEqual(
      (await kcatConsume(bootstrap, `dc.${stream}`)).map((r) => r.value),
      ['ok'],
    );
    assert.deepEqual(
      (await kcatConsume(bootstrap, `dc.${errors}`)).map((r) => r.value),
      ['failed', 'failed again'],
    );
  });
});
