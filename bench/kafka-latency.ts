/**
 * Latency through Kafka at a fixed input rate: a producer in this process sends records at `rate`
 * per second, noting when each was handed to librdkafka, and a consumer on the output topic notes
 * when each result arrives; the record is recognised in the output by an id it carries
 * (`idOf`). Both clocks are this process's. Whatever sits between the two topics (the service, or
 * a kcat pass-through for Kafka's own floor) is what differs between two runs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RdKafka } from '@confluentinc/kafka-javascript';

export interface LatencyFigures {
  readonly events: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
}

export interface LatencyRun {
  readonly bootstrap: string;
  readonly input: string;
  readonly output: string;
  readonly partitions: number;
  /** Records per second, and for how long. */
  readonly rate: number;
  readonly seconds: number;
  /** The i-th record to send and the id its output will carry. */
  readonly record: (i: number) => { key: string; value: string; id: string };
  /** The id an output record carries, or undefined. */
  readonly idOf: (value: Buffer) => string | undefined;
  /**
   * Records sent after the measured ones, at the same pace, and not measured: for a pass-through
   * that holds its latest record until more input comes (kcat -P). Default 0.
   */
  readonly trailing?: number;
}

/** How long the last records may take to arrive before the run fails. */
const ARRIVAL_TIMEOUT_MS = 30_000;

/**
 * The producer hands each record to the broker at once (linger.ms=0), so that the figures hold the
 * hops behind it and not its own batching; it partitions as the service's producer does. The
 * consumer reads from the output's end offsets as they are before the first send.
 */
export async function measureLatency(run: LatencyRun): Promise<LatencyFigures> {
  const sent = new Map<string, number>();
  const unmeasured = new Set<string>();
  const latencies: number[] = [];
  let strangers = 0;
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': run.bootstrap,
      'group.id': 'bench-latency',
      'client.id': 'bench-latency-consumer',
      'enable.auto.commit': false,
    },
    {},
  );
  const producer = new RdKafka.Producer({
    'bootstrap.servers': run.bootstrap,
    'client.id': 'bench-latency-producer',
    'linger.ms': 0,
    partitioner: 'murmur2_random',
  });
  await Promise.all([
    new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
    ),
    new Promise<void>((resolve, reject) =>
      producer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
    ),
  ]);
  producer.setPollInterval(100);
  let consuming = true;
  let consumeError: unknown;
  let loop: Promise<void> = Promise.resolve();
  try {
    const ends = await Promise.all(
      Array.from(
        { length: run.partitions },
        (_, partition) =>
          new Promise<number>((resolve, reject) =>
            consumer.queryWatermarkOffsets(run.output, partition, 10_000, (err, o) =>
              err ? reject(err) : resolve(o.highOffset),
            ),
          ),
      ),
    );
    consumer.assign(ends.map((offset, partition) => ({ topic: run.output, partition, offset })));
    consumer.setDefaultConsumeTimeout(100);
    // In the binding, missing from its typings: return as soon as the first record is there.
    (
      consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
    ).setDefaultIsTimeoutOnlyForFirstMessage(true);
    loop = (async () => {
      while (consuming) {
        const messages = await new Promise<RdKafka.Message[]>((resolve, reject) =>
          consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))),
        );
        const now = performance.now();
        for (const m of messages) {
          const id = m.value ? run.idOf(m.value) : undefined;
          const at = id === undefined ? undefined : sent.get(id);
          if (at === undefined) {
            if (!unmeasured.has(id!)) strangers++;
            continue;
          }
          latencies.push(now - at);
          sent.delete(id!);
        }
      }
    })().catch((err: unknown) => void (consumeError = err));
    // Let the consumer's first fetch reach the broker before the clock matters.
    await sleep(1000);

    const total = Math.round(run.rate * run.seconds);
    const all = total + (run.trailing ?? 0);
    const t0 = performance.now();
    for (let i = 0; i < all;) {
      const due = Math.min(all, Math.floor(((performance.now() - t0) * run.rate) / 1000) + 1);
      for (; i < due; i++) {
        const r = run.record(i);
        if (i < total) sent.set(r.id, performance.now());
        else unmeasured.add(r.id);
        producer.produce(run.input, null, Buffer.from(r.value), r.key);
      }
      await sleep(1);
    }
    const deadline = performance.now() + ARRIVAL_TIMEOUT_MS;
    while (sent.size > 0 && performance.now() < deadline && consumeError === undefined) await sleep(50);
    if (consumeError !== undefined) throw consumeError;
    if (sent.size > 0) throw new Error(`${sent.size} of ${total} records did not reach ${run.output}`);
    if (strangers > 0) throw new Error(`${strangers} unexpected records on ${run.output}`);
    return figures(latencies);
  } finally {
    consuming = false;
    await loop;
    producer.setPollInterval(0);
    await Promise.all([
      new Promise<void>((resolve) => producer.disconnect(() => resolve())),
      new Promise<void>((resolve) => consumer.disconnect(() => resolve())),
    ]);
  }
}

/** Nearest-rank percentiles, in ms with 0.1 ms. */
function figures(latencies: number[]): LatencyFigures {
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
  const ms = (v: number) => Math.round(v * 10) / 10;
  return { events: sorted.length, p50_ms: ms(at(0.5)), p99_ms: ms(at(0.99)), max_ms: ms(at(1)) };
}
