// Option handling of the Kafka connectors; needs no broker (clients connect on first use only).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { OptionReader } from '../../src/core/options.js';
import { createKafkaConnectors, KafkaTransactionalSource } from '../../src/connectors/kafka/index.js';
import { readSinkOptions, readSourceOptions } from '../../src/connectors/kafka/options.js';
import { librdkafkaProperties } from '../../src/connectors/kafka/properties.js';

const configError = (key: string) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.key, key);
  return true;
};

describe('Kafka connector options', () => {
  it('reads source options with defaults and the stream topics as the default topics', () => {
    const options = new OptionReader(
      { bootstrap_servers: ['b1:9092', 'b2:9092'], consumer_group: 'g', instance_id: 'pod-0' },
      'src',
    );
    const config = readSourceOptions(options, [
      'eqiad.mediawiki.page_change.v1',
      'codfw.mediawiki.page_change.v1',
    ]);
    assert.deepEqual(config, {
      bootstrapServers: 'b1:9092,b2:9092',
      topics: ['eqiad.mediawiki.page_change.v1', 'codfw.mediawiki.page_change.v1'],
      consumerGroup: 'g',
      startPosition: 'earliest',
      deliveryGuarantee: 'AT_LEAST_ONCE',
      instanceId: 'pod-0',
      maxBufferedRecords: 1000,
      maxBufferedBytes: 64 * 1024 * 1024,
      properties: {},
    });
    assert.ok(Object.isFrozen(config));
  });

  it('refuses an option it does not declare, naming it', () => {
    assert.throws(
      () =>
        readSourceOptions(
          new OptionReader({ bootstrap_servers: 'b:9092', consumer_group: 'g', topicz: ['t'] }, 'src'),
          ['t'],
        ),
      configError('src.topicz'),
    );
  });

  it('names the key of a missing or wrong option', () => {
    assert.throws(
      () => readSourceOptions(new OptionReader({ bootstrap_servers: 'b:9092' }, 'src'), ['t']),
      configError('src.consumer_group'),
    );
    assert.throws(
      () => readSourceOptions(new OptionReader({ consumer_group: 'g' }, 'src'), ['t']),
      configError('src.bootstrap_servers'),
    );
    assert.throws(
      () =>
        readSourceOptions(
          new OptionReader(
            { bootstrap_servers: 'b', consumer_group: 'g', offsets_initializer: 'middle' },
            'src',
          ),
          ['t'],
        ),
      configError('src.offsets_initializer'),
    );
    assert.throws(
      () =>
        readSinkOptions(
          new OptionReader({ bootstrap_servers: 'b', delivery_guarantee: 'AT_MOST_ONCE' }, 'sink'),
          's',
        ),
      configError('sink.delivery_guarantee'),
    );
  });

  it('builds the output topic from the prefix and the stream name without its version', () => {
    const config = readSinkOptions(
      new OptionReader({ bootstrap_servers: 'b', kafka_topic_prefix: 'eqiad.' }, 'sink'),
      'mediawiki.page_content_change.v1:1.2.0',
    );
    assert.equal(config.topic, 'eqiad.mediawiki.page_content_change.v1');
    assert.equal(config.maxRecordBytes, 1_000_000 - 1024);
  });

  it('maps Java client property names onto librdkafka and refuses those it cannot honour', () => {
    assert.deepEqual(
      librdkafkaProperties(
        {
          'max.request.size': '10485760',
          'compression.type': 'snappy',
          'security.protocol': 'SSL',
          'key.serializer': 'org.apache.kafka.common.serialization.StringSerializer',
          'delivery.timeout.ms': '120000',
        },
        'p',
      ),
      {
        'message.max.bytes': '10485760',
        'compression.type': 'snappy',
        'security.protocol': 'SSL',
        'message.timeout.ms': '120000',
      },
    );
    const sink = readSinkOptions(
      new OptionReader({ bootstrap_servers: 'b', properties: { 'max.request.size': 10485760 } }, 'sink'),
      's',
    );
    assert.equal(sink.maxRecordBytes, 10485760 - 1024);
    assert.throws(
      () => librdkafkaProperties({ 'ssl.truststore.location': '/x.jks' }, 'p'),
      configError('p.ssl.truststore.location'),
    );
    assert.throws(
      () => librdkafkaProperties({ 'enable.auto.commit': 'true' }, 'p'),
      configError('p.enable.auto.commit'),
    );
    assert.throws(() => librdkafkaProperties({ 'group.id': 'x' }, 'p'), configError('p.group.id'));
    assert.throws(() => librdkafkaProperties({ acks: '1' }, 'p'), configError('p.acks'));
    assert.throws(
      () => librdkafkaProperties({ 'max.request.size': '100', 'message.max.bytes': '200' }, 'p'),
      configError('p.message.max.bytes'),
    );
  });

  it('reports a property librdkafka does not know under its option key', () => {
    const sink = new OptionReader(
      { bootstrap_servers: '127.0.0.1:1', properties: { 'no.such.property': 'x' } },
      'stream_manager.sink.options',
    );
    assert.throws(
      () => createKafkaConnectors({ sink: { options: sink, stream: 's' }, clientId: 't' }),
      configError('stream_manager.sink.options.properties.no.such.property'),
    );
    const source = new OptionReader(
      { bootstrap_servers: '127.0.0.1:1', consumer_group: 'g', properties: { 'session.timeout.ms': 'soon' } },
      'src',
    );
    assert.throws(
      () => createKafkaConnectors({ source: { options: source, defaultTopics: ['t'] }, clientId: 't' }),
      configError('src.properties.session.timeout.ms'),
    );
  });

  it('under EXACTLY_ONCE builds a transactional source and needs the Kafka source on the same cluster', async () => {
    const source = new OptionReader(
      { bootstrap_servers: 'b:9092', consumer_group: 'g', instance_id: 'i' },
      'src',
    );
    const sink = new OptionReader(
      { bootstrap_servers: 'b:9092', delivery_guarantee: 'EXACTLY_ONCE' },
      'sink',
    );
    const built = createKafkaConnectors({
      source: { options: source, defaultTopics: ['t'] },
      sink: { options: sink, stream: 'out' },
      errorSink: { options: sink, stream: 'err' },
      clientId: 't',
    });
    assert.ok(built.source instanceof KafkaTransactionalSource);
    assert.equal(built.source.transactional, true);
    await Promise.all([built.source.close(), built.sink?.close(), built.errorSink?.close()]);

    assert.throws(
      () =>
        createKafkaConnectors({
          sink: {
            options: new OptionReader({ bootstrap_servers: 'b', delivery_guarantee: 'EXACTLY_ONCE' }, 'sink'),
            stream: 's',
          },
          clientId: 't',
        }),
      configError('sink.delivery_guarantee'),
    );
    const elsewhere = new OptionReader(
      { bootstrap_servers: 'other:9092', delivery_guarantee: 'EXACTLY_ONCE' },
      'sink',
    );
    assert.throws(
      () =>
        createKafkaConnectors({
          source: {
            options: new OptionReader({ bootstrap_servers: 'b:9092', consumer_group: 'g' }, 'src'),
            defaultTopics: ['t'],
          },
          sink: { options: elsewhere, stream: 's' },
          clientId: 't',
        }),
      configError('sink.bootstrap_servers'),
    );
    assert.throws(
      () =>
        readSourceOptions(
          new OptionReader(
            {
              bootstrap_servers: 'b',
              consumer_group: 'g',
              delivery_guarantee: 'EXACTLY_ONCE',
              properties: { 'isolation.level': 'read_uncommitted' },
            },
            'src',
          ),
          ['t'],
        ),
      configError('src.properties.isolation.level'),
    );
  });
});
