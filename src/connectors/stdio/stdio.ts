import { fstatSync, readSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../core/errors.js';
import type { Source, Sink, SinkRecord, SourceRecord } from '../types.js';
import { ndjsonRecords } from '../file/lines.js';
import { watchErrors, writeLine } from '../file/write.js';

/** NDJSON from standard input; partition "stdin", offset = line number. */
export class StdinSource implements Source {
  readonly committed = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    /** Longest line assembled; the runtime's `max_record_bytes`. */
    readonly maxRecordBytes: number,
  ) {}

  async *records(): AsyncIterable<SourceRecord> {
    try {
      yield* ndjsonRecords(this.input as AsyncIterable<Buffer>, 'stdin', {
        maxRecordBytes: this.maxRecordBytes,
        shouldStop: () => this.stopped,
      });
    } catch (err) {
      // Destroying standard input in stop() ends its iteration with a premature-close error.
      if (!this.stopped) throw err;
    }
  }

  async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    for (const [partition, offset] of nextOffsets) this.committed.set(partition, offset);
  }

  stop(): void {
    this.stopped = true;
    // Standard input may never deliver another chunk (a terminal, an idle pipe): end the iteration.
    (this.input as NodeJS.ReadStream).destroy?.();
  }

  async close(): Promise<void> {}
}

/**
 * NDJSON to standard output; logs go to standard error so the two never mix. A write error (a reader
 * that went away: EPIPE; a full disk: ENOSPC) rejects the send, so the job stops as an
 * infrastructure failure instead of dying of an uncaught 'error' event.
 */
export class StdoutSink implements Sink {
  private readonly out: Writable;

  /**
   * Throws a `ConfigError` for `key` when standard output was closed when the process started:
   * every output would go nowhere, so nothing is read at all.
   */
  constructor(out: NodeJS.WritableStream = process.stdout, key = 'stream_manager.sink.connector') {
    if (out === process.stdout && standardStreamWasClosed(1)) {
      throw new ConfigError(
        key,
        'connector stdout, but standard output was closed when the process started; give the process a standard output (a file, a pipe, or >/dev/null to discard) or use connector file',
      );
    }
    this.out = watchErrors(out as Writable);
  }

  send(record: SinkRecord): Promise<void> {
    return writeLine(this.out, record.value);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Whether standard stream `fd` was closed when the process started. Node then opens /dev/null in
 * its place (read-write, so that the number is not reused by the next file opened), and writes to it
 * succeed silently. A shell's `>/dev/null` opens it write-only: only the substitute can be read, and
 * reading /dev/null has no effect. `<>/dev/null` (read-write on purpose) is taken for closed too.
 */
export function standardStreamWasClosed(fd: number): boolean {
  let stream;
  try {
    stream = fstatSync(fd);
  } catch {
    return true;
  }
  let devNull;
  try {
    devNull = statSync('/dev/null');
  } catch {
    return false;
  }
  if (!stream.isCharacterDevice() || stream.rdev !== devNull.rdev) return false;
  try {
    readSync(fd, Buffer.alloc(1), 0, 1, null);
    return true;
  } catch {
    return false;
  }
}
