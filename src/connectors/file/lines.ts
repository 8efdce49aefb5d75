import { RECORD_HEAD_BYTES, copyHead } from '../../core/record-head.js';
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
  /**
   * Where the chunks begin in the whole input, for a read that resumes in the middle: the number
   * of the line they start with and its byte offset. A byte order mark is dropped only at byte 0.
   * @default line 0 at byte 0
   */
  start?: { readonly line: number; readonly byte: number };
  /**
   * Told, before each record is yielded, its line number and the byte offset at which the next
   * line begins (the input's length after a last line without a newline): where to resume once
   * this record is done.
   */
  onRecord?: (line: number, nextLineByte: number) => void;
  /**
   * Told when the input has ended (not when `shouldStop` ended the iteration): the number of lines
   * it has and its length in bytes, i.e. the line and byte just past its end.
   */
  onEnd?: (lines: number, bytes: number) => void;
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
  const onRecord = options.onRecord;
  const line = new LineAssembler(options.maxRecordBytes);
  let number = options.start?.line ?? 0;
  const firstByte = options.start?.byte ?? 0;
  const bom = { dropped: 0 };
  // The byte offset in the input of the current chunk's first byte (once the BOM is counted).
  let chunkAt = firstByte;
  let counted = false;
  for await (const chunk of firstByte === 0 ? withoutBom(chunks, bom) : asBuffers(chunks)) {
    if (!counted) {
      chunkAt += bom.dropped;
      counted = true;
    }
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    while (newline !== -1) {
      line.add(chunk.subarray(start, newline));
      const record = line.take(partition, number++);
      if (record) {
        onRecord?.(record.offset, chunkAt + newline + 1);
        yield record;
      }
      if (shouldStop()) return;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) line.add(chunk.subarray(start));
    chunkAt += chunk.length;
  }
  if (line.pending) {
    const record = line.take(partition, number++);
    if (record) {
      onRecord?.(record.offset, chunkAt);
      yield record;
      if (shouldStop()) return;
    }
  }
  // Chunks that end because a stop cut them short (a skip, a reader) are no end of the input.
  if (!shouldStop()) options.onEnd?.(number, chunkAt);
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

async function* asBuffers(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  for await (const raw of chunks) yield typeof raw === 'string' ? Buffer.from(raw) : raw;
}

/**
 * The chunks as buffers, without a byte order mark at the very start (which may span chunks);
 * `bom.dropped` is set to its length before the first chunk after it is yielded.
 */
async function* withoutBom(
  chunks: AsyncIterable<Buffer | string>,
  bom: { dropped: number },
): AsyncGenerator<Buffer> {
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
    if (seen.subarray(0, BOM.length).equals(BOM)) {
      bom.dropped = BOM.length;
      yield seen.subarray(BOM.length);
    } else yield seen;
  }
  if (opening !== undefined && opening.length > 0) yield opening;
}
