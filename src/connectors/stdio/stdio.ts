import type { Source, Sink, SinkRecord, SourceRecord } from '../types.js';
import { ndjsonRecords } from '../file/lines.js';
import { writeLine } from '../file/write.js';

/** NDJSON from standard input; partition "stdin", offset = line number. */
export class StdinSource implements Source {
  readonly committed = new Map<string, number>();
  private stopped = false;

  constructor(private readonly input: NodeJS.ReadableStream = process.stdin) {}

  async *records(): AsyncIterable<SourceRecord> {
    try {
      yield* ndjsonRecords(this.input as AsyncIterable<Buffer>, 'stdin', () => this.stopped);
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

/** NDJSON to standard output; logs go to standard error so the two never mix. */
export class StdoutSink implements Sink {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  send(record: SinkRecord): Promise<void> {
    return writeLine(this.out as import('node:stream').Writable, record.value);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
