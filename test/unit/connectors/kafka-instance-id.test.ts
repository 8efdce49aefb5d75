// instance_id is the consumer's group.instance.id: checked against what Kafka accepts.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { readSourceOptions } from '../../../src/connectors/kafka/options.js';
import { librdkafkaProperties } from '../../../src/connectors/kafka/properties.js';
import { ConfigError } from '../../../src/core/errors.js';
import { OptionReader } from '../../../src/core/options.js';

const read = (extra: Record<string, unknown>) =>
  readSourceOptions(new OptionReader({ bootstrap_servers: 'b:9092', consumer_group: 'g', ...extra }, 'src'), [
    't',
  ]);

const configError = (key: string) => (err: unknown) => {
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.key, key);
  return true;
};

describe('Kafka source instance_id (group.instance.id)', () => {
  it('defaults to the host name', () => {
    assert.equal(read({}).instanceId, hostname());
  });

  it('accepts letters, digits, ".", "_" and "-", up to 249 characters', () => {
    for (const id of ['pod-0', 'mw-enrich_1.eqiad', 'a'.repeat(249)])
      assert.equal(read({ instance_id: id }).instanceId, id);
  });

  it('refuses what Kafka refuses as a group.instance.id', () => {
    for (const id of ['', '.', '..', 'pod 0', 'pod/0', 'pöd', 'a'.repeat(250)]) {
      assert.throws(() => read({ instance_id: id }), configError('src.instance_id'), JSON.stringify(id));
    }
  });

  it('group.instance.id in properties is refused: it is instance_id', () => {
    assert.throws(
      () => librdkafkaProperties({ 'group.instance.id': 'x' }, 'src.properties'),
      configError('src.properties.group.instance.id'),
    );
  });
});
