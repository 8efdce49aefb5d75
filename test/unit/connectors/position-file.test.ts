/**
 * PositionFile: a missing file is no position, a saved one comes back as it was, a file that is not
 * a position is refused with a message naming it, and a save is atomic: the new content is written
 * whole to a temporary file and renamed into place, so a process killed at any moment leaves the
 * last position it saved or the one it was saving, never a torn one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fsp, { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, mock, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PositionFile } from '../../../src/connectors/position-file.js';

interface Counter {
  n: number;
  pad: string;
}

function parseCounter(value: unknown): Counter {
  const v = value as Partial<Counter>;
  if (typeof v?.n !== 'number' || typeof v.pad !== 'string') throw new Error('n and pad expected');
  return { n: v.n, pad: v.pad };
}

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'position-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('PositionFile', () => {
  it('loads undefined when there is no file, and what was saved after a save', async (t) => {
    const path = join(await folder(t), 'position.json');
    const positions = new PositionFile(path, parseCounter);
    assert.equal(await positions.load(), undefined);
    await positions.save({ n: 1, pad: 'a' });
    await positions.save({ n: 2, pad: 'b' });
    assert.deepEqual(await positions.load(), { n: 2, pad: 'b' });
    // Another instance (a restart) reads the same.
    assert.deepEqual(await new PositionFile(path, parseCounter).load(), { n: 2, pad: 'b' });
    assert.equal(await readFile(path, 'utf8'), '{"n":2,"pad":"b"}\n');
  });

  it('saves in call order, also when the calls do not wait for each other', async (t) => {
    const path = join(await folder(t), 'position.json');
    const positions = new PositionFile(path, parseCounter);
    await Promise.all([1, 2, 3, 4, 5].map((n) => positions.save({ n, pad: '' })));
    assert.deepEqual(await positions.load(), { n: 5, pad: '' });
  });

  it('does not write an unchanged position again (the file keeps its inode)', async (t) => {
    const path = join(await folder(t), 'position.json');
    const positions = new PositionFile(path, parseCounter);
    await positions.save({ n: 1, pad: '' });
    const before = await stat(path);
    await positions.save({ n: 1, pad: '' });
    assert.equal((await stat(path)).ino, before.ino);
    await positions.save({ n: 2, pad: '' });
    assert.notEqual((await stat(path)).ino, before.ino, 'a new position is a new file renamed into place');
  });

  it('refuses a file that is not a position, naming it: torn JSON, empty, wrong shape, a folder', async (t) => {
    const dir = await folder(t);
    const path = join(dir, 'position.json');
    const positions = new PositionFile(path, parseCounter);
    await writeFile(path, '{"n":12,"pad":"xx');
    await assert.rejects(positions.load(), (err: Error) => {
      assert.match(err.message, /position\.json is not JSON \(.*\), so not a saved position/);
      assert.ok(err.message.includes(path));
      return true;
    });
    await writeFile(path, '');
    await assert.rejects(positions.load(), /position\.json is not JSON/);
    await writeFile(path, '{"n":"twelve"}');
    await assert.rejects(positions.load(), /position\.json is not a saved position: n and pad expected/);
    await rm(path);
    await mkdir(path);
    await assert.rejects(positions.load(), /cannot read .*position\.json: not a regular file/);
  });

  it('refuses a file too large to be a position without reading it', async (t) => {
    const path = join(await folder(t), 'position.json');
    await writeFile(path, Buffer.alloc(2 << 20, 0x20));
    await assert.rejects(
      new PositionFile(path, parseCounter).load(),
      /cannot read .*position\.json: 2097152 bytes, too large for a position/,
    );
  });

  it('writes the whole new content to a temporary file, then renames it: a failed rename leaves the old position', async (t) => {
    const dir = await folder(t);
    const path = join(dir, 'position.json');
    const positions = new PositionFile(path, parseCounter);
    await positions.save({ n: 1, pad: 'old' });
    // What the rename would have moved into place, seen at the moment of the rename.
    const renames: Array<{ from: string; to: string; content: string; target: string }> = [];
    mock.method(fsp, 'rename', async (from: string, to: string) => {
      renames.push({
        from,
        to,
        content: await readFile(from, 'utf8'),
        target: await readFile(to, 'utf8'),
      });
      throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
    });
    syncBuiltinESMExports();
    t.after(() => {
      mock.restoreAll();
      syncBuiltinESMExports();
    });

    await assert.rejects(positions.save({ n: 2, pad: 'new' }), /EIO/);

    assert.equal(renames.length, 1);
    const [rename] = renames;
    assert.equal(rename!.to, path);
    assert.equal(rename!.from, join(dir, `.position.json.${process.pid}.tmp`), 'a temporary file beside it');
    assert.equal(rename!.content, '{"n":2,"pad":"new"}\n', 'the new content was complete before the rename');
    assert.equal(rename!.target, '{"n":1,"pad":"old"}\n', 'and the position untouched until then');
    assert.deepEqual(await positions.load(), { n: 1, pad: 'old' });
    assert.deepEqual(await readdir(dir), ['position.json'], 'the temporary file is removed');

    // Once renames work again, the next save goes through.
    mock.restoreAll();
    syncBuiltinESMExports();
    await positions.save({ n: 3, pad: 'new' });
    assert.deepEqual(await positions.load(), { n: 3, pad: 'new' });
  });

  it('a save into a folder that is gone rejects, and the next save after it still runs', async (t) => {
    const dir = await folder(t);
    const positions = new PositionFile(join(dir, 'gone', 'position.json'), parseCounter);
    await assert.rejects(positions.save({ n: 1, pad: '' }), /ENOENT/);
    await mkdir(join(dir, 'gone'));
    await positions.save({ n: 2, pad: '' });
    assert.deepEqual(await positions.load(), { n: 2, pad: '' });
  });

  it('a process killed while it saves leaves the last position it saved, or the one it was saving, whole', async (t) => {
    const dir = await folder(t);
    const path = join(dir, 'position.json');
    const saver = fileURLToPath(new URL('./position-file-saver.ts', import.meta.url));
    // Large enough that a write takes several system calls and a kill can land in the middle of one.
    const PAD = 512 * 1024;
    const ROUNDS = 12;
    let leftTemporaries = 0;
    let previous = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', saver, path, String(PAD)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => child.kill('SIGKILL'));
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      // Kill after a different number of saves each round, and at a different moment of the save
      // after it: a kill right when a save was reported lands before the next one opened its file.
      const after = 1 + ((round * 7) % 11);
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.split('\n').length - 1 >= after) {
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        child.once('exit', (code) => reject(new Error(`the saver exited (${code}) before ${after} saves`)));
      });
      await sleep((round % 6) * 3);
      child.kill('SIGKILL');
      await once(child, 'close');
      const reported = out
        .split('\n')
        .filter((l) => l !== '')
        .map(Number);
      const lastSaved = reported.at(-1)!;

      const temporaries = (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
      leftTemporaries += temporaries.length;
      const loaded = await new PositionFile(path, parseCounter).load();
      assert.ok(loaded, `round ${round}: a position`);
      assert.equal(loaded.pad.length, PAD, `round ${round}: the whole position`);
      assert.ok(
        loaded.n === lastSaved || loaded.n === lastSaved + 1,
        `round ${round}: ${loaded.n} is the last save reported (${lastSaved}) or the one after it`,
      );
      assert.ok(loaded.n >= previous, 'a later run never finds an older position');
      previous = loaded.n;
      for (const name of temporaries) await rm(join(dir, name));
    }
    console.log(
      `${ROUNDS} kills while saving: ${leftTemporaries} left a temporary file behind, none a torn position`,
    );
  });
});
