import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import { section, type ConfigSchema } from '../../core/config-schema.js';
import type { OptionReader } from '../../core/options.js';
import type { Source, SourceRecord } from '../types.js';
import { isGzip, type FilePosition, type ResumePoint } from './file-position.js';
import { ndjsonRecords } from './lines.js';

export interface FileSourceOptions {
  /** NDJSON file, one event per line; `.gz` files are decompressed. */
  path: string;
  /** Longest line assembled; the runtime's `max_record_bytes`. */
  maxRecordBytes: number;
  /** `position_file`, when set: where the committed position is kept, and its config key. */
  positionFile?: { path: string; key: string };
}

/** The file source's options, declared (README's reference tables come from it). */
export const FILE_SOURCE_OPTIONS: ConfigSchema = section(
  {
    path: {
      type: 'string',
      minLength: 1,
      description:
        'NDJSON, one event per line; `.gz` is decompressed. Blank lines are skipped; any other line that is not an event becomes an error event.',
    },
    position_file: {
      type: 'string',
      minLength: 1,
      description:
        'Where the committed position is kept (a small JSON file, replaced atomically at every commit), so that a restart resumes where the last run stopped instead of reading the file again: an uncompressed input is read from the saved byte offset, a `.gz` one is decompressed from its start and the lines already done are skipped. A position saved for another file, or for this one since changed, is refused. Its folder must exist and be writable; file sinks must then set `append: true` and be uncompressed. Unset: every run reads the whole file.',
    },
  },
  { required: ['path'] },
);

export function readFileSourceOptions(options: OptionReader): Omit<FileSourceOptions, 'maxRecordBytes'> {
  return {
    path: options.string('path'),
    ...(options.has('position_file') && {
      positionFile: { path: options.string('position_file'), key: options.key('position_file') },
    }),
  };
}

/**
 * A finite source over an NDJSON file (optionally gzip). The partition is the path and the offset
 * the line number. Commits are kept in memory (`committed`) and, with a `position_file`, saved
 * there (see `ResumePoint`), so that a restart goes on after the last committed line.
 */
export class FileSource implements Source {
  readonly committed = new Map<string, number>();
  private stopped = false;
  /**
   * Lines read and not yet committed, in read order, each with the byte offset at which the line
   * after it begins: a commit of "next line N" is saved as the offset after line N - 1. The lines
   * in flight and those done since the last commit, so bounded by the runtime's window and commit
   * interval. Two arrays of numbers rather than an array of objects: a fast input reads many.
   */
  private readonly uncommitted = { lines: [] as number[], nextBytes: [] as number[], head: 0 };
  /** The committed position: the next line to read and its byte offset. */
  private at: { line: number; byte: number };
  /** Set once the input was read to its end: the line and byte just past it. */
  private end: { lines: number; bytes: number } | undefined;

  constructor(
    private readonly options: FileSourceOptions,
    /** With a `position_file`: the loaded and checked position (`resumePoint`). */
    private readonly resume?: ResumePoint,
    private readonly logger?: Logger,
  ) {
    const saved = resume?.saved;
    this.at = saved ? { line: saved.line, byte: saved.byte } : { line: 0, byte: 0 };
  }

  records(): AsyncIterable<SourceRecord> {
    return this.read();
  }

  private async *read(): AsyncGenerator<SourceRecord> {
    const { path, maxRecordBytes } = this.options;
    const saved = this.resume?.saved;
    if (saved?.complete) {
      this.logger?.info(
        { path, line: saved.line, position_file: this.resume!.positions.path },
        'the input was already read to its end: nothing to read',
      );
      this.end = { lines: saved.line, bytes: saved.byte };
      return;
    }
    const start = this.at;
    const gzip = isGzip(path);
    if (start.line > 0) {
      this.logger?.info(
        { path, line: start.line, byte: start.byte, position_file: this.resume!.positions.path },
        gzip
          ? 'resuming from the saved position: decompressing from the start and skipping the lines already done'
          : 'resuming from the saved position',
      );
    }
    const file = createReadStream(path, { highWaterMark: 1 << 20, start: gzip ? 0 : start.byte });
    let chunks = (gzip ? file.pipe(createGunzip()) : file) as AsyncIterable<Buffer>;
    if (gzip && start.byte > 0) chunks = this.skip(chunks, start.byte);
    yield* ndjsonRecords(chunks, path, {
      maxRecordBytes,
      shouldStop: () => this.stopped,
      start,
      ...(this.resume && {
        onRecord: (line: number, nextLineByte: number) => {
          this.uncommitted.lines.push(line);
          this.uncommitted.nextBytes.push(nextLineByte);
        },
        onEnd: (lines: number, bytes: number) => (this.end = { lines, bytes }),
      }),
    });
  }

  /**
   * The decompressed chunks after their first `byte` bytes, which must end with a newline: the
   * saved position of a `.gz` input is checked here, as it is read, since finding that byte means
   * decompressing everything before it.
   */
  private async *skip(chunks: AsyncIterable<Buffer>, byte: number): AsyncGenerator<Buffer> {
    let left = byte;
    for await (const chunk of chunks) {
      if (left === 0) {
        yield chunk;
        continue;
      }
      if (this.stopped) return;
      if (chunk.length < left) {
        left -= chunk.length;
        continue;
      }
      if (chunk[left - 1] !== 0x0a) throw this.notALineStart(byte);
      const rest = chunk.subarray(left);
      left = 0;
      if (rest.length > 0) yield rest;
    }
    if (left > 0) {
      throw new Error(
        `${this.options.path} decompresses to fewer bytes than the saved position's ${byte} (${this.resume!.positions.path})`,
      );
    }
  }

  private notALineStart(byte: number): Error {
    return new Error(
      `${this.resume!.positions.path} says line ${this.at.line} begins at byte ${byte} of the decompressed ${this.options.path}, which is not the start of a line`,
    );
  }

  async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    for (const [partition, offset] of nextOffsets) this.committed.set(partition, offset);
    const next = nextOffsets.get(this.options.path);
    if (!this.resume || next === undefined || next <= this.at.line) return;
    this.at = { line: next, byte: this.nextByteAfter(next - 1) };
    await this.save();
  }

  /** The byte offset of the line after `line`, a line read and not yet committed; forgets those up to it. */
  private nextByteAfter(line: number): number {
    const pending = this.uncommitted;
    let found: number | undefined;
    while (pending.head < pending.lines.length && pending.lines[pending.head]! <= line) {
      if (pending.lines[pending.head] === line) found = pending.nextBytes[pending.head];
      pending.head++;
    }
    if (pending.head > 1024 && pending.head * 2 > pending.lines.length) {
      pending.lines = pending.lines.slice(pending.head);
      pending.nextBytes = pending.nextBytes.slice(pending.head);
      pending.head = 0;
    }
    if (found === undefined)
      throw new Error(`commit after line ${line} of ${this.options.path}, which was not read`);
    return found;
  }

  /** Saves the committed position; once the input ended and every line of it is done, as complete. */
  private save(): Promise<void> {
    const { positions, identity } = this.resume!;
    const complete = this.end !== undefined && this.uncommitted.head === this.uncommitted.lines.length;
    const position: FilePosition = complete
      ? { version: 1, input: identity, line: this.end!.lines, byte: this.end!.bytes, complete }
      : { version: 1, input: identity, line: this.at.line, byte: this.at.byte, complete };
    return positions.save(position);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * After the runtime's last commit: an input read to its end with nothing left uncommitted is
   * saved as complete, also when it had no record to commit (blank lines only, or nothing left
   * after the saved position).
   */
  async close(): Promise<void> {
    if (this.resume && this.end !== undefined && this.uncommitted.head === this.uncommitted.lines.length) {
      await this.save();
    }
  }
}
