import { RECORD_HEAD_BYTES, copyHead } from '../../core/record-head.js';

/**
 * A parser of `text/event-stream` (the WHATWG HTML standard's "event stream interpretation"),
 * incremental and working on bytes: chunks may split a frame anywhere (inside a field name, inside
 * a CRLF, inside a UTF-8 character), and the result does not depend on where they do.
 *
 * - Lines end with CRLF, LF or CR; a blank line dispatches the frame.
 * - `field: value` (one space after the colon is dropped), or a bare `field` with an empty value.
 * - `data` lines are joined with LF; `event` names the type (`message` when empty or absent);
 *   `id` sets the last event ID, which later frames without an `id` keep (an id containing NUL is
 *   ignored, as the standard says); `retry` and unknown fields are ignored (EventStreams never sends
 *   `retry:`, and the source has its own backoff); a line starting with `:` is a comment.
 * - A frame without data lines dispatches nothing but may still set the last event ID.
 * - A UTF-8 byte order mark at the very start is dropped; a frame the stream ends inside of is
 *   discarded.
 *
 * Memory is bounded whatever the server sends: data beyond `maxDataBytes` is not kept (the frame
 * is dispatched as its head with `oversizeBytes`, like an over-long line of the file source), an id
 * beyond `maxIdBytes` is ignored, an event type beyond 256 bytes is cut, and comments and unknown
 * fields are read past without being stored.
 */

export interface SseEvent {
  /** The `event` field; `message` when the frame had none or an empty one. */
  readonly type: string;
  /**
   * The data lines joined with LF, a copy (it never keeps a network chunk alive); when
   * `oversizeBytes` is set, only the first `RECORD_HEAD_BYTES` of it.
   */
  readonly data: Buffer;
  /** Set when the data was longer than `maxDataBytes`: its full length in bytes. */
  readonly oversizeBytes?: number;
  /** The last event ID when the frame was dispatched (this frame's `id`, or an earlier one's). */
  readonly lastEventId: string;
}

export interface SseParserOptions {
  /** Longest data kept whole (`runtime.max_record_bytes`). */
  readonly maxDataBytes: number;
  /** Longest `id` value accepted; a longer one is ignored. @default 65536 */
  readonly maxIdBytes?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NUL = 0x00;
const NEWLINE = Buffer.from([LF]);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const MAX_TYPE_BYTES = 256;
export const DEFAULT_MAX_ID_BYTES = 64 * 1024;

/** The fields the parser acts on; every other name is ignored. */
type Field = 'data' | 'id' | 'event' | 'ignored';
/** Longest field name acted on (`event`); a longer name is an unknown field. */
const MAX_NAME_BYTES = 5;

/**
 * Where the line being read is: in the field name (up to the colon); just after the colon (where
 * one space is dropped); in the value; or in a comment or a field that is not kept.
 */
type Phase = 'name' | 'value-start' | 'value' | 'skip';

export class SseParser {
  private readonly maxDataBytes: number;
  private readonly maxIdBytes: number;

  // The stream.
  /** Bytes held back at the start while they may still be a byte order mark. */
  private opening: Buffer | undefined = Buffer.alloc(0);
  /** The previous chunk ended in CR: an LF starting this one belongs to that line ending. */
  private afterCr = false;
  private lastEventIdBuffer = '';

  // The line being read.
  private lineHasBytes = false;
  private phase: Phase = 'name';
  private readonly name = Buffer.alloc(MAX_NAME_BYTES);
  /** Bytes of the name so far; MAX_NAME_BYTES + 1 once it is known to be longer than any kept name. */
  private nameLength = 0;
  private field: Field = 'ignored';
  private value: Buffer[] = [];
  private valueBytes = 0;
  private valueTooLong = false;

  // The frame being assembled.
  private data: Buffer[] = [];
  private dataBytes = 0;
  private dataLines = 0;
  /** Bytes of `data` kept (all of it, or past the limit its head). */
  private keptBytes = 0;
  private eventType = '';

  /** `id` fields ignored so far (too long, or containing NUL). */
  ignoredIds = 0;

  constructor(options: SseParserOptions) {
    this.maxDataBytes = options.maxDataBytes;
    this.maxIdBytes = options.maxIdBytes ?? DEFAULT_MAX_ID_BYTES;
  }

  /** Bytes held for the frame and line being read (bounded by the limits above). */
  get bufferedBytes(): number {
    return this.keptBytes + this.valueBytes + Buffer.byteLength(this.eventType);
  }

  /** The frames this chunk completes, in order. */
  push(chunk: Buffer): SseEvent[] {
    const events: SseEvent[] = [];
    let bytes = chunk;
    if (this.opening !== undefined) {
      const seen = this.opening.length === 0 ? bytes : Buffer.concat([this.opening, bytes]);
      if (seen.length < BOM.length && BOM.subarray(0, seen.length).equals(seen)) {
        this.opening = Buffer.from(seen);
        return events;
      }
      this.opening = undefined;
      bytes = seen.subarray(0, BOM.length).equals(BOM) ? seen.subarray(BOM.length) : seen;
    }
    let at = 0;
    if (this.afterCr && bytes.length > 0) {
      this.afterCr = false;
      if (bytes[0] === LF) at = 1;
    }
    // Positions of the next CR and LF, found once per chunk pass rather than per byte.
    let nextCr = -2;
    let nextLf = -2;
    while (at < bytes.length) {
      if (nextCr !== -1 && nextCr < at) nextCr = bytes.indexOf(CR, at);
      if (nextLf !== -1 && nextLf < at) nextLf = bytes.indexOf(LF, at);
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf);
      if (end === -1) {
        this.feed(bytes.subarray(at));
        break;
      }
      this.feed(bytes.subarray(at, end));
      this.endLine(events);
      at = end + 1;
      if (bytes[end] === CR) {
        if (at === bytes.length) this.afterCr = true;
        else if (bytes[at] === LF) at++;
      }
    }
    return events;
  }

  /** The stream ended: a frame not finished by a blank line is discarded. */
  end(): void {
    this.resetLine();
    this.resetFrame();
    this.afterCr = false;
  }

  /** A piece of the current line, without line-ending bytes. */
  private feed(piece: Buffer): void {
    if (piece.length === 0) return;
    let at = 0;
    if (!this.lineHasBytes) {
      this.lineHasBytes = true;
      if (piece[0] === COLON) {
        this.phase = 'skip';
        return;
      }
    }
    while (at < piece.length) {
      switch (this.phase) {
        case 'name': {
          const colon = piece.indexOf(COLON, at);
          const end = colon === -1 ? piece.length : colon;
          this.addName(piece, at, end);
          if (colon === -1) return;
          this.startField();
          at = colon + 1;
          break;
        }
        case 'value-start':
          if (piece[at] === SPACE) at++;
          this.phase = 'value';
          break;
        case 'value':
          this.addValue(piece.subarray(at));
          return;
        case 'skip':
          return;
      }
    }
  }

  private addName(piece: Buffer, start: number, end: number): void {
    if (this.nameLength > MAX_NAME_BYTES) return;
    const length = end - start;
    if (this.nameLength + length > MAX_NAME_BYTES) {
      this.nameLength = MAX_NAME_BYTES + 1;
      return;
    }
    piece.copy(this.name, this.nameLength, start, end);
    this.nameLength += length;
  }

  /** The field name is complete (a colon, or the end of a line without one). */
  private startField(): void {
    this.field = this.fieldName();
    this.phase = this.field === 'ignored' ? 'skip' : 'value-start';
    if (this.field === 'data') {
      if (this.dataLines > 0) this.addData(NEWLINE);
      this.dataLines++;
    }
  }

  private fieldName(): Field {
    if (this.nameLength > MAX_NAME_BYTES) return 'ignored';
    const name = this.name.toString('latin1', 0, this.nameLength);
    return name === 'data' || name === 'id' || name === 'event' ? name : 'ignored';
  }

  private addValue(bytes: Buffer): void {
    if (this.field === 'data') {
      this.addData(bytes);
      return;
    }
    if (this.valueTooLong) return;
    const limit = this.field === 'id' ? this.maxIdBytes : MAX_TYPE_BYTES;
    if (this.valueBytes + bytes.length > limit) {
      // An event type is cut (no cut name can be `message` or `error`); an id is ignored whole.
      if (this.field === 'event') this.keepValue(bytes.subarray(0, limit - this.valueBytes));
      this.valueTooLong = true;
      return;
    }
    this.keepValue(bytes);
  }

  private keepValue(bytes: Buffer): void {
    this.value.push(Buffer.from(bytes));
    this.valueBytes += bytes.length;
  }

  /**
   * Keeps data up to `maxDataBytes`; past it, only its first `RECORD_HEAD_BYTES` (whatever the cuts
   * between reads, so the head does not depend on them).
   */
  private addData(bytes: Buffer): void {
    this.dataBytes += bytes.length;
    const over = this.dataBytes > this.maxDataBytes;
    if (over && this.keptBytes > RECORD_HEAD_BYTES) {
      this.data = [copyHead(this.data, RECORD_HEAD_BYTES)];
      this.keptBytes = RECORD_HEAD_BYTES;
    }
    const room = (over ? RECORD_HEAD_BYTES : Infinity) - this.keptBytes;
    if (room <= 0) return;
    this.data.push(Buffer.from(bytes.length > room ? bytes.subarray(0, room) : bytes));
    this.keptBytes += Math.min(bytes.length, room);
  }

  private endLine(events: SseEvent[]): void {
    if (!this.lineHasBytes) {
      const event = this.dispatch();
      if (event) events.push(event);
      return;
    }
    if (this.phase === 'name') this.startField();
    if (this.phase !== 'skip') {
      const value = Buffer.concat(this.value, this.valueBytes);
      if (this.field === 'id') {
        if (this.valueTooLong || value.includes(NUL)) this.ignoredIds++;
        else this.lastEventIdBuffer = value.toString('utf8');
      } else if (this.field === 'event') {
        this.eventType = value.toString('utf8');
      }
    }
    this.resetLine();
  }

  private dispatch(): SseEvent | undefined {
    const lastEventId = this.lastEventIdBuffer;
    if (this.dataLines === 0) {
      this.resetFrame();
      return undefined;
    }
    const type = this.eventType === '' ? 'message' : this.eventType;
    const data = this.data.length === 1 ? this.data[0]! : Buffer.concat(this.data, this.keptBytes);
    const event: SseEvent =
      this.dataBytes > this.maxDataBytes
        ? { type, data, oversizeBytes: this.dataBytes, lastEventId }
        : { type, data, lastEventId };
    this.resetFrame();
    return event;
  }

  private resetLine(): void {
    this.lineHasBytes = false;
    this.phase = 'name';
    this.nameLength = 0;
    this.field = 'ignored';
    this.value = [];
    this.valueBytes = 0;
    this.valueTooLong = false;
  }

  private resetFrame(): void {
    this.data = [];
    this.dataBytes = 0;
    this.dataLines = 0;
    this.keptBytes = 0;
    this.eventType = '';
  }
}
