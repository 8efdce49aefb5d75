/**
 * The CLI as a child process, the way users run it: `node bin/mw-enrich.js …`, which loads the
 * compiled `dist/`. `ensureBuilt()` compiles first when `dist/` is missing or older than `src/`, so a
 * test never runs yesterday's code. (Spawning through tsx instead would skip the build, but would
 * not test `bin/` and the compiled output that `npm run demo` and users run.)
 *
 *     const { config, paths } = await writeCliJob(t, events, api.url);
 *     const run = await runCli(t, pageContentChange(config));
 *     assert.equal(run.code, 0, run.stderr);
 *
 * A long-running process (`spawnCli`) is watched with `waitForLog`, `waitForExit` and wait.ts's
 * `waitUntil`, which fail with what the process said when it exits early or a deadline passes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inputLines, jobConfig, jobPaths, tempDir, type JobPaths, type Json } from './job-harness.js';
import { withDeadline, waitUntil, type Watched } from './wait.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(REPO_ROOT, 'bin', 'mw-enrich.js');
const COMPILED_CLI = join(REPO_ROOT, 'dist', 'runtime', 'cli.js');
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

let built: Promise<void> | undefined;

/** Runs `tsc -p tsconfig.build.json` when `dist/` is older than `src/`; once per test process. */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    const compiled = await stat(COMPILED_CLI).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (compiled > (await newestMtime(join(REPO_ROOT, 'src')))) return;
    try {
      await promisify(execFile)(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
    } catch (err) {
      throw new Error(`build failed:\n${String((err as { stdout?: string }).stdout ?? '') || String(err)}`);
    }
    await stat(COMPILED_CLI);
  })();
  return built;
}

/** `page-content-change --config a --config b …`: later files are merged over earlier ones. */
export function pageContentChange(...configs: readonly string[]): string[] {
  return ['page-content-change', ...configs.flatMap((c) => ['--config', c])];
}

/**
 * A file-to-file run in a temp folder removed when the test ends: the input lines (objects are
 * serialised, strings written as they are) and a config file of `jobConfig` with `overrides`.
 */
export async function writeCliJob(
  t: TestContext,
  input: ReadonlyArray<Json | string>,
  endpoint: string,
  overrides: Json = {},
  prefix = 'cli-',
): Promise<{ dir: string; paths: JobPaths; config: string }> {
  const dir = await tempDir(t, prefix);
  const paths = jobPaths(dir);
  await writeFile(
    paths.input,
    inputLines(input)
      .map((l) => `${l}\n`)
      .join(''),
  );
  const config = join(dir, 'config.yaml');
  // JSON is YAML.
  await writeFile(config, JSON.stringify(jobConfig(paths, endpoint, overrides), null, 2));
  return { dir, paths, config };
}

export interface CliOptions {
  /** Working directory; default the repository root (relative paths in configs are relative to it). */
  readonly cwd?: string;
  /** Added to the environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Standard input: /dev/null ('ignore', the default), or a pipe (`child.stdin`) the test writes and closes. */
  readonly stdin?: 'ignore' | 'pipe';
  /** Written to standard input (a pipe), which then ends. */
  readonly input?: string | Buffer;
  /** 'capture' (the default) keeps standard output for `stdout()`; 'ignore' sends it to /dev/null. */
  readonly stdout?: 'capture' | 'ignore';
  /** The name failure messages give the process. */
  readonly label?: string;
  /**
   * A program the CLI runs under, its command line put in front of the CLI's: `strace …`, or
   * `viaShell(script)`. The two and their children form a process group, which gets the signals.
   */
  readonly via?: readonly string[];
}

/** `bash -c script`, where `"$@"` is the CLI's command line: for redirections and pipelines. */
export function viaShell(script: string): string[] {
  return ['bash', '-c', script, 'bash'];
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CliRun extends Watched {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Settles when the process has exited and its output streams are closed. */
  readonly exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Standard error's JSON log lines (ECS) so far. */
  logs(): Json[];
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<Exit>;
  /** SIGTERM (drain, commit, exit); fails when the process has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<Exit>;
}

/** Spawns the CLI; it is SIGKILLed (by its pid) when the test ends, should it still run. */
export function spawnCli(t: TestContext, args: readonly string[], options: CliOptions = {}): CliRun {
  const { via, ...rest } = options;
  return spawnCommand(t, [...(via ?? []), process.execPath, BIN, ...args], {
    label: 'mw-enrich',
    ...rest,
    group: via !== undefined,
  });
}

/**
 * Spawns a command that runs the CLI in its own way (`bash scripts/demo.sh`), as spawnCli does;
 * with `group`, in a process group of its own, which gets the signals.
 */
export function spawnCommand(
  t: TestContext,
  command: readonly string[],
  options: Omit<CliOptions, 'via'> & { group?: boolean } = {},
): CliRun {
  const label = options.label ?? command.join(' ');
  const group = options.group ?? false;
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd ?? REPO_ROOT,
    stdio: [
      options.input !== undefined ? 'pipe' : (options.stdin ?? 'ignore'),
      options.stdout === 'ignore' ? 'ignore' : 'pipe',
      'pipe',
    ],
    env: { ...process.env, ...options.env },
    // Killing a wrapper alone would leave the CLI running, detached.
    detached: group,
  });
  if (child.pid === undefined) {
    // The reason follows as an 'error' event; the exception says it all.
    child.on('error', () => undefined);
    throw new Error(`${label} did not start: ${command.join(' ')}`);
  }
  const pid = child.pid;
  if (options.input !== undefined) {
    // A process that exits before reading all of it closes the pipe: for its exit status to tell.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input);
  }
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const running = () => child.exitCode === null && child.signalCode === null;
  const send = (signal: NodeJS.Signals) => {
    try {
      process.kill(group ? -pid : pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  t.after(() => {
    // A group may outlive its leader (a pipeline's last command).
    if (running() || group) send('SIGKILL');
  });
  const run: CliRun = {
    label,
    pid,
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () => logLines(stderr),
    running,
    report: () => `exit ${child.exitCode ?? child.signalCode ?? '(still running)'}\n${errorTail(stderr)}`,
    async kill() {
      if (running()) send('SIGKILL');
      return exited;
    },
    async stop(timeoutMs = 60_000) {
      if (running()) send('SIGTERM');
      return waitForExit(run, timeoutMs, 'after SIGTERM');
    },
  };
  return run;
}

/** Runs the CLI to its end. */
export function runCli(t: TestContext, args: readonly string[], options: CliOptions = {}): Promise<Ended> {
  return ended(spawnCli(t, args, options));
}

/** Runs a command (see spawnCommand) to its end. */
export function runCommand(t: TestContext, command: readonly string[]): Promise<Ended> {
  return ended(spawnCommand(t, command));
}

export interface Ended extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

async function ended(run: CliRun): Promise<Ended> {
  const exit = await run.exited;
  return { ...exit, stdout: run.stdout(), stderr: run.stderr() };
}

/** Waits for the process to exit; fails after `timeoutMs` with its error and last log lines. */
export function waitForExit(run: CliRun, timeoutMs: number, why = ''): Promise<Exit> {
  return withDeadline(run.exited, timeoutMs, `${run.label} (pid ${run.pid}) to exit ${why}`.trim(), () =>
    errorTail(run.stderr()),
  );
}

/** Waits until the process logged a line `message` (e.g. 'kafka partitions assigned'). */
export function waitForLog(run: CliRun, message: string, timeoutMs: number): Promise<void> {
  return waitUntil(`${run.label} to log "${message}"`, () => run.logs().some((l) => l.message === message), {
    timeoutMs,
    intervalMs: 50,
    watch: [run],
  });
}

/** The `summary: …` line the CLI prints on standard error, parsed into its counts. */
export function parseSummaryLine(
  stderr: string,
): { line: string; counts: Record<string, number> } | undefined {
  const line = stderr.split('\n').find((l) => l.startsWith('summary: '));
  if (line === undefined) return undefined;
  const counts: Record<string, number> = {};
  for (const [, key, value] of line.matchAll(/(\w+)=(\d+)/g)) counts[key!] = Number(value);
  return { line, counts };
}

/**
 * Standard error's JSON log lines (ECS), skipping anything else (the summary line). Every finished
 * line must parse; the unfinished last one is skipped when it does not (still being written, or
 * cut by a SIGKILL).
 */
export function logLines(stderr: string): Json[] {
  const lines = stderr.split('\n');
  const unfinished = lines.pop()!;
  const out = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
  if (unfinished.startsWith('{')) {
    try {
      out.push(JSON.parse(unfinished) as Json);
    } catch {
      // Not yet (or never) written to its end.
    }
  }
  return out;
}

/**
 * What a failure message shows of a process's standard error: its error lines (the cause is often
 * far above the end, behind retry warnings), then its last lines.
 */
export function errorTail(stderr: string, last = 15): string {
  const all = stderr.split('\n');
  const errors = all
    .filter((l) => /"log\.level":"(error|fatal)"/.test(l) && !l.includes('"librdkafka: '))
    .slice(0, 10);
  return [...(errors.length > 0 ? ['errors:', ...errors, 'last lines:'] : []), ...all.slice(-last)].join(
    '\n',
  );
}
