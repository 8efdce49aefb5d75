/**
 * Starts bench/api-simulator.ts in its own process and stops it, returning what it counted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimulatorStats } from './api-simulator.js';

const SIMULATOR = fileURLToPath(new URL('api-simulator.ts', import.meta.url));

/** The simulator's environment (see api-simulator.ts); numbers are written as they are. */
export interface SimulatorSettings {
  CONTENT_BYTES?: number | 'corpus';
  LARGE_REV_IDS?: string;
  LARGE_CONTENT_BYTES?: number;
  LATENCY_MEDIAN_MS?: number;
  LATENCY_P99_MS?: number;
  CONCURRENCY?: number;
  MAX_RESULT_BYTES?: number;
  SEED?: number;
}

export interface SimulatorReport extends SimulatorStats {
  /** CPU (user + system) the simulator spent while listening. */
  cpu_us: number;
}

export interface Simulator {
  /** `http://127.0.0.1:<port>/w/api.php` */
  endpoint: string;
  /** SIGTERM, then what it counted; once (later calls get the same answer). */
  stop: () => Promise<SimulatorReport>;
}

export async function startSimulator(settings: SimulatorSettings): Promise<Simulator> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) if (value !== undefined) env[key] = String(value);
  const child = spawn(process.execPath, ['--import', 'tsx', SIMULATOR], {
    cwd: join(SIMULATOR, '..', '..'),
    env: { ...process.env, ...env },
    // Its standard input is a pipe from this process: if this process dies without stopping it, the
    // pipe closes and the simulator exits instead of serving on alone.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const exited = once(child, 'exit');
  while (!out.includes('\n')) {
    const what = await Promise.race([
      once(child.stdout, 'data').then(() => 'data'),
      exited.then(() => 'exit'),
    ]);
    if (what === 'exit') throw new Error(`api-simulator exited before listening: ${out}`);
  }
  const port = Number(out.split('\n')[0]);
  let stopped: Promise<SimulatorReport> | undefined;
  const stop = async (): Promise<SimulatorReport> => {
    child.kill('SIGTERM');
    await exited;
    const cpu = /^cpu (\d+)$/m.exec(out)?.[1];
    const stats = /^stats (.*)$/m.exec(out)?.[1];
    if (cpu === undefined || stats === undefined) throw new Error(`api-simulator said: ${out}`);
    return { cpu_us: Number(cpu), ...(JSON.parse(stats) as SimulatorStats) };
  };
  return { endpoint: `http://127.0.0.1:${port}/w/api.php`, stop: () => (stopped ??= stop()) };
}
