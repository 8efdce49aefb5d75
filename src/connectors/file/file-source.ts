import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { section, type ConfigSchema } from '../../core/config-schema.js';
import type { OptionReader } from '../../core/options.js';
import type { Source, SourceRecord } from '../types.js';
import { ndjsonRecords } from './lines.js';

export interface FileSourceOptions {
  /** NDJSON file, one event per line; `.gz` files are decompressed. */
  path: string;
  /** Longest line assembled; the runtime's `max_record_bytes`. */
  maxRecordBytes: number;
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
  },
  { required: ['path'] },
);

export function readFileSourceOptions(options: OptionReader): Omit<FileSourceOptions, 'maxRecordBytes'> {
  return { path: options.string('path') };
}

/**
 * A finite source over an NDJSON file (optionally gzip). The partition is the path and the offset
 * the line number. Commits are kept in memory (`committed`): a file has no consumer group to resume.
 */
export class FileSource implements Source {
  readonly committed = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: FileSourceOptions) {}

  records(): AsyncIterable<SourceRecord> {
    const file = createReadStream(this.options.path, { highWaterMark: 1 << 20 });
    const input = this.options.path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
    return ndjsonRecords(input as AsyncIterable<Buffer>, this.options.path, {
      maxRecordBytes: this.options.maxRecordBytes,
      shouldStop: () => this.stopped,
    });
  }

  async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    for (const [partition, offset] of nextOffsets) this.committed.set(partition, offset);
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {}
}
