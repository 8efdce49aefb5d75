import { hostname } from 'node:os';
import { ConfigError } from '../../core/errors.js';
import type { OptionReader } from '../../core/options.js';
import { librdkafkaProperties, messageMaxBytes, RECORD_OVERHEAD_BYTES } from './properties.js';

export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export const DELIVERY_GUARANTEES = ['AT_LEAST_ONCE', 'EXACTLY_ONCE'] as const;
export type DeliveryGuarantee = (typeof DELIVERY_GUARANTEES)[number];

export interface KafkaSourceConfig {
  /** `bootstrap_servers`: a string or a list (joined with commas). Required. */
  readonly bootstrapServers: string;
  /** `topics`: default the input stream's topics. */
  readonly topics: readonly string[];
  /** `consumer_group`: required. */
  readonly consumerGroup: string;
  /** `start_position`: where a group without committed offsets starts; default `earliest`. */
  readonly startPosition: 'earliest' | 'latest';
  /** `delivery_guarantee`: default `AT_LEAST_ONCE`. */
  readonly deliveryGuarantee: DeliveryGuarantee;
  /**
   * `instance_id`: names this instance in the transactional id `<consumer_group>.<instance_id>` under
   * EXACTLY_ONCE, so a restarted instance fences its predecessor. Default: the host name (stable for
   * a Kubernetes StatefulSet pod). Instances running at the same time need distinct ids: the one
   * started later fences the other, which then fails.
   */
  readonly instanceId: string;
  /** `max_buffered_records`: records read ahead of the runtime before fetching pauses; default 1000. */
  readonly maxBufferedRecords: number;
  /**
   * `max_buffered_bytes`: bytes (values and keys) read ahead before fetching pauses; default 64 MiB.
   * Records are as large as the topic allows, so a count alone does not bound the read-ahead's memory.
   */
  readonly maxBufferedBytes: number;
  /** `properties`: librdkafka consumer properties (Java names mapped, see properties.ts). */
  readonly properties: Readonly<Record<string, string>>;
}

export interface KafkaSinkConfig {
  /** `bootstrap_servers`: a string or a list. Required. */
  readonly bootstrapServers: string;
  /** `kafka_topic_prefix` (default none, e.g. `eqiad.`) + the stream name without its `:version`. */
  readonly topic: string;
  /** `delivery_guarantee`: default `AT_LEAST_ONCE`. */
  readonly deliveryGuarantee: DeliveryGuarantee;
  /** `properties`: librdkafka producer properties (Java names mapped, see properties.ts). */
  readonly properties: Readonly<Record<string, string>>;
  /** The effective message.max.bytes minus RECORD_OVERHEAD_BYTES. */
  readonly maxRecordBytes: number;
}

function bootstrap(options: OptionReader): string {
  return options.stringList('bootstrap_servers').join(',');
}

/** A stream name may carry its pinned schema version after a colon; topics never do. */
export function streamTopicName(stream: string): string {
  const colon = stream.indexOf(':');
  return colon === -1 ? stream : stream.slice(0, colon);
}

export function readSourceOptions(
  options: OptionReader,
  defaultTopics: readonly string[],
): KafkaSourceConfig {
  const deliveryGuarantee = options.oneOf('delivery_guarantee', DELIVERY_GUARANTEES, 'AT_LEAST_ONCE');
  const properties = librdkafkaProperties(options.stringMap('properties'), options.key('properties'));
  if (
    deliveryGuarantee === 'EXACTLY_ONCE' &&
    (properties['isolation.level'] ?? 'read_committed') !== 'read_committed'
  ) {
    throw new ConfigError(
      options.key('properties.isolation.level'),
      'must be read_committed under EXACTLY_ONCE',
    );
  }
  const topics = options.stringList('topics', defaultTopics);
  if (topics.length === 0) throw new ConfigError(options.key('topics'), 'must name at least one topic');
  return Object.freeze({
    bootstrapServers: bootstrap(options),
    topics: Object.freeze(topics),
    consumerGroup: options.string('consumer_group'),
    startPosition: options.oneOf('start_position', ['earliest', 'latest'] as const, 'earliest'),
    deliveryGuarantee,
    instanceId: options.string('instance_id', hostname()),
    maxBufferedRecords: options.integer('max_buffered_records', 1000, { min: 1 }),
    maxBufferedBytes: options.integer('max_buffered_bytes', DEFAULT_MAX_BUFFERED_BYTES, { min: 1024 * 1024 }),
    properties: Object.freeze(properties),
  });
}

export function readSinkOptions(options: OptionReader, stream: string): KafkaSinkConfig {
  const propertiesKey = options.key('properties');
  const properties = librdkafkaProperties(options.stringMap('properties'), propertiesKey);
  // No prefix is written by leaving the key out (OptionReader refuses empty strings).
  const prefix = options.optionalString('kafka_topic_prefix') ?? '';
  return Object.freeze({
    bootstrapServers: bootstrap(options),
    topic: prefix + streamTopicName(stream),
    deliveryGuarantee: options.oneOf('delivery_guarantee', DELIVERY_GUARANTEES, 'AT_LEAST_ONCE'),
    properties: Object.freeze(properties),
    maxRecordBytes: messageMaxBytes(properties, propertiesKey) - RECORD_OVERHEAD_BYTES,
  });
}
