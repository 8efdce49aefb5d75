/**
 * An appending file sink first makes its file end with a whole line: a line a killed process cut
 * short (never acknowledged, so written again by the run that resumes) is removed, instead of
 * swallowing the first new output into one broken line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { FileSink } from '../../../src/connectors/file/file-sink.js';
import { repairTornTail } from '../../../src/connectors/file/torn-tail.js';

async function file(t: TestContext, content: string | Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'torn-tail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ndjson');
  await writeFile(path, content);
  return path;
}

async function appendOne(path: string, line: string): Promise<string> {
  const sink = new FileSink({ path, append: true });
  await sink.send({ key: null, value: Buffer.from(line) });
  await sink.close();
  return readFile(path, 'utf8');
}

describe('appending after a torn last line', () => {
  it('cuts off a last line that is not JSON, then appends', async (t) => {
    const path = await file(t, '{"a":1}\n{"b":2}\n{"c":3,"te');
    assert.equal(await appendOne(path, '{"c":3}'), '{"a":1}\n{"b":2}\n{"c":3}\n');
  });

  it('finds the last newline more than a block back', async (t) => {
    const long = `{"x":"${'y'.repeat(200 * 1024)}`;
    const path = await file(t, `{"a":1}\n${long}`);
    assert.equal(repairTornTail(path), Buffer.byteLength(long));
    assert.equal(await readFile(path, 'utf8'), '{"a":1}\n');
  });

  it('cuts a file that is one torn line down to nothing', async (t) => {
    const path = await file(t, '{"a":');
    assert.equal(await appendOne(path, '{"a":1}'), '{"a":1}\n');
  });

  it('gives a complete JSON last line its missing newline instead of cutting it', async (t) => {
    const path = await file(t, '{"a":1}\n{"b":2}');
    assert.equal(await appendOne(path, '{"c":3}'), '{"a":1}\n{"b":2}\n{"c":3}\n');
  });

  it('leaves whole files alone, and replacing sinks do not look', async (t) => {
    const whole = await file(t, '{"a":1}\n');
    assert.equal(repairTornTail(whole), 0);
    assert.equal(await readFile(whole, 'utf8'), '{"a":1}\n');
    assert.equal(repairTornTail(join(whole, '..', 'missing.ndjson')), 0);
    const empty = await file(t, '');
    assert.equal(await appendOne(empty, '{"a":1}'), '{"a":1}\n');
  });
});
