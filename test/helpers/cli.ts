/**
 * The CLI as a child process, the way users run it: `node bin/mw-enrich.js …`, which loads the
 * compiled `dist/`. `ensureBuilt()` compiles first when `dist/` is missing or older than `src/`, so a
 * test never runs yesterday's code. (Spawning through tsx instead would skip the build, but would
 * not test `bin/` and the compiled output that `npm run demo` and users run.)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output streams are closed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the CLI; the process is killed (by its pid) when the test ends, if it is still running. */
export function spawnCli(t: TestContext, args: readonly string[], options: { cwd?: string } = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs the CLI to its end. */
export async function runCli(t: TestContext, args: readonly string[], options: { cwd?: string } = {}) {
  const run = spawnCli(t, args, options);
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
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

/** Standard error's JSON log lines (ECS), skipping anything else (the summary line). */
export function logLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
