import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable } from 'node:stream';
import { ndjsonRecords } from '../../../src/connectors/file/lines.js';
import { StdinSource } from '../../../src/connectors/stdio/stdio.js';
import type { SourceRecord } from '../../../src/connectors/types.js';
import { RECORD_HEAD_BYTES } from '../../../src/core/record-head.js';

/** V8's collector, which node:test does not expose otherwise. */
function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const KIB = 1024;
const MIB = 1024 * KIB;

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The records of `input` cut into chunks of every size in `sizes`: the result must not depend on it. */
async function records(input: Buffer | string, maxRecordBytes = MIB, sizes = [1, 2, 3, 7, 64 * KIB]) {
  const bytes = Buffer.from(input);
  let first: Array<{ offset: number; value: string; oversizeBytes?: number }> | undefined;
  for (const size of sizes) {
    const got: Array<{ offset: number; value: string; oversizeBytes?: number }> = [];
    for await (const r of ndjsonRecords(chunksOf(bytes, size), 'p', { maxRecordBytes })) {
      assert.equal(r.partition, 'p');
      assert.equal(r.key, null);
      got.push({
        offset: r.offset,
        value: r.value.toString('latin1'),
        ...(r.oversizeBytes !== undefined ? { oversizeBytes: r.oversizeBytes } : {}),
      });
    }
    if (first) assert.deepEqual(got, first, `chunks of ${size} bytes`);
    first = got;
  }
  return first!;
}

describe('ndjsonRecords', () => {
  it('yields non-blank lines with their line number as offset; LF, CRLF and a last line without newline', async () => {
    assert.deepEqual(await records('{"a":1}\n\n \t \r\n{"b":2}\r\n{"c":3}'), [
      { offset: 0, value: '{"a":1}' },
      { offset: 3, value: '{"b":2}' },
      { offset: 4, value: '{"c":3}' },
    ]);
    // Only the CR right before the LF belongs to the line ending.
    assert.deepEqual(await records('a\r\r\nb\rc\n'), [
      { offset: 0, value: 'a\r' },
      { offset: 1, value: 'b\rc' },
    ]);
  });

  it('drops a UTF-8 BOM at the very start only; the first line keeps offset 0', async () => {
    const bom = '\xef\xbb\xbf';
    const latin1 = (s: string) => Buffer.from(s, 'latin1');
    assert.deepEqual(await records(latin1(`${bom}{"a":1}\n${bom}{"b":2}\n`)), [
      { offset: 0, value: '{"a":1}' },
      { offset: 1, value: `${bom}{"b":2}` },
    ]);
    assert.deepEqual(await records(latin1(`${bom}\n{"a":1}`)), [{ offset: 1, value: '{"a":1}' }]);
    assert.deepEqual(await records(latin1(bom)), []);
    // Not a BOM: the bytes stay.
    assert.deepEqual(await records(latin1('\xef\xbb')), [{ offset: 0, value: '\xef\xbb' }]);
    assert.deepEqual(await records(latin1('\xef\xbbx\n')), [{ offset: 0, value: '\xef\xbbx' }]);
  });

  it('yields a line over the limit as its head and full length, and the lines after it whole', async () => {
    const limit = 64 * KIB;
    const long = 'x'.repeat(200 * KIB);
    const got = await records(`{"a":1}\n${long}\n{"b":2}\n`, limit, [7 * KIB, 64 * KIB, MIB]);
    assert.deepEqual(got, [
      { offset: 0, value: '{"a":1}' },
      { offset: 1, value: long.slice(0, RECORD_HEAD_BYTES), oversizeBytes: 200 * KIB },
      { offset: 2, value: '{"b":2}' },
    ]);
  });

  it('counts the limit without the line ending: exactly at the limit is whole, one byte more is not', async () => {
    const limit = 1024;
    const at = 'y'.repeat(limit);
    const over = 'z'.repeat(limit + 1);
    assert.deepEqual(await records(`${at}\n${at}\r\n${over}\n${over}\r\n`, limit, [5, 1000, 10_000]), [
      { offset: 0, value: at },
      { offset: 1, value: at },
      { offset: 2, value: over.slice(0, limit + 1), oversizeBytes: limit + 1 },
      { offset: 3, value: over.slice(0, limit + 1), oversizeBytes: limit + 1 },
    ]);
  });

  it('yields an over-long last line without a newline', async () => {
    const long = 'w'.repeat(300 * KIB);
    assert.deepEqual(await records(`{"a":1}\n${long}`, 64 * KIB, [4 * KIB, MIB]), [
      { offset: 0, value: '{"a":1}' },
      { offset: 1, value: long.slice(0, RECORD_HEAD_BYTES), oversizeBytes: 300 * KIB },
    ]);
  });

  it('stops after the record during which shouldStop became true', async () => {
    let stop = false;
    const got: SourceRecord[] = [];
    for await (const r of ndjsonRecords(chunksOf(Buffer.from('a\nb\nc\n'), 100), 'p', {
      maxRecordBytes: MIB,
      shouldStop: () => stop,
    })) {
      got.push(r);
      stop = true;
    }
    assert.deepEqual(
      got.map((r) => r.value.toString()),
      ['a'],
    );
  });

  it('standard input gets the same treatment: BOM dropped, over-long lines cut at its limit', async () => {
    const input = Readable.from([
      Buffer.from([0xef, 0xbb]),
      Buffer.from([0xbf]),
      Buffer.from(`{"a":1}\n${'v'.repeat(3000)}\n{"b":2}`),
    ]);
    const source = new StdinSource(input, 1024);
    const got: Array<[number, number, number | undefined]> = [];
    for await (const r of source.records()) got.push([r.offset, r.value.length, r.oversizeBytes]);
    assert.deepEqual(got, [
      [0, 7, undefined],
      [1, 3000, 3000],
      [2, 7, undefined],
    ]);
  });

  it('reads past a 256 MiB line in bounded memory and linear time', async () => {
    const lineBytes = 256 * MIB;
    const chunk = MIB;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
    // Fresh memory for every chunk, as a file stream gives: keeping chunks would show in the RSS. A
    // collection every few chunks keeps the garbage of chunks already read out of the measure.
    const collect = gc();
    async function* input(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"before":1}\n');
      for (let sent = 0; sent < lineBytes; sent += chunk) {
        sample();
        if (sent % (16 * chunk) === 0) collect();
        yield Buffer.alloc(chunk, 0x61);
      }
      yield Buffer.from('\n{"after":2}\n');
    }
    const started = performance.now();
    const got: Array<{ offset: number; length: number; oversizeBytes?: number }> = [];
    for await (const r of ndjsonRecords(input(), 'p', { maxRecordBytes: 10 * MIB })) {
      sample();
      got.push({
        offset: r.offset,
        length: r.value.length,
        ...(r.oversizeBytes ? { oversizeBytes: r.oversizeBytes } : {}),
      });
    }
    const ms = performance.now() - started;
    assert.deepEqual(got, [
      { offset: 0, length: 12 },
      { offset: 1, length: RECORD_HEAD_BYTES, oversizeBytes: lineBytes },
      { offset: 2, length: 11 },
    ]);
    const growth = peak - baseline;
    console.log(`256 MiB line: ${ms.toFixed(0)} ms, peak RSS growth ${(growth / MIB).toFixed(1)} MiB`);
    assert.ok(growth < lineBytes / 4, `peak RSS grew by ${(growth / MIB).toFixed(1)} MiB`);
  });
});
