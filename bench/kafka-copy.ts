/**
 * Kafka's own latency floor: a process that copies every record of one topic to another, keys kept,
 * with the service's Kafka client (the same librdkafka binding, polled the same way: up to 1,000
 * records a call, returning at the first) and nothing else: no parsing, no pipeline.
 *
 * Not kcat: `kcat -P` reads its input 128 bytes at a time and looks for the delimiter only after
 * each read, so a record waits in it until 128 bytes of the next one arrive — at 1,000 records/s
 * that adds about one record's interval, and a record sent alone is not produced at all.
 *
 * As a process: `node --import tsx bench/kafka-copy.ts <bootstrap> <from> <to> <partitions>`; reads
 * `from` from its beginning, prints `ready` once assigned, runs until SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RdKafka } from '@confluentinc/kafka-javascript';

/** Starts the copy in its own process; resolves once it reads. */
export async function startCopy(
  bootstrap: string,
  from: string,
  to: string,
  partitions: number,
): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), bootstrap, from, to, String(partitions)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const closed = once(child, 'close');
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!out.includes('ready\n')) {
    const [chunk] = (await Promise.race([once(child.stdout, 'data'), closed])) as [string | number | null];
    if (typeof chunk !== 'string') throw new Error(`kafka copy exited with ${chunk}`);
    out += chunk;
  }
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
    },
  };
}

async function copy(bootstrap: string, from: string, to: string, partitions: number): Promise<void> {
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': 'bench-copy',
      'client.id': 'bench-copy',
      'enable.auto.commit': false,
    },
    {},
  );
  // As the service's producer: idempotent, murmur2 partitioning, delivery served in the background.
  const producer = new RdKafka.Producer({
    'bootstrap.servers': bootstrap,
    'client.id': 'bench-copy',
    'enable.idempotence': true,
    partitioner: 'murmur2_random',
  });
  const connect = (client: RdKafka.KafkaConsumer | RdKafka.Producer) =>
    new Promise<void>((resolve, reject) =>
      client.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())),
    );
  await Promise.all([connect(consumer), connect(producer)]);
  producer.setPollInBackground(true);
  consumer.assign(
    Array.from({ length: partitions }, (_, partition) => ({ topic: from, partition, offset: 0 })),
  );
  consumer.setDefaultConsumeTimeout(1000);
  (
    consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void }
  ).setDefaultIsTimeoutOnlyForFirstMessage(true);
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write('ready\n');
  for (;;) {
    const messages = await new Promise<RdKafka.Message[]>((resolve, reject) =>
      consumer.consume(1000, (err, m) => (err ? reject(err) : resolve(m))),
    );
    for (const m of messages) producer.produce(to, null, m.value, m.key);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [bootstrap, from, to, partitions] = process.argv.slice(2);
  await copy(bootstrap!, from!, to!, Number(partitions));
}
