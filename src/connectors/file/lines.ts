import { RECORD_HEAD_BYTES } from '../../core/record-head.js';
import type { SourceRecord } from '../types.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface LineOptions {
  /**
   * Longest line, without its line ending, that is assembled whole (`runtime.max_record_bytes`). A
   * longer line is yielded as its first bytes with `oversizeBytes` set; the rest of it is read past
   * without being stored, so one line never holds more memory than this.
   */
  maxRecordBytes: number;
  /** Checked after each record; ends the iteration when true. */
  shouldStop?: () => boolean;
}

/**
 * Splits a byte stream into NDJSON records without decoding: each non-blank line becomes a record
 * whose offset is its 0-based line number, so positions stay stable when blank lines are skipped.
 * A UTF-8 byte order mark at the very start is dropped (editors add one; it is no part of the first
 * event). Pull-based: the underlying stream is read only as fast as the consumer iterates.
 */
export async function* ndjsonRecords(
  chunks: AsyncIterable<Buffer | string>,
  partition: string,
  options: LineOptions,
): AsyncGenerator<SourceRecord> {
  const shouldStop = options.shouldStop ?? (() => false);
  const line = new LineAssembler(options.maxRecordBytes);
  let number = 0;
  for await (const chunk of withoutBom(chunks)) {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    while (newline !== -1) {
      line.add(chunk.subarray(start, newline));
      const record = line.take(partition, number++);
      if (record) yield record;
      if (shouldStop()) return;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) line.add(chunk.subarray(start));
  }
  if (line.pending) {
    const record = line.take(partition, number);
    if (record) yield record;
  }
}

/**
 * One line from the pieces the chunks cut it into. The pieces are joined once, at the end of the
 * line (joining at every chunk made a long line cost quadratic time); past the limit they are
 * dropped and only the line's head and length are kept.
 */
class LineAssembler {
  private pieces: Buffer[] = [];
  private bytes = 0;
  private lastByte: number | undefined;
  /** Set once the line is known to be over the limit. */
  private head: Buffer | undefined;
  // One byte more than the limit: a line exactly at the limit may still end in the CR of a CRLF.
  private readonly keep: number;

  constructor(private readonly maxRecordBytes: number) {
    this.keep = maxRecordBytes + 1;
  }

  get pending(): boolean {
    return this.bytes > 0;
  }

  add(piece: Buffer): void {
    if (piece.length === 0) return;
    this.bytes += piece.length;
    this.lastByte = piece[piece.length - 1];
    if (this.head) return;
    this.pieces.push(piece);
    if (this.bytes > this.keep) {
      this.head = copyHead(this.pieces, RECORD_HEAD_BYTES);
      this.pieces = [];
    }
  }

  /** The line's record (undefined for a blank line), and a fresh start for the next line. */
  take(partition: string, offset: number): SourceRecord | undefined {
    const { pieces, bytes, lastByte, head } = this;
    this.pieces = [];
    this.bytes = 0;
    this.lastByte = undefined;
    this.head = undefined;
    const length = lastByte === CARRIAGE_RETURN ? bytes - 1 : bytes;
    if (head) {
      // The head may be the whole line, CR included.
      return {
        partition,
        offset,
        key: null,
        value: head.subarray(0, Math.min(head.length, length)),
        oversizeBytes: length,
      };
    }
    const whole = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, bytes);
    const value = length === whole.length ? whole : whole.subarray(0, length);
    if (length > this.maxRecordBytes) {
      return {
        partition,
        offset,
        key: null,
        value: copyHead([value], RECORD_HEAD_BYTES),
        oversizeBytes: length,
      };
    }
    // A line of only spaces or tabs is no event; anything else goes on, even if it is not JSON, so
    // that the job can turn it into an error event instead of losing it.
    for (const byte of value) {
      if (byte !== 0x20 && byte !== 0x09) return { partition, offset, key: null, value };
    }
    return undefined;
  }
}

/** A copy (not a view that would keep whole chunks alive) of the first `max` bytes of the pieces. */
function copyHead(pieces: readonly Buffer[], max: number): Buffer {
  const total = pieces.reduce((sum, p) => sum + p.length, 0);
  const head = Buffer.allocUnsafe(Math.min(max, total));
  let at = 0;
  for (const piece of pieces) {
    if (at >= head.length) break;
    at += piece.copy(head, at, 0, Math.min(piece.length, head.length - at));
  }
  return head;
}

/** The chunks as buffers, without a byte order mark at the very start (which may span chunks). */
async function* withoutBom(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  // The first bytes, held back while they could still be the start of a BOM.
  let opening: Buffer | undefined = Buffer.alloc(0);
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (opening === undefined) {
      yield chunk;
      continue;
    }
    const seen: Buffer = opening.length === 0 ? chunk : Buffer.concat([opening, chunk]);
    if (seen.length < BOM.length && BOM.subarray(0, seen.length).equals(seen)) {
      opening = seen;
      continue;
    }
    opening = undefined;
    yield seen.subarray(0, BOM.length).equals(BOM) ? seen.subarray(BOM.length) : seen;
  }
  if (opening !== undefined && opening.length > 0) yield opening;
}
