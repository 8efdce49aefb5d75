/**
 * HTTP/1.1 responses that are malformed, or valid but rare, as raw bytes for the test API's
 * `raw-bytes` behaviour: what a broken proxy or a hostile server may send instead of an answer.
 */

export const MALFORMED_HTTP = [
  'empty',
  'garbage',
  'http09',
  'bad-status',
  'no-reason',
  'http10-close',
  'lf-only',
  'two-lengths',
  'chunked-and-length',
  'bad-chunk',
  'short-body',
  'long-body',
  'huge-length',
  'negative-length',
  'nul-in-header',
  'long-header',
  'many-headers',
  'obs-fold',
  'headers-unfinished',
  'continue-then-200',
] as const;
export type MalformedHttp = (typeof MALFORMED_HTTP)[number];

/** A response (or not) as bytes on the socket: some are valid HTTP/1.x that few servers send. */
export function malformedHttp(mode: MalformedHttp, body: string): Buffer {
  const len = Buffer.byteLength(body);
  const head = (lines: string[], eol = '\r\n') => lines.join(eol) + eol + eol;
  const ok = 'HTTP/1.1 200 OK';
  const type = 'content-type: application/json; charset=utf-8';
  switch (mode) {
    case 'empty':
      return Buffer.alloc(0);
    case 'garbage':
      return Buffer.from('\x00\xff garbage\r\n\r\n', 'latin1');
    case 'http09':
      return Buffer.from(body);
    case 'bad-status':
      return Buffer.from(head(['HTTP/1.1 2000 OK', `content-length: ${len}`]) + body);
    case 'no-reason':
      return Buffer.from(head(['HTTP/1.1 200', type, `content-length: ${len}`]) + body);
    case 'http10-close':
      return Buffer.from(head(['HTTP/1.0 200 OK', type]) + body);
    case 'lf-only':
      return Buffer.from(head([ok, type, `content-length: ${len}`], '\n') + body);
    case 'two-lengths':
      return Buffer.from(head([ok, `content-length: ${len}`, `content-length: ${len + 5}`]) + body);
    case 'chunked-and-length':
      return Buffer.from(
        head([ok, 'transfer-encoding: chunked', 'content-length: 3']) +
          `${len.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
    case 'bad-chunk':
      return Buffer.from(head([ok, 'transfer-encoding: chunked']) + `zz\r\n${body}\r\n0\r\n\r\n`);
    case 'short-body':
      return Buffer.from(head([ok, type, `content-length: ${len + 100}`]) + body);
    case 'long-body':
      return Buffer.from(head([ok, type, `content-length: ${Math.floor(len / 2)}`]) + body);
    case 'huge-length':
      return Buffer.from(head([ok, type, 'content-length: 99999999999999999']) + body);
    case 'negative-length':
      return Buffer.from(head([ok, type, 'content-length: -1']) + body);
    case 'nul-in-header':
      return Buffer.from(head([ok, 'x-a: b\u0000c', `content-length: ${len}`]) + body);
    case 'long-header':
      return Buffer.from(head([ok, `x-long: ${'a'.repeat(100_000)}`, `content-length: ${len}`]) + body);
    case 'many-headers':
      return Buffer.from(
        head([ok, ...Array.from({ length: 10_000 }, (_, i) => `x-${i}: 1`), `content-length: ${len}`]) + body,
      );
    case 'obs-fold':
      return Buffer.from(head([ok, 'x-a: b', ' folded', `content-length: ${len}`]) + body);
    case 'headers-unfinished':
      return Buffer.from(`${ok}\r\ncontent-length: ${len}\r\n`);
    case 'continue-then-200':
      return Buffer.from(head(['HTTP/1.1 100 Continue']) + head([ok, type, `content-length: ${len}`]) + body);
  }
}
