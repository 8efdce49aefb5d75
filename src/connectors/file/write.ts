import type { Writable } from 'node:stream';

const NEWLINE = Buffer.from('\n');

/**
 * The first error of each stream written to. A stream reports a failed write (EPIPE, ENOSPC, EBADF)
 * both to the write's callback and as an 'error' event; without a listener that event is an uncaught
 * exception that kills the process with a stack trace and no summary. So every stream gets a listener
 * before its first write, and once it failed, every later write and end rejects with that error.
 */
const failures = new WeakMap<Writable, Error>();
const watched = new WeakSet<Writable>();

/** Listens for the stream's errors (idempotent); returns the stream. */
export function watchErrors<T extends Writable>(stream: T): T {
  if (!watched.has(stream)) {
    watched.add(stream);
    stream.on('error', (err: Error) => {
      if (!failures.has(stream)) failures.set(stream, err);
    });
  }
  return stream;
}

/** The first error of any of the streams, once one failed. */
export function failureOf(...streams: Writable[]): Error | undefined {
  for (const stream of streams) {
    const failure = failures.get(stream) ?? stream.errored ?? undefined;
    if (failure) return failure;
  }
  return undefined;
}

/** Writes `value` and a newline; resolves when the stream has accepted both, rejects on its error. */
export function writeLine(out: Writable, value: Buffer): Promise<void> {
  watchErrors(out);
  const failure = failureOf(out);
  if (failure) return Promise.reject(failure);
  return new Promise((resolve, reject) => {
    try {
      // Corked, a file stream writes both in one system call: a process killed between two calls
      // would leave a line without its newline more often (see torn-tail.ts).
      out.cork();
      try {
        out.write(value);
        out.write(NEWLINE, (err) => (err ? reject(failureOf(out) ?? err) : resolve()));
      } finally {
        out.uncork();
      }
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** Ends the stream; rejects when it failed before or while ending. */
export function endStream(out: Writable): Promise<void> {
  watchErrors(out);
  return new Promise((resolve, reject) => {
    const settle = (err?: Error | null) => {
      const failure = failureOf(out) ?? err ?? undefined;
      if (failure) reject(failure);
      else resolve();
    };
    if (out.writableFinished || out.destroyed) return settle();
    out.once('error', settle);
    out.end(settle);
  });
}
