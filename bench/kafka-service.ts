/**
 * The built CLI (`node bin/mw-enrich.js page-content-change`) as a child process, Kafka source →
 * Kafka sinks, against an Action API on 127.0.0.1; and the watch of its catch-up on a full input
 * topic: outputs counted by the output topic's end offsets, CPU from /proc, both sampled every
 * 100 ms, start-up left out.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueName } from '../test/helpers/kafka.js';
import { freePort } from '../test/helpers/ports.js';
import { cpuMicros, kafkaServiceConfig, statusBytes, type EndOffsets } from './kafka-tools.js';
import { spawnService } from './service-process.js';

/** WMF's producers' max.request.size: the realistic corpus has revisions up to 2 MB. */
export const MAX_RECORD_BYTES = 10 * 1024 * 1024;

export interface ServiceOptions {
  readonly bootstrap: string;
  readonly inputTopic: string;
  /** kafka_topic_prefix: outputs go to `<prefix>mediawiki.page_content_change.v1` and the error topic. */
  readonly prefix: string;
  readonly apiPort: number;
  readonly batchSize: number;
  /** enrich.batch_linger_ms; undefined: the service's default. */
  readonly batchLingerMs: number | undefined;
  /** Folder for the config file. */
  readonly dir: string;
  /** librdkafka properties over the connector's (for trying a setting's effect). */
  readonly consumerProperties: Readonly<Record<string, string>>;
  readonly producerProperties: Readonly<Record<string, string>>;
}

export interface RunningService {
  readonly pid: number;
  /** The /metrics text. */
  metrics(): Promise<string>;
  /** Why the process ended already, or undefined while it runs. */
  exitedEarly(): string | undefined;
  /** SIGTERM, then throws unless it exits 0 within 60 s. */
  stop(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  const metricsPort = await freePort();
  const config = join(o.dir, 'service.json');
  await writeFile(
    config,
    kafkaServiceConfig({
      bootstrap: o.bootstrap,
      inputTopic: o.inputTopic,
      prefix: o.prefix,
      consumerGroup: uniqueName('bench-kafka'),
      apiPort: o.apiPort,
      metricsPort,
      purpose: 'kafka',
      enrich: {
        batch_size: o.batchSize,
        ...(o.batchLingerMs !== undefined && { batch_linger_ms: o.batchLingerMs }),
      },
      consumerProperties: o.consumerProperties,
      sinkProperties: { 'message.max.bytes': String(MAX_RECORD_BYTES), ...o.producerProperties },
    }),
  );
  const { child, exited, stderr } = spawnService(config);
  let ended: string | undefined;
  void exited.then(([code, signal]) => (ended = `exited with ${code ?? signal}; stderr:\n${stderr()}`));
  return {
    pid: child.pid!,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    exitedEarly: () => ended,
    async stop() {
      if (ended === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const [code, signal] = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`service exited with ${code ?? signal}; stderr:\n${stderr()}`);
    },
  };
}

export interface CatchUp {
  /** From the spawn to the first output. */
  readonly startupSeconds: number;
  /** Outputs, seconds, service CPU and API CPU from the first output to the last. */
  readonly events: number;
  readonly seconds: number;
  readonly cpuMicros: number;
  readonly apiCpuMicros: number;
}

interface Point {
  readonly t: number;
  readonly done: number;
  readonly cpu: number;
  readonly apiCpu: number;
}

/** No new output for this long means the run is stuck. */
const STALL_MS = 60_000;

/**
 * Waits until `total` records are on `output`, sampling every 100 ms. The figures run from the
 * first sample that saw an output, so that start-up (loading, schemas, joining the group) is left
 * out: CPU per event over the events output after that sample.
 */
export async function watchCatchUp(
  service: RunningService,
  apiPid: number,
  offsets: EndOffsets,
  output: { topic: string; partitions: number; total: number },
  spawnedAt: number,
): Promise<CatchUp> {
  const point = async (): Promise<Point> => {
    const done = await offsets.total(output.topic, output.partitions);
    const [cpu, apiCpu] = await Promise.all([cpuMicros(service.pid), cpuMicros(apiPid)]);
    return { t: performance.now(), done, cpu, apiCpu };
  };
  let first: Point | undefined;
  let last: Point = { t: performance.now(), done: 0, cpu: 0, apiCpu: 0 };
  let progressAt = performance.now();
  for (;;) {
    const early = service.exitedEarly();
    if (early) throw new Error(`service ${early}`);
    const p = await point();
    if (p.done > last.done) progressAt = p.t;
    last = p;
    if (!first && p.done > 0) first = p;
    if (p.done >= output.total) break;
    if (p.t - progressAt > STALL_MS) throw new Error(`no output for ${STALL_MS / 1000} s at ${p.done}`);
    await sleep(100);
  }
  const from = first!;
  return {
    startupSeconds: (from.t - spawnedAt) / 1000,
    events: last.done - from.done,
    seconds: (last.t - from.t) / 1000,
    cpuMicros: last.cpu - from.cpu,
    apiCpuMicros: last.apiCpu - from.apiCpu,
  };
}

/** The service's peak resident memory so far (VmHWM). */
export function peakRssBytes(service: RunningService): Promise<number> {
  return statusBytes(service.pid, 'VmHWM');
}
