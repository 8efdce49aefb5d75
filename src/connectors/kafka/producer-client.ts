import { RdKafka } from '@confluentinc/kafka-javascript';
import type { Metrics } from '../../core/metrics.js';
import type { Waits } from '../../core/waits.js';
import { ErrorLogThrottle } from './error-log-throttle.js';
import type { SinkRecord } from '../types.js';
import type { ConsumerLag } from './consumer-lag.js';
import { callback, codes, toKafkaError, type KafkaClientError } from './kafka-error.js';
import { logLibrdkafka, type KafkaLogger } from './logger.js';
import { configErrorFromClient } from './properties.js';

export interface KafkaClientDeps {
  readonly clientId: string;
  readonly logger: KafkaLogger;
  readonly metrics: Metrics;
  /** Told while a client waits for an unreachable broker. @default none */
  readonly waits?: Waits;
  /** A consumer's lag gauges, fed by its parts (records fetched, commits, rebalances, statistics). */
  readonly lag?: ConsumerLag;
}

interface PendingRecord {
  readonly topic: string;
  readonly record: SinkRecord;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

const CONNECT_TIMEOUT_MS = 30_000;
const QUEUE_FULL_RETRY_MS = 20;

/**
 * One librdkafka producer whose `produce` resolves on the broker's delivery report and rejects on a
 * delivery failure. Records wait in an ordered backlog while the client does not accept them (not
 * connected yet, no open transaction, librdkafka's queue full), so per-partition order is the order
 * of the calls.
 */
export class ProducerClient {
  private readonly producer: RdKafka.Producer;
  // Usually empty: it only fills before the connection, between transactions or on a full queue.
  private readonly backlog: PendingRecord[] = [];
  private accepting = false;
  private readonly errorLog = new ErrorLogThrottle();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private failure: KafkaClientError | undefined;

  constructor(
    config: Readonly<Record<string, string | number | boolean>>,
    propertiesKey: string,
    private readonly deps: KafkaClientDeps,
  ) {
    try {
      this.producer = new RdKafka.Producer({ ...config, dr_cb: true });
    } catch (e) {
      throw configErrorFromClient(e, propertiesKey);
    }
    this.producer.on('delivery-report', (err, report) => this.onDelivery(err, report));
    this.producer.on('event.error', (err) => {
      const e = toKafkaError(err);
      deps.metrics.count('kafka_client_errors_total', { client: 'producer', code: e.code });
      const { log, suppressed } = e.fatal ? { log: true, suppressed: 0 } : this.errorLog.admit(e.code);
      if (log) {
        deps.logger.warn(
          {
            client: deps.clientId,
            code: e.code,
            fatal: e.fatal,
            err: e.message,
            ...(suppressed ? { suppressed } : {}),
          },
          'kafka producer error',
        );
      }
      if (e.fatal) this.fail(e);
    });
    this.producer.on('event.log', (event) => logLibrdkafka(deps.logger, deps.clientId, event));
  }

  connect(): Promise<void> {
    this.connecting ??= callback<RdKafka.Metadata>('connect producer', (cb) =>
      this.producer.connect({ timeout: CONNECT_TIMEOUT_MS }, cb),
    ).then(() => {
      // librdkafka's own thread then serves delivery reports; no JS poll timer is needed.
      this.producer.setPollInBackground(true);
    });
    return this.connecting;
  }

  /** Opens or closes the gate from the backlog to librdkafka (closed: records wait, in order). */
  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
    if (accepting) this.drain();
  }

  get hasBacklog(): boolean {
    return this.backlog.length > 0;
  }

  produce(topic: string, record: SinkRecord): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.backlog.push({ topic, record, resolve, reject });
      this.drain();
    });
  }

  /** Fails every waiting and future record with `err` (the client cannot be used any more). */
  fail(err: KafkaClientError): void {
    this.failure ??= err;
    this.accepting = false;
    for (const item of this.backlog.splice(0)) item.reject(this.failure);
    this.notifyIdle();
  }

  /** Resolves once every record produced so far has its delivery report. */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.backlog.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  initTransactions(timeoutMs: number): Promise<void> {
    return callback('initTransactions', (cb) => this.producer.initTransactions(timeoutMs, cb));
  }

  beginTransaction(): Promise<void> {
    return callback('beginTransaction', (cb) => this.producer.beginTransaction(cb));
  }

  sendOffsetsToTransaction(
    offsets: RdKafka.TopicPartitionOffset[],
    consumer: RdKafka.KafkaConsumer,
    timeoutMs: number,
  ): Promise<void> {
    return callback('sendOffsetsToTransaction', (cb) =>
      this.producer.sendOffsetsToTransaction(offsets, consumer, timeoutMs, cb),
    );
  }

  commitTransaction(timeoutMs: number): Promise<void> {
    return callback('commitTransaction', (cb) => this.producer.commitTransaction(timeoutMs, cb));
  }

  abortTransaction(timeoutMs: number): Promise<void> {
    return callback('abortTransaction', (cb) => this.producer.abortTransaction(timeoutMs, cb));
  }

  /** Waits up to `timeoutMs` for outstanding deliveries, then closes the connection. */
  async disconnect(timeoutMs = 10_000): Promise<void> {
    clearTimeout(this.retryTimer);
    if (!this.connecting) return;
    try {
      await this.connecting;
    } catch {
      return;
    }
    this.accepting = false;
    await callback<RdKafka.ClientMetrics>('disconnect producer', (cb) =>
      this.producer.disconnect(timeoutMs, cb),
    );
  }

  private drain(): void {
    while (this.accepting && this.backlog.length > 0) {
      const item = this.backlog[0] as PendingRecord;
      const { record } = item;
      try {
        // A null timestamp makes librdkafka stamp the record with the current time.
        this.producer.produce(item.topic, null, record.value, record.key, record.timestamp ?? null, item);
      } catch (e) {
        const err = toKafkaError(e, `produce to ${item.topic}`);
        if (err.code === codes.ERR__QUEUE_FULL) {
          this.retryTimer ??= setTimeout(() => {
            this.retryTimer = undefined;
            this.drain();
          }, QUEUE_FULL_RETRY_MS);
          return;
        }
        this.backlog.shift();
        this.deps.metrics.count('kafka_produce_failures_total', { topic: item.topic, code: err.code });
        item.reject(err);
        continue;
      }
      this.backlog.shift();
      this.inFlight++;
    }
    this.notifyIdle();
  }

  private onDelivery(err: RdKafka.LibrdKafkaError | null | undefined, report: RdKafka.DeliveryReport): void {
    const item = report.opaque as PendingRecord;
    this.inFlight--;
    if (err) {
      const e = toKafkaError(err, `delivery to ${report.topic}`);
      this.deps.metrics.count('kafka_produce_failures_total', { topic: report.topic, code: e.code });
      item.reject(e);
    } else {
      this.deps.metrics.count('kafka_produced_records_total', { topic: report.topic });
      item.resolve();
    }
    if (this.backlog.length > 0) this.drain();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inFlight > 0 || this.backlog.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
