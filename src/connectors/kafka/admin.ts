import { RdKafka } from '@confluentinc/kafka-javascript';
import { codes, toKafkaError } from './kafka-error.js';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Default 1 (the local single-broker cluster). */
  readonly replicationFactor?: number;
  /** Topic-level configuration, e.g. `{ 'max.message.bytes': '10485760' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** Creates topics for tests and the local demo; a topic that already exists is left as it is. */
export async function createTopics(
  bootstrapServers: string,
  topics: readonly TopicSpec[],
  timeoutMs = 30_000,
): Promise<void> {
  const admin = RdKafka.AdminClient.create({
    'bootstrap.servers': bootstrapServers,
    'client.id': 'mw-enrich-admin',
  });
  try {
    for (const spec of topics) {
      await new Promise<void>((resolve, reject) => {
        const topic: RdKafka.NewTopic = {
          topic: spec.topic,
          num_partitions: spec.partitions,
          replication_factor: spec.replicationFactor ?? 1,
          ...(spec.config ? { config: { ...spec.config } } : {}),
        };
        admin.createTopic(topic, timeoutMs, (err) => {
          if (!err || err.code === codes.ERR_TOPIC_ALREADY_EXISTS) resolve();
          else reject(toKafkaError(err, `create topic ${spec.topic}`));
        });
      });
    }
  } finally {
    admin.disconnect();
  }
}
