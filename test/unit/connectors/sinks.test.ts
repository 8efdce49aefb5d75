/**
 * File and stdout sinks whose writes fail: every send after the failure rejects with the first
 * error, `close` rejects too, and no 'error' event is left without a listener (node:test would
 * report it as an uncaught exception).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FileSink } from '../../../src/connectors/file/file-sink.js';
import { StdoutSink } from '../../../src/connectors/stdio/stdio.js';
import { tempDir } from '../../helpers/job-harness.js';

const record = (value: Buffer | string) => ({ key: null, value: Buffer.from(value) });

/** A stream that fails every write with `code`, as a pipe whose reader left fails with EPIPE. */
function failingStream(code: string): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback(Object.assign(new Error(`write ${code}`), { code }));
    },
  });
}

describe('StdoutSink', () => {
  it('rejects the send whose write fails, and every later one with the same error', async () => {
    const sink = new StdoutSink(failingStream('EPIPE'));
    await assert.rejects(sink.send(record('{"a":1}')), { code: 'EPIPE' });
    await assert.rejects(sink.send(record('{"a":2}')), { code: 'EPIPE', message: 'write EPIPE' });
  });

  it('resolves sends that the stream accepted', async () => {
    const written: string[] = [];
    const sink = new StdoutSink(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          written.push(chunk.toString());
          callback();
        },
      }),
    );
    await sink.send(record('{"a":1}'));
    await sink.send(record('{"a":2}'));
    assert.equal(written.join(''), '{"a":1}\n{"a":2}\n');
  });
});

describe('FileSink', () => {
  it('on a full device: a send rejects with ENOSPC, and so does close', async () => {
    const sink = new FileSink({ path: '/dev/full', append: false });
    await assert.rejects(sink.send(record('{"a":1}')), { code: 'ENOSPC' });
    await assert.rejects(sink.send(record('{"a":2}')), { code: 'ENOSPC' });
    await assert.rejects(sink.close(), { code: 'ENOSPC' });
  });

  it('gzip on a full device: the compressor takes bytes the file then refuses; later sends and close reject', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'out.ndjson.gz');
    await symlink('/dev/full', path);
    const sink = new FileSink({ path, append: false });
    // Incompressible lines, so that the compressor soon hands bytes to the file.
    let rejected: unknown;
    for (let i = 0; i < 200 && rejected === undefined; i++) {
      await sink
        .send(record(randomBytes(16 * 1024).toString('base64')))
        .catch((err: unknown) => (rejected = err));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((rejected as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
    await assert.rejects(sink.send(record('{"a":1}')), { code: 'ENOSPC' });
    await assert.rejects(sink.close(), { code: 'ENOSPC' });
  });

  it('a path that cannot be created: send rejects (no throw), close rejects', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    const sink = new FileSink({ path: join(file, 'out.ndjson'), append: false });
    let promise: Promise<void> | undefined;
    assert.doesNotThrow(() => (promise = sink.send(record('{"a":1}'))));
    await assert.rejects(promise!, { code: 'EEXIST' });
    await assert.rejects(sink.close(), { code: 'EEXIST' });
  });
});
