import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { OptionReader } from '../../core/options.js';
import type { Sink, SinkRecord } from '../types.js';
import { writeLine, endStream } from './write.js';

export interface FileSinkOptions {
  /** NDJSON output file; a `.gz` path is written gzip-compressed. */
  path: string;
  /** Append to an existing file instead of replacing it. Default false. */
  append: boolean;
}

export function readFileSinkOptions(options: OptionReader): FileSinkOptions {
  return { path: options.string('path'), append: options.boolean('append', false) };
}

/**
 * Writes one event per line. A record is acknowledged when the operating system has accepted its
 * bytes (for gzip: when the compressor has taken them; the gzip trailer is written by `close`).
 */
export class FileSink implements Sink {
  private readonly file: WriteStream;
  private readonly out: Writable;

  constructor(options: FileSinkOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    this.file = createWriteStream(options.path, { flags: options.append ? 'a' : 'w' });
    if (options.path.endsWith('.gz')) {
      const gzip = createGzip();
      gzip.pipe(this.file);
      this.out = gzip;
    } else {
      this.out = this.file;
    }
  }

  send(record: SinkRecord): Promise<void> {
    return writeLine(this.out, record.value);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await endStream(this.out);
    if (this.out !== this.file) await new Promise<void>((resolve, reject) => {
      if (this.file.closed) return resolve();
      this.file.once('close', resolve).once('error', reject);
    });
  }
}
