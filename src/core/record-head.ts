import { utf8Prefix } from './utf8.js';

/**
 * How much of an input too large to handle is kept: a source keeps this much of an over-long line,
 * and an error event carries at most this much of it in `raw_event`, so that the error event stays
 * small whatever the input was.
 */
export const RECORD_HEAD_BYTES = 64 * 1024;

/**
 * The head of `bytes` as text whose JSON encoding (what `raw_event` costs in the error event) fits in
 * `maxEncodedBytes`: escaping can make control characters six times longer, so the cut is made on
 * the encoded size, never inside a character. Returns the whole text when it fits.
 */
export function rawEventHead(
  bytes: Buffer,
  maxEncodedBytes: number = RECORD_HEAD_BYTES,
): { text: string; cut: boolean } {
  let end = Math.min(bytes.length, maxEncodedBytes);
  for (;;) {
    const prefix = utf8Prefix(bytes, end);
    const text = prefix.toString('utf8');
    const encoded = Buffer.byteLength(JSON.stringify(text)) - 2;
    if (encoded <= maxEncodedBytes) return { text, cut: prefix.length < bytes.length };
    // Shrink in proportion to the overshoot; the loop ends because `end` strictly decreases.
    end = Math.min(end - 1, Math.floor((end * maxEncodedBytes) / encoded));
  }
}

/**
 * A copy (not a view, which would keep whole network or file chunks alive) of the first `max` bytes
 * of `pieces`: how a source keeps the head of an input too long to assemble.
 */
export function copyHead(pieces: readonly Buffer[], max: number): Buffer {
  const total = pieces.reduce((sum, p) => sum + p.length, 0);
  const head = Buffer.allocUnsafe(Math.min(max, total));
  let at = 0;
  for (const piece of pieces) {
    if (at >= head.length) break;
    at += piece.copy(head, at, 0, Math.min(piece.length, head.length - at));
  }
  return head;
}
