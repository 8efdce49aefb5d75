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
