import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { SinkRecord } from '../types.js';
import { KafkaClientError, retryTransient, toKafkaError } from './kafka-error.js';
import type { KafkaClientDeps, ProducerClient } from './producer-client.js';
import type { ProducerChannel } from './sink.js';

/** How long one transactional call may take, and how long transient failures of it are retried. */
const CALL_TIMEOUT_MS = 30_000;
const RETRY_DEADLINE_MS = 60_000;

/**
 * Exactly-once: one transactional producer shared by the output sink, the error sink and the source's
 * commits. Sends go into the open transaction (begun on the first send or commit); `commit` puts the
 * consumer offsets into it and commits outputs and offsets together. Any failure of a commit aborts the
 * transaction and leaves this producer failed: every later send and commit rejects, so the process
 * restarts from the offsets of the last committed transaction instead of continuing past lost outputs.
 */
export class TransactionalProducer implements ProducerChannel {
  private state: 'idle' | 'open' = 'idle';
  private initialized: Promise<void> | undefined;
  // librdkafka allows one transactional call at a time; begin, commit and abort queue here.
  private chain: Promise<void> = Promise.resolve();
  private failure: KafkaClientError | undefined;
  private users = 0;
  private closing = false;
  private beginQueued = false;

  constructor(
    private readonly client: ProducerClient,
    readonly transactionalId: string,
    private readonly deps: KafkaClientDeps,
  ) {}

  send(topic: string, record: SinkRecord): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('transactional producer is closed'));
    const delivered = this.client.produce(topic, record);
    if (this.state === 'idle' && !this.beginQueued) {
      this.beginQueued = true;
      void this.exclusive(() => {
        this.beginQueued = false;
        return this.begin();
      });
    }
    return delivered;
  }

  flush(): Promise<void> {
    return this.client.flush();
  }

  /**
   * Commits the open transaction with these consumer offsets (the next offsets to read). Records sent
   * while the commit runs wait and go into the next transaction.
   */
  commit(offsets: RdKafka.TopicPartitionOffset[], consumer: RdKafka.KafkaConsumer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.client.setAccepting(false);
    return this.exclusive(async () => {
      if (this.failure) throw this.failure;
      if (this.state === 'idle' && offsets.length === 0) return this.reopenIfWaiting();
      if (this.state === 'idle') await this.begin();
      if (this.failure) throw this.failure;
      this.client.setAccepting(false);
      try {
        if (offsets.length > 0) {
          await retryTransient(
            RETRY_DEADLINE_MS,
            () => this.client.sendOffsetsToTransaction(offsets, consumer, CALL_TIMEOUT_MS),
            (err) =>
              this.deps.logger.warn(
                { code: err.code, err: err.message },
                'sendOffsetsToTransaction failed; retrying',
              ),
          );
        }
        await retryTransient(
          RETRY_DEADLINE_MS,
          () => this.client.commitTransaction(CALL_TIMEOUT_MS),
          (err) =>
            this.deps.logger.warn({ code: err.code, err: err.message }, 'commitTransaction failed; retrying'),
        );
      } catch (e) {
        await this.abortAndFail(toKafkaError(e, 'commit transaction'));
        throw this.failure;
      }
      this.state = 'idle';
      this.deps.metrics.count('kafka_transactions_total', { outcome: 'committed' });
      await this.reopenIfWaiting();
    });
  }

  /** Aborts the open transaction and fails the producer (used when the source lost partitions). */
  failWith(err: KafkaClientError): Promise<void> {
    this.client.setAccepting(false);
    return this.exclusive(() => this.abortAndFail(err));
  }

  acquire(): void {
    this.users++;
  }

  /** The last user to release it aborts what was not committed (it has no offsets) and disconnects. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    this.closing = true;
    this.client.setAccepting(false);
    await this.exclusive(async () => {
      if (this.state === 'open' && !this.failure) {
        try {
          await this.client.abortTransaction(CALL_TIMEOUT_MS);
          this.deps.metrics.count('kafka_transactions_total', { outcome: 'aborted' });
        } catch (e) {
          this.deps.logger.warn(
            { err: toKafkaError(e).message },
            'abort of the uncommitted transaction at close failed',
          );
        }
        this.state = 'idle';
      }
    });
    this.client.fail(new KafkaClientError('transactional producer is closed', -1));
    await this.client.disconnect();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private init(): Promise<void> {
    // initTransactions fences an earlier producer with the same transactional.id and aborts its
    // open transaction, so a restarted instance does not wait for the zombie's transaction timeout.
    this.initialized ??= this.client
      .connect()
      .then(() => retryTransient(RETRY_DEADLINE_MS, () => this.client.initTransactions(CALL_TIMEOUT_MS)));
    return this.initialized;
  }

  private async begin(): Promise<void> {
    if (this.state === 'open' || this.failure || this.closing) return;
    try {
      await this.init();
      await this.client.beginTransaction();
    } catch (e) {
      const err = toKafkaError(e, `begin transaction (transactional.id ${this.transactionalId})`);
      this.failure = err;
      this.client.fail(err);
      this.deps.logger.error({ code: err.code, err: err.message }, 'kafka transaction could not begin');
      return;
    }
    this.state = 'open';
    this.client.setAccepting(true);
  }

  private async reopenIfWaiting(): Promise<void> {
    if (this.client.hasBacklog) await this.begin();
    else if (this.state === 'open') this.client.setAccepting(true);
  }

  private async abortAndFail(cause: KafkaClientError): Promise<void> {
    this.failure ??= new KafkaClientError(
      `${cause.message}; transaction aborted, restart from the last committed offsets`,
      cause.code,
      { fatal: true },
      cause,
    );
    this.client.fail(this.failure);
    this.deps.logger.error(
      { code: cause.code, err: cause.message, transactionalId: this.transactionalId },
      'kafka transaction failed',
    );
    if (this.state === 'open' && !cause.fatal) {
      try {
        await this.client.abortTransaction(CALL_TIMEOUT_MS);
      } catch (e) {
        this.deps.logger.warn({ err: toKafkaError(e).message }, 'abortTransaction failed');
      }
    }
    this.state = 'idle';
    this.deps.metrics.count('kafka_transactions_total', { outcome: 'aborted' });
  }
}
