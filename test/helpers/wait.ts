/**
 * Waiting with a deadline, so that a test that waits for something that never comes fails with
 * what it waited for (and the last words of the processes involved) instead of hanging until the
 * test runner's timeout.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** A process `waitUntil` watches: the wait fails at once when it has exited. */
export interface Watched {
  readonly label: string;
  running(): boolean;
  /** What a failure message shows of the process: its exit status, error lines, last lines. */
  report(): string;
}

/** `promise`, or a failure naming `what` (and `context()`) after `timeoutMs`. */
export async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  context?: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Polls `predicate` every `intervalMs` until it returns true; fails after `timeoutMs` with `what`
 * (and what the watched processes last said), and at once when one of them exits.
 */
export async function waitUntil(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; watch?: readonly Watched[] },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const watched = options.watch ?? [];
  for (;;) {
    if (await predicate()) return;
    const gone = watched.find((w) => !w.running());
    if (gone) throw new Error(`${gone.label} exited while waiting for ${what}\n${gone.report()}`);
    if (Date.now() > deadline) {
      const reports = watched.map((w) => `--- ${w.label}:\n${w.report()}`).join('\n');
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}\n${reports}`);
    }
    await sleep(options.intervalMs ?? 250);
  }
}
