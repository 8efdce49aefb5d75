import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';

/** Largest schema file, schema answer or stream config read, unless configured otherwise. */
export const DEFAULT_MAX_SCHEMA_BYTES = 8 * 1024 * 1024;

const READ_CHUNK_BYTES = 256 * 1024;

/**
 * A read that was refused for what the resource is (outside its repository, not a regular file,
 * too large), not for a passing failure: asking again gives the same answer.
 */
export class ReadRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadRefusedError';
  }
}

/** A non-200 HTTP answer; 404 and 410 mean the resource is not there. */
export class HttpStatusError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`GET ${url} answered HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

/**
 * Reads a regular file as UTF-8, at most `maxBytes`. With `within` (a directory's real path), the
 * file's real path, symlinks resolved, must lie below it. A FIFO, device, socket or directory is
 * refused before it is opened, so reading never blocks on a pipe or streams from `/dev/zero`; the
 * open handle is checked again, so a file swapped in between is refused too. File-system errors
 * (ENOENT, EACCES) are thrown as they are.
 */
export async function readRegularFile(
  path: string,
  options: { maxBytes: number; within?: string },
): Promise<string> {
  const real = await realpath(path);
  const root = options.within?.endsWith(sep) ? options.within : `${options.within}${sep}`;
  if (options.within !== undefined && !real.startsWith(root)) {
    throw new ReadRefusedError(`${path} resolves to ${real}, outside ${options.within}`);
  }
  const before = await stat(real);
  checkRegularAndSize(path, before.isFile(), before.size, options.maxBytes);
  // O_NONBLOCK: should a FIFO be swapped in after the stat, opening it does not wait for a writer.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const opened = await handle.stat();
    if (opened.ino !== before.ino || opened.dev !== before.dev) {
      throw new ReadRefusedError(`${path} changed while it was opened`);
    }
    checkRegularAndSize(path, opened.isFile(), opened.size, options.maxBytes);
    // The file may grow after the stat: count what is read, not what the stat said.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const wanted = chunks.length === 0 ? opened.size + 1 : READ_CHUNK_BYTES;
      const chunk = Buffer.alloc(Math.min(wanted, options.maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > options.maxBytes) throw tooLarge(path, options.maxBytes);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

function checkRegularAndSize(path: string, isFile: boolean, size: number, maxBytes: number): void {
  if (!isFile) throw new ReadRefusedError(`${path} is not a regular file`);
  if (size > maxBytes) throw tooLarge(path, maxBytes);
}

function tooLarge(path: string, maxBytes: number): ReadRefusedError {
  return new ReadRefusedError(`${path} is larger than ${maxBytes} bytes`);
}
