/**
 * The built CLI running the page-content-change job with one configuration file, as the
 * benchmarks run it: the repository as its working directory, standard output ignored (or piped,
 * for a caller that reads it), and the end of standard error kept for the message of a failed run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BIN, REPO_ROOT } from '../test/helpers/cli.js';

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Settles with the exit code and signal once the process has exited and its streams closed. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** The last `stderrTail` characters of standard error so far. */
  stderr(): string;
}

export function spawnService(
  config: string,
  options: { nodeArgs?: readonly string[]; stdout?: 'ignore' | 'pipe'; stderrTail?: number } = {},
): ServiceProcess {
  const tail = options.stderrTail ?? 20_000;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), BIN, 'page-content-change', '--config', config],
    { cwd: REPO_ROOT, stdio: ['ignore', options.stdout ?? 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-tail)));
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, stderr: () => stderr };
}
