import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isEnrichmentError } from '../core/errors.js';
import { answerTooLargeError, responseFormatError } from './errors.js';

/** Bytes past `limitBytes` fail the stream, so that nothing further is read or inflated. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly counted: 'received' | 'decompressed',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limitBytes) return done(answerTooLargeError(this.limitBytes, this.counted));
    return done(null, chunk);
  }
}

/** Keeps the chunks it is given, to be joined once at the end. */
class ChunkSink extends Writable {
  readonly chunks: Buffer[] = [];
  length = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    done();
  }
}

/**
 * The bytes of an answer's body, holding at most `limitBytes` of them: the declared length is checked
 * before anything is read, the bytes on the wire are counted as they arrive, and a gzip body is
 * inflated as a stream whose output is counted too, so a small compressed answer cannot grow past
 * the limit in memory. Whatever exceeds the limit stops the stream (which aborts the request) and
 * fails with a `ResponseFormatError` (reason `answer too large`). Errors of `body` itself (socket,
 * parser, timeout) are thrown unchanged for the client to classify.
 */
export async function readAnswerBody(
  body: Readable,
  headers: { contentEncoding: string | undefined; contentLength: string | undefined },
  limitBytes: number,
): Promise<Buffer> {
  // A body abandoned unread is destroyed, and undici then emits an error on it: with no listener
  // that error would be uncaught and stop the process.
  const abandon = () => {
    body.on('error', () => undefined);
    body.destroy();
  };
  const encoding = headers.contentEncoding?.trim().toLowerCase() ?? '';
  const gzip = encoding === 'gzip' || encoding === 'x-gzip';
  if (!gzip && encoding !== '' && encoding !== 'identity') {
    abandon();
    throw responseFormatError('unexpected content-encoding', { encoding });
  }
  const declared = Number(headers.contentLength);
  if (headers.contentLength !== undefined && Number.isFinite(declared) && declared > limitBytes) {
    abandon();
    throw answerTooLargeError(limitBytes, 'declared');
  }
  if (!gzip) return readPlain(body, limitBytes, abandon);
  const inflated = new ChunkSink();
  try {
    const received = new ByteLimit(limitBytes, 'received');
    await pipeline(body, received, createGunzip(), new ByteLimit(limitBytes, 'decompressed'), inflated);
  } catch (error) {
    if (isEnrichmentError(error)) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw responseFormatError('gzip body does not decompress', { cause: String(error) });
    }
    throw error;
  }
  return Buffer.concat(inflated.chunks, inflated.length);
}

/**
 * An uncompressed body, read directly: the same bound as the gzip path without a stream pipeline,
 * whose set-up and teardown (an AbortController and a DOMException per answer) cost more than
 * reading a small answer.
 */
async function readPlain(body: Readable, limitBytes: number, abandon: () => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let seen = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limitBytes) {
      abandon();
      throw answerTooLargeError(limitBytes, 'received');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, seen);
}
