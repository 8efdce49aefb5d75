import type { Sink, SinkRecord, Source, SourceListener, SourceRecord } from '../../src/connectors/types.js';

/** A source over an array of records; records are yielded as the pipeline pulls them. */
export class MemorySource implements Source {
  readonly commits: Array<Map<string, number>> = [];
  pulled = 0;
  private stopped = false;
  listener: SourceListener | undefined;
  /** Partitions given up: like a consumer after a rebalance, the source yields no more of them. */
  readonly revoked = new Set<string>();

  constructor(private readonly input: readonly SourceRecord[], private readonly onPull?: (n: number) => void) {}

  async *records(listener: SourceListener): AsyncIterable<SourceRecord> {
    this.listener = {
      onPartitionsRevoked: (partitions) => {
        for (const p of partitions) this.revoked.add(p);
        return listener.onPartitionsRevoked(partitions);
      },
    };
    for (const record of this.input) {
      if (this.stopped) return;
      if (this.revoked.has(record.partition)) continue;
      this.pulled++;
      this.onPull?.(this.pulled);
      yield record;
      await Promise.resolve();
    }
  }

  get lastCommit(): Map<string, number> {
    const merged = new Map<string, number>();
    for (const c of this.commits) for (const [p, o] of c) merged.set(p, o);
    return merged;
  }

  async commit(next: ReadonlyMap<string, number>): Promise<void> {
    this.commits.push(new Map(next));
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {}
}

/** A sink that keeps what it was sent; `ackDelay` delays acknowledgements, `failOn` rejects one. */
export class MemorySink implements Sink {
  readonly records: SinkRecord[] = [];
  closed = false;

  constructor(
    readonly options: { maxRecordBytes?: number; ackDelayMs?: () => number; failOn?: (r: SinkRecord) => boolean } = {},
  ) {}

  get maxRecordBytes(): number | undefined {
    return this.options.maxRecordBytes;
  }

  async send(record: SinkRecord): Promise<void> {
    this.records.push(record);
    const delay = this.options.ackDelayMs?.() ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (this.options.failOn?.(record)) throw new Error('broker said no');
  }

  values(): unknown[] {
    return this.records.map((r) => JSON.parse(r.value.toString()));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

export function record(partition: string, offset: number, value: string | object): SourceRecord {
  return { partition, offset, key: null, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) };
}
