import type { Writable } from 'node:stream';

const NEWLINE = Buffer.from('\n');

/** Writes `value` and a newline; resolves when the stream has accepted both, rejects on its error. */
export function writeLine(out: Writable, value: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(value);
    out.write(NEWLINE, (err) => (err ? reject(err) : resolve()));
  });
}

export function endStream(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.writableFinished) return resolve();
    out.once('error', reject);
    out.end(() => resolve());
  });
}
