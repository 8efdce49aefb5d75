import { ConfigError } from '../../core/errors.js';
import { noopMetrics, type Metrics } from '../../core/metrics.js';
import type { Waits } from '../../core/waits.js';
import type { OptionReader } from '../../core/options.js';
import { silentLogger, type KafkaLogger } from './logger.js';
import {
  readSinkOptions,
  readSourceOptions,
  type KafkaSinkConfig,
  type KafkaSourceConfig,
} from './options.js';
import { ConsumerLag } from './consumer-lag.js';
import { ProducerClient, type KafkaClientDeps } from './producer-client.js';
import { IdempotentProducer, KafkaSink, type ProducerChannel } from './sink.js';
import { KafkaSource } from './source.js';
import { TransactionalProducer } from './transactional-producer.js';
import { KafkaTransactionalSource } from './transactional-source.js';

export { createTopics, type TopicSpec } from './admin.js';
export { KafkaClientError } from './kafka-error.js';
export type { KafkaLogger } from './logger.js';
export { KafkaSink } from './sink.js';
export { KafkaSource } from './source.js';
export { KafkaTransactionalSource } from './transactional-source.js';

export interface KafkaConnectorsOptions {
  /** Options at e.g. `stream_manager.source.options`; `defaultTopics`: the input stream's topics. */
  readonly source?: { readonly options: OptionReader; readonly defaultTopics: readonly string[] };
  /** Options of the output sink; `stream`: the output stream name (a `:version` suffix is ignored). */
  readonly sink?: { readonly options: OptionReader; readonly stream: string };
  /** Options of the error sink; `stream`: the error stream name. */
  readonly errorSink?: { readonly options: OptionReader; readonly stream: string };
  /** Kafka client.id prefix; the clients add `-consumer` and `-producer`. */
  readonly clientId: string;
  readonly logger?: KafkaLogger;
  readonly metrics?: Metrics;
  /** Told while a client waits for an unreachable broker. */
  readonly waits?: Waits;
}

export interface KafkaConnectors {
  /** A `KafkaTransactionalSource` (`transactional: true`) under EXACTLY_ONCE. */
  readonly source?: KafkaSource;
  readonly sink?: KafkaSink;
  readonly errorSink?: KafkaSink;
}

interface SinkPlan {
  readonly config: KafkaSinkConfig;
  readonly options: OptionReader;
}

/**
 * Builds the Kafka connectors a job asks for. Options are read (and checked) here; clients connect
 * on first use. When the source or a sink has `delivery_guarantee: EXACTLY_ONCE`, the source and both
 * sinks share one transactional producer whose transactional.id is `<consumer_group>.<instance_id>`;
 * that needs the Kafka source on the same cluster, and sinks with the same producer properties.
 * Otherwise sinks with equal `bootstrap_servers` and `properties` share one idempotent producer.
 */
export function createKafkaConnectors(options: KafkaConnectorsOptions): KafkaConnectors {
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? noopMetrics;
  // Each call builds the deps of one client; a consumer gets its own lag gauges.
  const deps = (role: 'consumer' | 'producer'): KafkaClientDeps => ({
    clientId: `${options.clientId}-${role}`,
    logger,
    metrics,
    ...(options.waits && { waits: options.waits }),
    ...(role === 'consumer' && { lag: new ConsumerLag(metrics) }),
  });

  const source = options.source && {
    config: readSourceOptions(options.source.options, options.source.defaultTopics),
    options: options.source.options,
  };
  const sinks: { sink?: SinkPlan; errorSink?: SinkPlan } = {};
  if (options.sink)
    sinks.sink = {
      config: readSinkOptions(options.sink.options, options.sink.stream),
      options: options.sink.options,
    };
  if (options.errorSink)
    sinks.errorSink = {
      config: readSinkOptions(options.errorSink.options, options.errorSink.stream),
      options: options.errorSink.options,
    };
  const plans = [sinks.sink, sinks.errorSink].filter((p): p is SinkPlan => p !== undefined);

  const exactlyOnce =
    source?.config.deliveryGuarantee === 'EXACTLY_ONCE' ||
    plans.some((p) => p.config.deliveryGuarantee === 'EXACTLY_ONCE');
  if (!exactlyOnce) {
    const channels = new Map<string, ProducerChannel>();
    const channel = (plan: SinkPlan): ProducerChannel => {
      const key = producerKey(plan.config);
      let found = channels.get(key);
      if (!found) {
        found = new IdempotentProducer(
          new ProducerClient(
            producerConfig(plan.config, `${options.clientId}-producer`),
            plan.options.key('properties'),
            deps('producer'),
          ),
        );
        channels.set(key, found);
      }
      return found;
    };
    return {
      ...(source && {
        source: new KafkaSource(source.config, deps('consumer'), source.options.key('properties')),
      }),
      ...(sinks.sink && {
        sink: new KafkaSink(channel(sinks.sink), sinks.sink.config.topic, sinks.sink.config.maxRecordBytes),
      }),
      ...(sinks.errorSink && {
        errorSink: new KafkaSink(
          channel(sinks.errorSink),
          sinks.errorSink.config.topic,
          sinks.errorSink.config.maxRecordBytes,
        ),
      }),
    };
  }

  const first = plans[0];
  if (!source) {
    throw new ConfigError(
      first ? first.options.key('delivery_guarantee') : 'delivery_guarantee',
      'EXACTLY_ONCE needs the Kafka source: its offsets are committed in the producer transaction',
    );
  }
  if (!first)
    return { source: new KafkaSource(source.config, deps('consumer'), source.options.key('properties')) };
  checkSameCluster(source.config, source.options, plans);
  const transactionalId = `${source.config.consumerGroup}.${source.config.instanceId}`;
  const client = new ProducerClient(
    producerConfig(first.config, `${options.clientId}-producer`, transactionalId),
    first.options.key('properties'),
    deps('producer'),
  );
  const producer = new TransactionalProducer(client, transactionalId, deps('producer'));
  logger.info({ transactionalId }, 'kafka exactly-once: one transactional producer for the source and sinks');
  return {
    source: new KafkaTransactionalSource(
      source.config,
      deps('consumer'),
      source.options.key('properties'),
      producer,
    ),
    ...(sinks.sink && {
      sink: new KafkaSink(producer, sinks.sink.config.topic, sinks.sink.config.maxRecordBytes),
    }),
    ...(sinks.errorSink && {
      errorSink: new KafkaSink(producer, sinks.errorSink.config.topic, sinks.errorSink.config.maxRecordBytes),
    }),
  };
}

/**
 * The producer defaults besides idempotence: murmur2 partitioning as the Java client does, so a key
 * lands on the same partition whichever client wrote it.
 */
function producerConfig(
  sink: KafkaSinkConfig,
  clientId: string,
  transactionalId?: string,
): Record<string, string | boolean> {
  return {
    partitioner: 'murmur2_random',
    ...sink.properties,
    'bootstrap.servers': sink.bootstrapServers,
    'client.id': clientId,
    'enable.idempotence': true,
    acks: 'all',
    ...(transactionalId ? { 'transactional.id': transactionalId } : {}),
  };
}

function servers(list: string): string {
  return list
    .split(',')
    .map((s) => s.trim())
    .sort()
    .join(',');
}

function producerKey(config: KafkaSinkConfig): string {
  const properties = Object.entries(config.properties).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([servers(config.bootstrapServers), properties]);
}

function checkSameCluster(
  source: KafkaSourceConfig,
  sourceOptions: OptionReader,
  plans: readonly SinkPlan[],
): void {
  const [first, ...rest] = plans as [SinkPlan, ...SinkPlan[]];
  if (servers(first.config.bootstrapServers) !== servers(source.bootstrapServers)) {
    throw new ConfigError(
      first.options.key('bootstrap_servers'),
      `must equal ${sourceOptions.key('bootstrap_servers')} under EXACTLY_ONCE (one transaction spans one cluster)`,
    );
  }
  for (const plan of rest) {
    if (producerKey(plan.config) !== producerKey(first.config)) {
      throw new ConfigError(
        plan.options.key('properties'),
        `must equal ${first.options.key('properties')} under EXACTLY_ONCE (the sinks share one producer)`,
      );
    }
  }
}
