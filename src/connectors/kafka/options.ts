import { hostname } from 'node:os';
import { ConfigError } from '../../core/errors.js';
import { compileConfigSchema, section, type ConfigSchema } from '../../core/config-schema.js';
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
  /** `offsets_initializer`: where a group without committed offsets starts. */
  readonly startPosition: 'earliest' | 'latest';
  /** `delivery_guarantee`: default `AT_LEAST_ONCE`. */
  readonly deliveryGuarantee: DeliveryGuarantee;
  /**
   * `instance_id`: the consumer's `group.instance.id` (static group membership), and under
   * EXACTLY_ONCE the transactional id `<consumer_group>.<instance_id>`. A restarted instance with the
   * same id takes its partitions back at once (no wait for its old session to expire) and fences its
   * predecessor. Default: the host name (stable for a Kubernetes StatefulSet pod). Instances running
   * at the same time need distinct ids: the one started later fences the other, which then fails.
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

const BOOTSTRAP: ConfigSchema = {
  anyOf: [
    { type: 'string', minLength: 1 },
    { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
  ],
  description: 'A string or a list of `host:port`.',
};

const DELIVERY: ConfigSchema = {
  enum: [...DELIVERY_GUARANTEES],
  default: 'AT_LEAST_ONCE',
  description: 'Or `EXACTLY_ONCE` (see [Delivery guarantees](#delivery-guarantees-offsets-and-commits)).',
};

const PROPERTIES = (what: string): ConfigSchema => ({
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
  default: {},
  description: `librdkafka ${what} properties (values as strings, numbers or booleans); Java client names are mapped or refused, see below.`,
});

/**
 * What Kafka accepts as a `group.instance.id` (the Java client's check, the same as for topic names);
 * librdkafka sends any string and the broker's refusal would only show once the consumer joins.
 */
const INSTANCE_ID_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9._-]{1,249}$';

/** The Kafka source's options, declared (README's reference tables come from it). */
export const KAFKA_SOURCE_OPTIONS: ConfigSchema = section(
  {
    bootstrap_servers: BOOTSTRAP,
    topics: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      minItems: 1,
      description:
        "Topics to read; unset: the input stream's topics (the stream config lists e.g. `eqiad.` and `codfw.` topics; one data centre's job usually reads its own).",
    },
    consumer_group: {
      type: 'string',
      minLength: 1,
      description: 'Consumer group; instances with the same group share the partitions.',
    },
    offsets_initializer: {
      enum: ['earliest', 'latest'],
      default: 'earliest',
      description: "Where a group without committed offsets starts (eventutilities-python's name).",
    },
    delivery_guarantee: DELIVERY,
    instance_id: {
      type: 'string',
      pattern: INSTANCE_ID_PATTERN,
      description:
        "This instance's name in the group (`group.instance.id`, static membership: a restarted instance takes its partitions back at once) and, under `EXACTLY_ONCE`, in the transactional id `<consumer_group>.<instance_id>`. Keep it stable across restarts of one instance (a StatefulSet pod name) and distinct between instances running at the same time (a duplicate stops the older one, exit 1). Letters, digits, `.`, `_`, `-`, at most 249. Unset: the host name.",
    },
    max_buffered_records: {
      type: 'integer',
      minimum: 1,
      default: 1000,
      description: 'Records read ahead of the pipeline; fetching pauses while it is full.',
    },
    max_buffered_bytes: {
      type: 'integer',
      minimum: 1024 * 1024,
      default: DEFAULT_MAX_BUFFERED_BYTES,
      description:
        'Bytes (values and keys) read ahead of the pipeline; fetching pauses while either bound is reached. A record larger than it is still read, alone.',
    },
    properties: PROPERTIES('consumer'),
  },
  { required: ['bootstrap_servers', 'consumer_group'] },
);

/** The Kafka sinks' options, declared. */
export const KAFKA_SINK_OPTIONS: ConfigSchema = section(
  {
    bootstrap_servers: BOOTSTRAP,
    kafka_topic_prefix: {
      type: 'string',
      default: '',
      description:
        'Topic = prefix + stream name without its `:version`: `eqiad.` gives `eqiad.mediawiki.page_content_change.v1`.',
    },
    delivery_guarantee: DELIVERY,
    properties: PROPERTIES('producer'),
  },
  { required: ['bootstrap_servers'] },
);

const checkSourceOptions = compileConfigSchema(KAFKA_SOURCE_OPTIONS);
const checkSinkOptions = compileConfigSchema(KAFKA_SINK_OPTIONS);

function bootstrap(options: OptionReader): string {
  return options.stringList('bootstrap_servers').join(',');
}

/** A stream name may carry its pinned schema version after a colon; topics never do. */
export function streamTopicName(stream: string): string {
  const colon = stream.indexOf(':');
  return colon === -1 ? stream : stream.slice(0, colon);
}

/** Checks the source's options against `KAFKA_SOURCE_OPTIONS` (defaults filled in) and reads them. */
export function readSourceOptions(given: OptionReader, defaultTopics: readonly string[]): KafkaSourceConfig {
  const options = given.checkedBy(checkSourceOptions);
  const deliveryGuarantee = options.oneOf('delivery_guarantee', DELIVERY_GUARANTEES);
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
    startPosition: options.oneOf('offsets_initializer', ['earliest', 'latest'] as const),
    deliveryGuarantee,
    instanceId: options.has('instance_id') ? options.string('instance_id') : defaultInstanceId(options),
    maxBufferedRecords: options.integer('max_buffered_records'),
    maxBufferedBytes: options.integer('max_buffered_bytes'),
    properties: Object.freeze(properties),
  });
}

/**
 * The host name: a StatefulSet pod's name, stable across its restarts. A Deployment's pods get new
 * names, so each restart joins as a new member and the old one's partitions wait for its session to
 * expire: set `instance_id` there to get the fast restart.
 */
function defaultInstanceId(options: OptionReader): string {
  const name = hostname();
  if (!new RegExp(INSTANCE_ID_PATTERN).test(name)) {
    throw new ConfigError(
      options.key('instance_id'),
      `is unset and the host name ${JSON.stringify(name)} is not a valid Kafka group.instance.id: set it`,
    );
  }
  return name;
}

/** Checks a sink's options against `KAFKA_SINK_OPTIONS` (defaults filled in) and reads them. */
export function readSinkOptions(given: OptionReader, stream: string): KafkaSinkConfig {
  const options = given.checkedBy(checkSinkOptions);
  const propertiesKey = options.key('properties');
  const properties = librdkafkaProperties(options.stringMap('properties'), propertiesKey);
  const prefix = options.has('kafka_topic_prefix') ? options.rawString('kafka_topic_prefix') : '';
  return Object.freeze({
    bootstrapServers: bootstrap(options),
    topic: prefix + streamTopicName(stream),
    deliveryGuarantee: options.oneOf('delivery_guarantee', DELIVERY_GUARANTEES),
    properties: Object.freeze(properties),
    maxRecordBytes: messageMaxBytes(properties, propertiesKey) - RECORD_OVERHEAD_BYTES,
  });
}
