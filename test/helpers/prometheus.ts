/**
 * A real Prometheus for a test: `scripts/prometheus.sh` starts Debian's `prometheus` on 127.0.0.1
 * (a free port, fresh storage) with a config written for the test, scraping the given targets every
 * second and evaluating `deploy/prometheus/rules.yaml` every second; it is stopped when the test ends.
 * Queries go through `promtool query instant`, the way an operator asks from a shell.
 *
 *     const prometheus = await startPrometheus(t, { targets: [`127.0.0.1:${metricsPort}`] });
 *     const ratio = await prometheus.value('mw_enrich:enriched_ratio:rate5m');
 *
 * promtool and prometheus come from the Debian package `prometheus` (scripts/setup.sh installs it);
 * when they are missing, tests fail saying so instead of being skipped.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { REPO_ROOT } from './cli.js';
import { waitUntil } from './wait.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'prometheus.sh');
export const RULES_FILE = join(REPO_ROOT, 'deploy', 'prometheus', 'rules.yaml');
/** The scrape job the rules' process alerts select (deploy/prometheus/prometheus.yml names it too). */
export const SCRAPE_JOB = 'mw-enrich';

export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fails with what to do when a Debian binary the operating tests need is not installed. */
export function requireBinary(name: 'promtool' | 'prometheus'): void {
  try {
    execFileSync('bash', ['-c', `command -v ${name}`], { stdio: 'ignore' });
  } catch {
    throw new Error(
      `${name} is not installed: run scripts/setup.sh (it installs the Debian package prometheus)`,
    );
  }
}

/** Runs a command to its end (with `input` on standard input); never throws for an exit status. */
export function runTool(
  command: string,
  args: readonly string[],
  options: { cwd?: string; input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** `promtool <args>`; fails with the setup hint when promtool is missing. */
export function promtool(
  args: readonly string[],
  options: { cwd?: string; input?: string } = {},
): Promise<ToolRun> {
  requireBinary('promtool');
  return runTool('promtool', args, options);
}

/** One sample of an instant query's answer. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** `promtool query instant <url> <expr>`; the vector's samples (a scalar is one sample without labels). */
  query(expr: string): Promise<Sample[]>;
  /** The value of a query answering one sample; undefined when it answers none. */
  value(expr: string): Promise<number | undefined>;
  /**
   * Polls `expr` until `accept` takes its samples; fails after `timeoutMs` with the last answer.
   * Returns the accepted samples.
   */
  waitFor(expr: string, accept: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Reads promtool's `-o json` answer: a vector (`[{metric, value: [t, "v"]}]`) or a scalar (`[t, "v"]`). */
export function parseQueryAnswer(stdout: string): Sample[] {
  const answer = JSON.parse(stdout) as
    { metric: Record<string, string>; value: [number, string] }[] | [number, string] | null;
  if (answer === null) return [];
  if (answer.length === 2 && typeof answer[0] === 'number') {
    return [{ labels: {}, value: parseValue(answer[1] as string) }];
  }
  return (answer as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
    labels: s.metric,
    value: parseValue(s.value[1]),
  }));
}

/**
 * Starts a Prometheus scraping `targets` (host:port, `/metrics`) as job `mw-enrich` every second,
 * with the project's rules evaluated every second; waits until it has scraped every target once
 * (`up == 1`). Stopped, and its files removed, when the test ends.
 */
export async function startPrometheus(
  t: TestContext,
  o: { targets: readonly string[]; rules?: boolean; timeoutMs?: number },
): Promise<PrometheusServer> {
  requireBinary('prometheus');
  requireBinary('promtool');
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-test-'));
  const env = { PROMETHEUS_STATE_DIR: join(dir, 'state') };
  t.after(async () => {
    // Stopped before its folder (which holds the pid file) goes.
    await runTool('bash', [SCRIPT, 'stop'], { env });
    await rm(dir, { recursive: true, force: true });
  });
  const config = join(dir, 'prometheus.yml');
  // JSON is YAML.
  const document = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: o.rules === false ? [] : [RULES_FILE],
    scrape_configs: [{ job_name: SCRAPE_JOB, static_configs: [{ targets: o.targets }] }],
  };
  await writeFile(config, JSON.stringify(document, null, 2));
  const started = await runTool('bash', [SCRIPT, 'start', config], { env, timeoutMs: 60_000 });
  const url = /^PROMETHEUS_URL=(\S+)$/m.exec(started.stdout)?.[1];
  if (started.code !== 0 || url === undefined) {
    throw new Error(`scripts/prometheus.sh start failed (exit ${started.code}):\n${started.stderr}`);
  }

  const query = async (expr: string): Promise<Sample[]> => {
    const run = await promtool(['query', 'instant', '-o', 'json', url, expr]);
    if (run.code !== 0) throw new Error(`promtool query instant ${url} '${expr}' failed: ${run.stderr}`);
    return parseQueryAnswer(run.stdout);
  };
  const server: PrometheusServer = {
    url,
    query,
    async value(expr) {
      const samples = await query(expr);
      if (samples.length > 1) throw new Error(`${expr} answered ${samples.length} samples, not one`);
      return samples[0]?.value;
    },
    async waitFor(expr, accept, timeoutMs = 30_000) {
      let last: Sample[] = [];
      await waitUntil(
        `Prometheus to answer ${expr} as expected`,
        async () => accept((last = await query(expr))),
        { timeoutMs, intervalMs: 250 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\nlast answer: ${JSON.stringify(last)}`);
      });
      return last;
    },
  };
  await server.waitFor(
    `up{job="${SCRAPE_JOB}"} == 1`,
    (samples) => samples.length === o.targets.length,
    o.timeoutMs ?? 30_000,
  );
  return server;
}
