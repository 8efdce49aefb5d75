import type { TransactionalSource } from '../types.js';
import { createKafkaConsumer, type KafkaConsumerClient } from './consumer-client.js';
import type { ConsumerLag } from './consumer-lag.js';
import { KafkaClientError } from './kafka-error.js';
import type { KafkaSourceConfig } from './options.js';
import type { KafkaClientDeps } from './producer-client.js';
import { KafkaSource } from './source.js';
import type { TransactionalProducer } from './transactional-producer.js';

/**
 * Exactly-once source: `commit` sends the offsets into the shared producer's open transaction and
 * commits it, so outputs and input positions become visible together. The consumer reads with
 * isolation.level=read_committed. A rejected commit means the transaction was aborted: the process
 * must restart and read again from the last committed offsets.
 */
export class KafkaTransactionalSource extends KafkaSource implements TransactionalSource {
  readonly transactional = true as const;
  /** The binding's consumer itself: sendOffsetsToTransaction takes it. */
  private readonly client: KafkaConsumerClient;
  private released: Promise<void> | undefined;
  /** The consumer's lag gauges: offsets committed in a transaction are news to librdkafka's statistics. */
  private readonly lag: ConsumerLag | undefined;

  constructor(
    config: KafkaSourceConfig,
    deps: KafkaClientDeps,
    propertiesKey: string,
    private readonly producer: TransactionalProducer,
  ) {
    let client: KafkaConsumerClient | undefined;
    super(config, deps, propertiesKey, (handlers) => {
      client = createKafkaConsumer(config, deps, propertiesKey, handlers);
      return client;
    });
    this.client = client!;
    this.lag = deps.lag;
    producer.acquire();
  }

  /** A fenced member's open transaction must be aborted: the process stops and restarts (exit 1). */
  protected override get replaceable(): boolean {
    return false;
  }

  override async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    // The open transaction may hold outputs of a lost partition's records, which its new owner
    // produces again; committing would duplicate them, so abort and let the process restart.
    const lost = [...nextOffsets.keys()].filter((key) => this.ownership.isLost(key));
    if (lost.length > 0) {
      const err = new KafkaClientError(
        `partitions ${lost.join(', ')} were lost to the group before their commit`,
        -1,
        { fatal: true },
      );
      await this.producer.failWith(err);
      throw err;
    }
    const offsets = this.ownedOffsets(nextOffsets);
    await this.producer.commit(offsets, this.client);
    this.lag?.committed(offsets);
  }

  /**
   * The open transaction may hold outputs of the lost partitions' records, whose offsets it can no
   * longer commit; their next owner (this process too, after it rejoins) writes them again. Waiting
   * for commit() to notice is not enough: it only sees the lost partitions while they still have
   * progress to commit, and a rejoin clears them, after which the transaction would commit those
   * outputs without their offsets (duplicates under read_committed). So abort now and fail.
   */
  protected override onAssignmentLost(keys: readonly string[]): void {
    const err = new KafkaClientError(
      `partitions ${keys.join(', ')} were lost to the group before their commit`,
      -1,
      { fatal: true },
    );
    void this.producer.failWith(err);
  }

  override close(): Promise<void> {
    this.released ??= (async () => {
      try {
        await super.close();
      } finally {
        await this.producer.release();
      }
    })();
    return this.released;
  }
}
