import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

const NEWLINE = 0x0a;
const BLOCK = 64 * 1024;

/**
 * Makes an NDJSON file end with a whole line before more lines are appended to it. A process killed
 * while it wrote an output leaves that output's line cut short, without its newline; the sink had
 * not acknowledged it (it does so once the newline is written), so its input was not committed and
 * the run that resumes writes it again, whole. Appended to as it is, the cut line would swallow the
 * first new output into one broken line. So a last line that is not JSON is cut off; one that is
 * JSON and only lacks its newline (a file written by something else) gets its newline.
 *
 * Returns how many bytes were cut off (0 when the file was whole, empty, or missing).
 */
export function repairTornTail(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0 || byteAt(fd, size - 1) === NEWLINE) return 0;
    const lineStart = afterLastNewline(fd, size);
    const tail = Buffer.alloc(size - lineStart);
    readSync(fd, tail, 0, tail.length, lineStart);
    if (isJson(tail)) {
      writeSync(fd, Buffer.from('\n'), 0, 1, size);
      return 0;
    }
    ftruncateSync(fd, lineStart);
    return size - lineStart;
  } finally {
    closeSync(fd);
  }
}

function byteAt(fd: number, at: number): number | undefined {
  const one = Buffer.alloc(1);
  return readSync(fd, one, 0, 1, at) === 1 ? one[0] : undefined;
}

/** The offset just after the file's last newline, read backwards a block at a time; 0 if none. */
function afterLastNewline(fd: number, size: number): number {
  const block = Buffer.alloc(BLOCK);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - BLOCK);
    const read = readSync(fd, block, 0, end - start, start);
    const at = block.subarray(0, read).lastIndexOf(NEWLINE);
    if (at !== -1) return start + at + 1;
    end = start;
  }
  return 0;
}

function isJson(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
