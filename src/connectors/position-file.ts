import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Largest position file read back; a position is a few hundred bytes to a few KiB. */
const MAX_POSITION_BYTES = 1 << 20;

/**
 * A source's committed position kept in a file, for sources without a broker to remember it (a
 * file, EventStreams, a wiki's recent changes). The position is the source's own JSON document; it is
 * written only after the runtime committed it (every output before it acknowledged), atomically:
 * written to a temporary file beside it, flushed to disk, then renamed over the old one, and the
 * folder flushed, so a crash leaves either the old position or the new one, never a torn one.
 *
 * Errors name the file but no config key: a source wraps those of `load` in a `ConfigError` of its
 * `position_file` option (a position that cannot be read is a reason not to start, not to start over).
 */
export class PositionFile<Position> {
  private writes: Promise<void> = Promise.resolve();
  private last: string | undefined;

  constructor(
    readonly path: string,
    /** Checks what was read back (the file may be old, or edited by hand); throws if it is not one. */
    private readonly parse: (value: unknown) => Position,
  ) {}

  /** The saved position; undefined when there is none yet. A file that is not a position throws. */
  async load(): Promise<Position | undefined> {
    let text: string;
    try {
      const handle = await open(this.path, 'r');
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new Error('not a regular file');
        if (info.size > MAX_POSITION_BYTES) throw new Error(`${info.size} bytes, too large for a position`);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      // Never written by `save` (which renames whole files into place): edited, or another file.
      throw new Error(`${this.path} is not JSON (${(err as Error).message}), so not a saved position`);
    }
    try {
      return this.parse(value);
    } catch (err) {
      throw new Error(`${this.path} is not a saved position: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Saves `position` once the saves before it are done; an unchanged position is not written
   * again. Rejects when the file cannot be written, and the position on disk is then the last one
   * saved.
   */
  save(position: Position): Promise<void> {
    const text = `${JSON.stringify(position)}\n`;
    const next = this.writes.then(async () => {
      if (text === this.last) return;
      await writeAtomically(this.path, text);
      this.last = text;
    });
    this.writes = next.catch(() => undefined);
    return next;
  }
}

/**
 * Writes `text` to `path` so that a reader (or a restart after a crash at any point) finds the old
 * content or the new one, whole: the new content goes to a temporary file in the same folder (so
 * the rename stays within one file system), is flushed, and only then renamed over `path`.
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  // One temporary name per process: two processes saving to one path (a mistake) would otherwise
  // truncate each other's temporary file and could rename a half-written one into place.
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the folder's entry is on disk.
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
