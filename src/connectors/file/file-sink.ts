import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { section, type ConfigSchema } from '../../core/config-schema.js';
import type { OptionReader } from '../../core/options.js';
import type { Sink, SinkRecord } from '../types.js';
import { repairTornTail } from './torn-tail.js';
import { endStream, failureOf, watchErrors, writeLine } from './write.js';

export interface FileSinkOptions {
  /** NDJSON output file; a `.gz` path is written gzip-compressed. */
  path: string;
  /** Append to an existing file instead of replacing it. Default false. */
  append: boolean;
}

/** The file sink's options, declared (README's reference tables come from it). */
export const FILE_SINK_OPTIONS: ConfigSchema = section(
  {
    path: {
      type: 'string',
      minLength: 1,
      description: 'NDJSON output; `.gz` is compressed; parent folders are created.',
    },
    append: { type: 'boolean', default: false, description: 'Append instead of replacing the file.' },
  },
  { required: ['path'] },
);

/** Reads options validated against `FILE_SINK_OPTIONS` (defaults filled in). */
export function readFileSinkOptions(options: OptionReader): FileSinkOptions {
  return { path: options.string('path'), append: options.boolean('append') };
}

/**
 * Writes one event per line. A record is acknowledged when the operating system has accepted its
 * bytes (for gzip: when the compressor has taken them; the gzip trailer is written by `close`).
 */
export class FileSink implements Sink {
  private streams: { file: WriteStream; out: Writable } | undefined;

  // The file is opened on first use, not here: building the connectors must not truncate an earlier
  // run's output when the configuration then turns out to be wrong.
  constructor(private readonly options: FileSinkOptions) {}

  private open(): { file: WriteStream; out: Writable } {
    if (this.streams) return this.streams;
    const { path, append } = this.options;
    mkdirSync(dirname(path), { recursive: true });
    // A run that resumes after a crash appends after the line the crash cut short (gzip members
    // cannot be repaired so; a position file refuses compressed sinks).
    if (append && !path.endsWith('.gz')) repairTornTail(path);
    const file = watchErrors(createWriteStream(path, { flags: append ? 'a' : 'w' }));
    let out: Writable = file;
    if (path.endsWith('.gz')) {
      const gzip = watchErrors(createGzip());
      // The compressor accepts bytes the file may then fail to take (ENOSPC): fail the compressor too,
      // so that the next send and `close` reject instead of waiting on a pipe that no longer flows.
      file.on('error', (err) => gzip.destroy(err));
      gzip.pipe(file);
      out = gzip;
    }
    this.streams = { file, out };
    return this.streams;
  }

  /** Rejects once the file cannot be written (opened, or a write failed); never throws. */
  send(record: SinkRecord): Promise<void> {
    try {
      const { file, out } = this.open();
      const failure = failureOf(file, out);
      return failure ? Promise.reject(failure) : writeLine(out, record.value);
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async flush(): Promise<void> {}

  /** Ends the file; a run without outputs still leaves an (empty) file behind. */
  async close(): Promise<void> {
    const { file, out } = this.open();
    await endStream(out);
    if (out !== file) {
      await new Promise<void>((resolve, reject) => {
        if (file.closed) return resolve();
        file.once('close', resolve).once('error', reject);
      });
    }
    const failure = failureOf(file, out);
    if (failure) throw failure;
  }
}
