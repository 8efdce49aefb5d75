import type { SourceRecord } from '../types.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Splits a byte stream into NDJSON records without decoding: each non-blank line becomes a record
 * whose offset is its 0-based line number, so positions stay stable when blank lines are skipped.
 * Pull-based: the underlying stream is read only as fast as the consumer iterates.
 */
export async function* ndjsonRecords(
  chunks: AsyncIterable<Buffer | string>,
  partition: string,
  shouldStop: () => boolean = () => false,
): AsyncGenerator<SourceRecord> {
  let carry: Buffer | undefined;
  let line = 0;
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      const piece = chunk.subarray(start, newline);
      const value = carry ? Buffer.concat([carry, piece]) : piece;
      carry = undefined;
      const record = toRecord(value, partition, line++);
      if (record) yield record;
      if (shouldStop()) return;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
    }
  }
  if (carry) {
    const record = toRecord(carry, partition, line);
    if (record) yield record;
  }
}

function toRecord(value: Buffer, partition: string, offset: number): SourceRecord | undefined {
  let end = value.length;
  if (end > 0 && value[end - 1] === CARRIAGE_RETURN) end--;
  const trimmed = end === value.length ? value : value.subarray(0, end);
  for (const byte of trimmed) {
    // A line of only spaces or tabs is no event; anything else goes on, even if it is not JSON,
    // so that the job can turn it into an error event instead of losing it.
    if (byte !== 0x20 && byte !== 0x09) return { partition, offset, key: null, value: trimmed };
  }
  return undefined;
}
