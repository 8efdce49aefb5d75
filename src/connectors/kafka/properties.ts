import { ConfigError } from '../../core/errors.js';

/**
 * `properties` in the Kafka options are librdkafka configuration properties
 * (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md). Configurations written
 * for the Java client (eventutilities, Flink) are accepted too; where librdkafka spells a property
 * differently it is renamed here:
 *
 *   max.request.size     → message.max.bytes   (largest record the producer sends; WMF: 10485760)
 *   delivery.timeout.ms  → message.timeout.ms  (how long a record may wait for its acknowledgement)
 *
 * Java-only properties with no effect here are dropped: the (de)serializer classes (records are bytes
 * in and out) and max.poll.records (the runtime pulls one record at a time). Java keystore and JAAS
 * settings have no librdkafka equivalent with the same value and are refused with a hint. Every other
 * name is passed through; librdkafka refuses a name it does not know, which is reported as a
 * ConfigError naming the key.
 */
const RENAMED: Readonly<Record<string, string>> = {
  'max.request.size': 'message.max.bytes',
  'delivery.timeout.ms': 'message.timeout.ms',
};

const DROPPED = new Set([
  'key.serializer',
  'value.serializer',
  'key.deserializer',
  'value.deserializer',
  'max.poll.records',
]);

const REFUSED: Readonly<Record<string, string>> = {
  'ssl.truststore.location': 'librdkafka reads PEM files: use ssl.ca.location',
  'ssl.truststore.password': 'librdkafka reads PEM files: use ssl.ca.location',
  'ssl.truststore.type': 'librdkafka reads PEM files: use ssl.ca.location',
  'sasl.jaas.config': 'use sasl.username and sasl.password',
  'buffer.memory': 'use queue.buffering.max.kbytes (in KiB)',
};

/** Properties the connector sets itself from its options or its guarantees. */
const MANAGED: Readonly<Record<string, string>> = {
  'bootstrap.servers': 'set bootstrap_servers instead',
  'metadata.broker.list': 'set bootstrap_servers instead',
  'group.id': 'set consumer_group instead',
  'group.instance.id': 'set instance_id instead',
  'auto.offset.reset': 'set offsets_initializer instead',
  'enable.auto.commit': 'offsets are committed only when the runtime says every earlier record is done',
  'enable.auto.offset.store': 'offsets are committed only when the runtime says every earlier record is done',
  'partition.assignment.strategy': 'the source relies on cooperative-sticky assignment',
  'enable.idempotence': 'the producer is always idempotent',
  acks: 'the producer always waits for all in-sync replicas (acks=all)',
  'transactional.id': 'derived from consumer_group and instance_id (delivery_guarantee EXACTLY_ONCE)',
  rebalance_cb: 'the source handles rebalances itself',
  dr_cb: 'the sink handles delivery reports itself',
};

/** Maps configured properties onto librdkafka names; `key` is the option path, for errors. */
export function librdkafkaProperties(
  input: Readonly<Record<string, string>>,
  key: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    const where = `${key}.${name}`;
    if (MANAGED[name]) throw new ConfigError(where, `is managed by the Kafka connector: ${MANAGED[name]}`);
    if (REFUSED[name]) throw new ConfigError(where, `is a Java client setting: ${REFUSED[name]}`);
    if (DROPPED.has(name)) continue;
    const target = RENAMED[name] ?? name;
    if (target in out && out[target] !== value) {
      throw new ConfigError(where, `conflicts with another property that sets ${target}`);
    }
    out[target] = value;
  }
  return out;
}

/** librdkafka's default for message.max.bytes. */
export const DEFAULT_MESSAGE_MAX_BYTES = 1_000_000;

/**
 * Room left in message.max.bytes for everything a record carries besides its value: the key (a
 * `{"wiki_id":…,"page_id":…}` JSON of well under 200 bytes) and the record framing librdkafka counts
 * against the limit (under 100 bytes for a v2 record without headers).
 */
export const RECORD_OVERHEAD_BYTES = 1024;

export function messageMaxBytes(properties: Readonly<Record<string, string>>, key: string): number {
  const raw = properties['message.max.bytes'];
  if (raw === undefined) return DEFAULT_MESSAGE_MAX_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= RECORD_OVERHEAD_BYTES) {
    throw new ConfigError(`${key}.message.max.bytes`, `must be an integer above ${RECORD_OVERHEAD_BYTES}`);
  }
  return n;
}

/**
 * librdkafka reports a bad property while a client is created, as "No such configuration property:
 * \"x\"" or "Invalid value \"v\" for configuration property \"x\"": name the option key instead.
 */
export function configErrorFromClient(e: unknown, key: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  const property = /configuration property:? "?([\w.-]+)"?/.exec(message)?.[1];
  return new ConfigError(property ? `${key}.${property}` : key, message);
}
