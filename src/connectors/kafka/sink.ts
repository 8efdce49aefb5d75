import type { Sink, SinkRecord } from '../types.js';
import { toKafkaError } from './kafka-error.js';
import type { ProducerClient } from './producer-client.js';

/** A producer that several sinks write through; it closes when the last of them releases it. */
export interface ProducerChannel {
  send(topic: string, record: SinkRecord): Promise<void>;
  flush(): Promise<void>;
  acquire(): void;
  release(): Promise<void>;
}

/** At-least-once: an idempotent producer (acks=all), connected on first use. */
export class IdempotentProducer implements ProducerChannel {
  private users = 0;
  private started = false;

  constructor(private readonly client: ProducerClient) {}

  send(topic: string, record: SinkRecord): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.client.connect().then(
        () => this.client.setAccepting(true),
        (e: unknown) => this.client.fail(toKafkaError(e)),
      );
    }
    return this.client.produce(topic, record);
  }

  flush(): Promise<void> {
    return this.client.flush();
  }

  acquire(): void {
    this.users++;
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    await this.client.flush();
    await this.client.disconnect();
  }
}

/** Writes one output stream to its topic (`kafka_topic_prefix` + stream name). */
export class KafkaSink implements Sink {
  private closed: Promise<void> | undefined;

  constructor(
    private readonly channel: ProducerChannel,
    readonly topic: string,
    /** message.max.bytes minus the room reserved for key and framing (properties.ts). */
    readonly maxRecordBytes: number,
  ) {
    channel.acquire();
  }

  send(record: SinkRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`Kafka sink for ${this.topic} is closed`));
    return this.channel.send(this.topic, record);
  }

  flush(): Promise<void> {
    return this.channel.flush();
  }

  close(): Promise<void> {
    this.closed ??= this.channel.release();
    return this.closed;
  }
}
