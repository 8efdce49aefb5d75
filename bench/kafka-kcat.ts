/**
 * kcat (librdkafka's command-line client) for the Kafka benchmarks: filling a topic from lines, and
 * a consume → produce pass-through between two topics — what moving the records through the same
 * broker costs with no processing at all. Records are `key<TAB>value` lines; values are JSON on one
 * line, so they hold neither tabs nor newlines.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';

const MB = 1024 * 1024;

/** The service's producer partitions by murmur2 as the Java client does; kcat's default is crc32. */
const PRODUCER_AS_THE_SERVICE = ['-X', 'partitioner=murmur2_random', '-X', 'enable.idempotence=true'];

/** Streams `key<TAB>value\n` lines into `kcat -P` and waits until it has delivered them all. */
export async function produceLines(bootstrap: string, topic: string, lines: Iterable<string>): Promise<void> {
  const kcat = spawn(
    'kcat',
    [
      ...['-P', '-b', bootstrap, '-t', topic, '-K', '\t'],
      ...PRODUCER_AS_THE_SERVICE,
      ...['-X', 'linger.ms=50', '-X', 'batch.num.messages=10000'],
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const exited = once(kcat, 'close');
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length < MB) continue;
    if (!kcat.stdin.write(chunk)) await once(kcat.stdin, 'drain');
    chunk = '';
  }
  kcat.stdin.end(chunk);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`kcat -P exited with ${code}`);
}

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

function consumerArgs(bootstrap: string, topic: string): string[] {
  return ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-q', '-K', '\t'];
}

function producerArgs(bootstrap: string, topic: string): string[] {
  return ['-P', '-b', bootstrap, '-t', topic, '-K', '\t', ...PRODUCER_AS_THE_SERVICE];
}

/**
 * `kcat -C … | kcat -P …` in bash. Each side of a pipeline is a subshell whose only child is its
 * kcat, so bash's `times` there prints that kcat's CPU exactly (getrusage of the reaped child, in
 * ms): the consumer's on fd 3, the producer's on fd 4.
 */
function pipeline(consume: string[], produce: string[]): string {
  const side = (args: string[], fd: number) =>
    `{ kcat ${args.map(quote).join(' ')}; s=$?; times >&${fd}; exit $s; }`;
  return `set -o pipefail\n${side(consume, 3)} | ${side(produce, 4)}\n`;
}

/** The children's line of bash's `times` ("0m1.234s 0m0.056s": user, system) in µs. */
function childrenMicros(times: string): number {
  const line = times.trim().split('\n')[1] ?? '';
  const match = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(line);
  if (!match) throw new Error(`cannot read bash's times: ${JSON.stringify(times)}`);
  const [, um, us, sm, ss] = match.map(Number) as [number, number, number, number, number];
  return Math.round((um * 60 + us + sm * 60 + ss) * 1e6);
}

export interface PassThroughResult {
  readonly seconds: number;
  readonly consumerCpuMicros: number;
  readonly producerCpuMicros: number;
}

/**
 * Copies every record of `from` (read from the beginning to its end, `-e`) to `to`, keys kept;
 * resolves when the producer has delivered them all and exited. Wall time from the spawn (both
 * clients' start-up included, a few tens of ms) to that exit.
 */
export async function passThrough(bootstrap: string, from: string, to: string): Promise<PassThroughResult> {
  const script = pipeline([...consumerArgs(bootstrap, from), '-e'], producerArgs(bootstrap, to));
  const started = performance.now();
  const bash = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const text = (fd: number) => {
    let out = '';
    (bash.stdio[fd] as Readable).setEncoding('utf8').on('data', (d: string) => (out += d));
    return () => out;
  };
  const [stderr, consumerTimes, producerTimes] = [text(2), text(3), text(4)];
  const [code] = (await once(bash, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`kcat pass-through exited with ${code}: ${stderr().slice(-2000)}`);
  return {
    seconds,
    consumerCpuMicros: childrenMicros(consumerTimes()),
    producerCpuMicros: childrenMicros(producerTimes()),
  };
}

/**
 * The same pass-through left running (for latency): the consumer's output unbuffered (`-u`), so
 * each record goes on as soon as it is read. `stop()` ends the pipeline's process group.
 */
export function startPassThrough(bootstrap: string, from: string, to: string): { stop: () => Promise<void> } {
  const script = pipeline([...consumerArgs(bootstrap, from), '-u'], producerArgs(bootstrap, to));
  // Its standard error is dropped: stopped mid-read, kcat -P reports the record it was reading. A
  // pass-through that fails shows as records that do not arrive.
  const bash = spawn('bash', ['-c', script], { stdio: 'ignore', detached: true });
  const closed = once(bash, 'close');
  return {
    async stop() {
      if (bash.exitCode === null && bash.signalCode === null) process.kill(-bash.pid!, 'SIGTERM');
      await closed;
    },
  };
}
