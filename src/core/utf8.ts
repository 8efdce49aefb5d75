/**
 * UTF-8 helpers for untrusted bytes. `isUtf8` (node:buffer) says whether bytes are valid; these say
 * where they are not, and cut valid text without splitting a character.
 */

/**
 * Byte offset of the first ill-formed sequence (Unicode 15, table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated or stray continuation bytes), or -1.
 */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    // The range of the second byte narrows for E0, ED, F0 and F4: that is what excludes overlong
    // forms, surrogates and code points above U+10FFFF.
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    if (i + 1 >= n || bytes[i + 1]! < low || bytes[i + 1]! > high) return i;
    for (let k = 2; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < 0x80 || c > 0xbf) return i;
    }
    i += length;
  }
  return -1;
}

/** The longest prefix of at most `maxBytes` that does not end inside a multi-byte character. */
export function utf8Prefix(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.length <= maxBytes) return bytes;
  let end = Math.max(0, maxBytes);
  // Back off over continuation bytes (10xxxxxx) to the start of the character that was cut; at most 3.
  for (let k = 0; k < 3 && end > 0 && (bytes[end]! & 0xc0) === 0x80; k++) end--;
  return bytes.subarray(0, end);
}
