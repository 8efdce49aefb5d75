/**
 * The file source's durable position (`position_file`): the byte offset of every line, the commit
 * of "next line N" saved as the offset where line N begins, a restart that goes on from there (a
 * seek, or for `.gz` a decompression that skips what was done), the end of the input saved as
 * complete, and the checks that refuse a position of another file or a position file that cannot
 * work before anything is written.
 */
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { checkFilePaths } from '../../../src/connectors/factory.js';
import { resumePoint, type FilePosition } from '../../../src/connectors/file/file-position.js';
import { FileSource } from '../../../src/connectors/file/file-source.js';
import { ndjsonRecords } from '../../../src/connectors/file/lines.js';
import type { SourceRecord } from '../../../src/connectors/types.js';
import { ConfigError } from '../../../src/core/errors.js';
import { pageContentChange } from '../../../src/jobs/page-content-change/job.js';
import { resolveConfig } from '../../../src/runtime/config.js';
import { jobConfig, jobPaths, type Json } from '../../helpers/job-harness.js';

const KEY = 'stream_manager.source.options.position_file';
const MAX = 1024;

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-position-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Where each line of `bytes` begins (and, last, the length): the offsets a position may hold. */
function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) starts.push(at + 1);
  if (starts.at(-1) !== bytes.length) starts.push(bytes.length);
  return starts;
}

/** A BOM, CRLF, blank lines, a line over the limit, and a last line without a newline. */
const TRICKY = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from('{"a":0}\r\n\n  \n{"b":1}\n'),
  Buffer.from(`${'x'.repeat(MAX * 3)}\n`),
  Buffer.from('{"c":2}\r\n\n{"d":3}'),
]);

describe('ndjsonRecords: byte offsets for resuming', () => {
  it('tells, for each record, where the next line begins, and at the end the line count and length', async () => {
    const starts = lineStarts(TRICKY);
    for (const size of [1, 2, 3, 5, 64, 1 << 16]) {
      const seen: Array<[number, number]> = [];
      let end: [number, number] | undefined;
      const offsets: number[] = [];
      for await (const r of ndjsonRecords(chunksOf(TRICKY, size), 'p', {
        maxRecordBytes: MAX,
        onRecord: (line, next) => seen.push([line, next]),
        onEnd: (lines, bytes) => (end = [lines, bytes]),
      })) {
        offsets.push(r.offset);
        // Told before the record is yielded.
        assert.equal(seen.at(-1)?.[0], r.offset);
      }
      assert.deepEqual(offsets, [0, 3, 4, 5, 7], `chunks of ${size}`);
      // The byte after line L's newline is where line L + 1 begins (the BOM counted).
      assert.deepEqual(
        seen,
        offsets.map((line) => [line, starts[line + 1]]),
        `chunks of ${size}`,
      );
      assert.deepEqual(end, [8, TRICKY.length], `chunks of ${size}`);
    }
  });

  it("read from any record's next line and byte, gives exactly the records after it", async () => {
    // The head kept of a line over the limit depends on how the chunks cut it: its first MAX bytes do not.
    const summary = (r: SourceRecord) => ({
      offset: r.offset,
      value: r.value.subarray(0, MAX).toString('latin1'),
      oversize: r.oversizeBytes,
    });
    const all: Array<ReturnType<typeof summary>> = [];
    const nexts: Array<[number, number]> = [];
    for await (const r of ndjsonRecords(chunksOf(TRICKY, 7), 'p', {
      maxRecordBytes: MAX,
      onRecord: (line, next) => nexts.push([line + 1, next]),
    })) {
      all.push(summary(r));
    }
    for (const [i, [line, byte]] of nexts.entries()) {
      for (const size of [1, 4, 1 << 16]) {
        const rest: typeof all = [];
        let end: [number, number] | undefined;
        for await (const r of ndjsonRecords(chunksOf(TRICKY.subarray(byte), size), 'p', {
          maxRecordBytes: MAX,
          start: { line, byte },
          onEnd: (lines, bytes) => (end = [lines, bytes]),
        })) {
          rest.push(summary(r));
        }
        assert.deepEqual(rest, all.slice(i + 1), `from line ${line} (byte ${byte}), chunks of ${size}`);
        assert.deepEqual(end, [8, TRICKY.length]);
      }
    }
  });

  it('does not take the bytes of a BOM for one when it resumes in the middle', async () => {
    const bytes = Buffer.from('{"a":1}\n\xef\xbb\xbf{"b":2}\n', 'latin1');
    const got: string[] = [];
    for await (const r of ndjsonRecords(chunksOf(bytes.subarray(8), 2), 'p', {
      maxRecordBytes: MAX,
      start: { line: 1, byte: 8 },
    })) {
      got.push(r.value.toString('latin1'));
    }
    assert.deepEqual(got, ['\xef\xbb\xbf{"b":2}']);
  });
});

interface Logged {
  message: string;
  fields: Json;
}

function recordingLogger(): { logger: Logger; logs: Logged[] } {
  const logs: Logged[] = [];
  const logger = {
    info: (fields: Json, message: string) => logs.push({ message, fields }),
  } as unknown as Logger;
  return { logger, logs };
}

/** A file source over `input` with a position file, as the factory builds it after its checks. */
async function openSource(input: string, positionPath: string) {
  const { logger, logs } = recordingLogger();
  const positionFile = { path: positionPath, key: KEY };
  const resume = await resumePoint(input, positionFile);
  const source = new FileSource({ path: input, maxRecordBytes: MAX, positionFile }, resume, logger);
  return { source, logs };
}

/**
 * What the runtime does with a source, with the commits a test chooses: reads up to `read` records
 * (all when unset), then commits "next line" after each record listed in `commitAfter` (by its
 * index among the records read), stops, closes. Returns the offsets read.
 */
async function drive(
  source: FileSource,
  input: string,
  plan: { read?: number; commitAfter: number[] },
): Promise<number[]> {
  const offsets: number[] = [];
  for await (const r of source.records()) {
    offsets.push(r.offset);
    if (plan.read !== undefined && offsets.length >= plan.read) break;
  }
  source.stop();
  for (const i of plan.commitAfter) {
    await source.commit(new Map([[input, offsets[i]! + 1]]));
  }
  await source.close();
  return offsets;
}

async function saved(path: string): Promise<FilePosition> {
  return JSON.parse(await readFile(path, 'utf8')) as FilePosition;
}

/** 40 lines with blank lines among them and no newline after the last one. */
function linesInput(): { text: string; records: number[] } {
  const lines: string[] = [];
  const records: number[] = [];
  for (let i = 0; i < 40; i++) {
    if (i % 7 === 3) lines.push('');
    else {
      lines.push(JSON.stringify({ line: i, pad: 'p'.repeat(i) }));
      records.push(i);
    }
  }
  return { text: lines.join('\n'), records };
}

describe('FileSource with a position_file', () => {
  for (const compressed of [false, true]) {
    const kind = compressed ? '.gz input' : 'uncompressed input';

    it(`${kind}: saves each commit as its line and byte, and a restart reads exactly the lines after it`, async (t) => {
      const dir = await folder(t);
      const { text, records } = linesInput();
      const input = join(dir, compressed ? 'in.ndjson.gz' : 'in.ndjson');
      await writeFile(input, compressed ? gzipSync(text) : text);
      const starts = lineStarts(Buffer.from(text));
      const position = join(dir, 'position.json');

      // Run 1: reads 20 records, but only the first 12 are done (in any order: the runtime
      // commits the done prefix), so the commits are after records 5 and 11.
      const first = await openSource(input, position);
      const read1 = await drive(first.source, input, { read: 20, commitAfter: [5, 11] });
      assert.deepEqual(read1, records.slice(0, 20));
      const after1 = await saved(position);
      const next = records[11]! + 1;
      assert.deepEqual(
        { line: after1.line, byte: after1.byte, complete: after1.complete },
        { line: next, byte: starts[next], complete: false },
      );
      assert.equal(after1.input.path, input);
      assert.deepEqual(first.logs, [], 'a first run logs no resume');

      // Run 2: every record after the committed one, once, then read to the end and committed.
      const second = await openSource(input, position);
      const read2 = await drive(second.source, input, { commitAfter: [3, records.length - 13] });
      assert.deepEqual(read2, records.slice(12), 'no line skipped, none read again');
      assert.deepEqual(
        second.logs.map((l) => [l.message, l.fields.line, l.fields.byte]),
        [
          [
            compressed
              ? 'resuming from the saved position: decompressing from the start and skipping the lines already done'
              : 'resuming from the saved position',
            next,
            starts[next],
          ],
        ],
      );
      const after2 = await saved(position);
      assert.deepEqual(
        { line: after2.line, byte: after2.byte, complete: after2.complete },
        { line: 40, byte: Buffer.byteLength(text), complete: true },
        'the end of the input, read and committed, is saved as complete',
      );

      // Run 3: nothing to read, and it says so.
      const third = await openSource(input, position);
      assert.deepEqual(await drive(third.source, input, { commitAfter: [] }), []);
      assert.deepEqual(
        third.logs.map((l) => l.message),
        ['the input was already read to its end: nothing to read'],
      );
      assert.deepEqual(await saved(position), after2);
    });
  }

  it('is not complete while a line read is not committed, nor after a stop', async (t) => {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson');
    await writeFile(input, 'a\nb\nc\n');
    const position = join(dir, 'position.json');
    // Everything read, the last record not done.
    const { source } = await openSource(input, position);
    await drive(source, input, { commitAfter: [1] });
    assert.deepEqual((({ line, byte, complete }) => ({ line, byte, complete }))(await saved(position)), {
      line: 2,
      byte: 4,
      complete: false,
    });
    // Stopped after the first record: the rest of the input is unknown.
    const again = await openSource(input, position);
    const offsets: number[] = [];
    for await (const r of again.source.records()) {
      offsets.push(r.offset);
      again.source.stop();
    }
    assert.deepEqual(offsets, [2]);
    await again.source.commit(new Map([[input, 3]]));
    await again.source.close();
    assert.equal((await saved(position)).complete, false, 'a stop is not the end of the input');
  });

  it('a stop while a .gz input is decompressed up to the saved position is not its end', async (t) => {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson.gz');
    await writeFile(input, gzipSync('a\nb\nc\n'));
    const position = join(dir, 'position.json');
    const first = await openSource(input, position);
    await drive(first.source, input, { read: 1, commitAfter: [0] });
    const { source } = await openSource(input, position);
    source.stop();
    for await (const record of source.records())
      assert.fail(`no record after a stop, got line ${record.offset}`);
    await source.close();
    assert.deepEqual((({ line, byte, complete }) => ({ line, byte, complete }))(await saved(position)), {
      line: 1,
      byte: 2,
      complete: false,
    });
  });

  it('an input of blank lines only (nothing to commit) is saved as complete when it ends', async (t) => {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson');
    await writeFile(input, '\n \n\t\n');
    const position = join(dir, 'position.json');
    const { source } = await openSource(input, position);
    assert.deepEqual(await drive(source, input, { commitAfter: [] }), []);
    assert.deepEqual((({ line, byte, complete }) => ({ line, byte, complete }))(await saved(position)), {
      line: 3,
      byte: 5,
      complete: true,
    });
  });

  it('forgets the byte offsets of committed lines (memory bounded by what is not committed)', async (t) => {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson');
    await writeFile(input, Array.from({ length: 5000 }, (_, i) => `{"i":${i}}\n`).join(''));
    const { source } = await openSource(input, join(dir, 'position.json'));
    let read = 0;
    for await (const r of source.records()) {
      read++;
      if (read % 100 === 0) await source.commit(new Map([[input, r.offset + 1]]));
      if (read === 4950) break;
    }
    const pending = source['uncommitted'] as { lines: number[]; head: number };
    assert.equal(pending.lines.length - pending.head, 50, 'only the lines after the last commit');
    assert.ok(pending.lines.length < 2100, `the committed ones are dropped (${pending.lines.length} kept)`);
  });

  it('a .gz position whose byte is not the start of a line fails the read with a message naming it', async (t) => {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson.gz');
    const text = 'aaaa\nbbbb\ncccc\n';
    await writeFile(input, gzipSync(text));
    const position = join(dir, 'position.json');
    const first = await openSource(input, position);
    await drive(first.source, input, { commitAfter: [0] });
    const good = await saved(position);
    await writeFile(position, JSON.stringify({ ...good, byte: 7 }));
    const { source } = await openSource(input, position);
    await assert.rejects(async () => {
      for await (const record of source.records()) assert.fail(`no record, got line ${record.offset}`);
    }, /position\.json says line 1 begins at byte 7 of the decompressed .*in\.ndjson\.gz, which is not the start of a line/);
  });
});

describe("resumePoint: a position that is not this input's is refused", () => {
  async function savedFor(t: TestContext, text: string) {
    const dir = await folder(t);
    const input = join(dir, 'in.ndjson');
    await writeFile(input, text);
    const position = join(dir, 'position.json');
    const { source } = await openSource(input, position);
    await drive(source, input, { read: 1, commitAfter: [0] });
    return { dir, input, position };
  }

  function refused(message: RegExp) {
    return (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, KEY);
      assert.match(err.message, message);
      return true;
    };
  }

  it('another file of another size', async (t) => {
    const { dir, position } = await savedFor(t, '{"a":1}\n{"a":2}\n');
    const other = join(dir, 'other.ndjson');
    await writeFile(other, '{"b":1}\n');
    await assert.rejects(
      resumePoint(other, { path: position, key: KEY }),
      refused(
        /position\.json is the position of another input: it was saved for .*in\.ndjson \(16 bytes\), and .*other\.ndjson is 8 bytes\. Remove it to read .*other\.ndjson from the start\./,
      ),
    );
  });

  it('another file of the same size, or this one edited at its start', async (t) => {
    const { input, position } = await savedFor(t, '{"a":1}\n{"a":2}\n');
    await writeFile(input, '{"a":9}\n{"a":2}\n');
    await assert.rejects(
      resumePoint(input, { path: position, key: KEY }),
      refused(/begins with other bytes/),
    );
  });

  it('this file grown since (appended to)', async (t) => {
    const { input, position } = await savedFor(t, '{"a":1}\n{"a":2}\n');
    await writeFile(input, '{"a":1}\n{"a":2}\n{"a":3}\n');
    await assert.rejects(resumePoint(input, { path: position, key: KEY }), refused(/in\.ndjson is 24 bytes/));
  });

  it('a byte offset that is not the start of a line (an edited position)', async (t) => {
    const { input, position } = await savedFor(t, '{"a":1}\n{"a":2}\n');
    const good = await saved(position);
    await writeFile(position, JSON.stringify({ ...good, byte: 5 }));
    await assert.rejects(
      resumePoint(input, { path: position, key: KEY }),
      refused(/says line 1 begins at byte 5, which is not the start of a line of .*in\.ndjson/),
    );
  });

  it('an input that is not a regular file (a FIFO cannot be resumed in)', async (t) => {
    const dir = await folder(t);
    const fifo = join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(
      resumePoint(fifo, { path: join(dir, 'position.json'), key: KEY }),
      refused(/needs a regular file to resume in; the input .*in\.fifo is not one/),
    );
  });

  it('a torn or foreign position file', async (t) => {
    const { input, position } = await savedFor(t, '{"a":1}\n');
    await writeFile(position, '{"version":1,"inp');
    await assert.rejects(
      resumePoint(input, { path: position, key: KEY }),
      refused(/position\.json is not JSON/),
    );
    await writeFile(position, '{"version":2}');
    await assert.rejects(
      resumePoint(input, { path: position, key: KEY }),
      refused(/position\.json is not a saved position: version 2 is not 1/),
    );
  });
});

describe('checkFilePaths: a position_file that cannot work is refused before anything is written', () => {
  /** The bindings the config resolves to, with a position file and appending sinks unless overridden. */
  async function bindings(t: TestContext, overrides: (dir: string) => Json) {
    const dir = await folder(t);
    const paths = jobPaths(dir);
    await writeFile(paths.input, '{"a":1}\n');
    const base = {
      stream_manager: {
        source: { options: { position_file: join(dir, 'position.json') } },
        sink: { options: { append: true } },
        error_sink: { options: { append: true } },
      },
    };
    const config = resolveConfig(
      jobConfig(paths, 'http://127.0.0.1:9/w/api.php', deepMergeAll(base, overrides(dir))),
      pageContentChange,
    );
    return { dir, paths, check: () => checkFilePaths(config.source, config.sink, config.errorSink) };
  }

  function deepMergeAll(a: Json, b: Json): Json {
    const out: Json = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const prev = out[k];
      out[k] =
        typeof v === 'object' && v !== null && typeof prev === 'object' && prev !== null
          ? deepMergeAll(prev as Json, v as Json)
          : v;
    }
    return out;
  }

  function refused(key: string, message: RegExp) {
    return (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, key);
      assert.match(err.message, message);
      return true;
    };
  }

  const position = (path: string): Json => ({
    stream_manager: { source: { options: { position_file: path } } },
  });

  it('accepts a position file in an existing folder, with appending uncompressed file sinks', async (t) => {
    const { check } = await bindings(t, () => ({}));
    await check();
  });

  it('a folder that does not exist', async (t) => {
    const { check, dir } = await bindings(t, (d) => position(join(d, 'missing', 'position.json')));
    await assert.rejects(
      check(),
      refused(KEY, new RegExp(`the folder ${join(dir, 'missing')} does not exist`)),
    );
  });

  it('a folder that is a file', async (t) => {
    const { check } = await bindings(t, (d) => position(join(d, 'page-change.ndjson', 'position.json')));
    await assert.rejects(check(), refused(KEY, /page-change\.ndjson is not a directory/));
  });

  it('a path that is a folder', async (t) => {
    const { check, dir } = await bindings(t, (d) => position(join(d, 'positions')));
    await mkdir(join(dir, 'positions'));
    await assert.rejects(check(), refused(KEY, /positions is a directory/));
  });

  it('the input itself', async (t) => {
    const { check } = await bindings(t, (d) => position(join(d, 'page-change.ndjson')));
    await assert.rejects(check(), refused(KEY, /is the same file as stream_manager\.source\.options\.path/));
  });

  it('the sink file, spelled another way', async (t) => {
    const { check, dir } = await bindings(t, (d) =>
      position(join(d, 'out', '..', 'out', 'page-content-change.ndjson')),
    );
    await mkdir(join(dir, 'out'));
    await assert.rejects(check(), refused(KEY, /is the same file as stream_manager\.sink\.options\.path/));
  });

  it('a file sink that replaces its file', async (t) => {
    const { check } = await bindings(t, () => ({
      stream_manager: { error_sink: { options: { append: false } } },
    }));
    await assert.rejects(
      check(),
      refused(
        'stream_manager.error_sink.options.append',
        new RegExp(`must be true with ${KEY.replaceAll('.', '\\.')}: a restart would replace the outputs`),
      ),
    );
  });

  it('a compressed file sink', async (t) => {
    const { check } = await bindings(t, (d) => ({
      stream_manager: { sink: { options: { path: join(d, 'out', 'page-content-change.ndjson.gz') } } },
    }));
    await assert.rejects(
      check(),
      refused('stream_manager.sink.options.path', /is compressed, which cannot go with .*position_file/),
    );
  });

  it('a saved position of another input', async (t) => {
    const { check, dir, paths } = await bindings(t, () => ({}));
    await check();
    const positionPath = join(dir, 'position.json');
    const { source } = await openSource(paths.input, positionPath);
    await drive(source, paths.input, { commitAfter: [0] });
    await writeFile(paths.input, '{"b":2}\n{"b":3}\n');
    await assert.rejects(check(), refused(KEY, /is the position of another input/));
  });

  it('a folder it cannot write in', async (t) => {
    const dir = await folder(t);
    const locked = join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o555);
    await chmod(dir, 0o755);
    const positionPath = join(locked, 'position.json');
    // Permissions do not apply to root: the check then runs in a child as an unprivileged user. That
    // user may not be able to read the checkout (a clone in a 0700 folder), so the child runs a
    // bundle of the check written into the test's own folder, needing nothing from the checkout.
    const script = join(dir, 'position-path-check.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('./position-path-check.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });
    await chmod(script, 0o644);
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(process.execPath, [script, KEY, positionPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asUser,
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = (await once(child, 'close')) as [number];
    assert.equal(code, 0, out);
    assert.equal(out.trim(), `${KEY}: cannot write in ${locked}: EACCES`);
  });
});
