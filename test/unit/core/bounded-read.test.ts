import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ReadRefusedError, readRegularFile } from '../../../src/core/bounded-read.js';
import { loadStreamConfigs } from '../../../src/core/stream-config.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bounded-read-'));
  dirs.push(dir);
  return dir;
}

const refused = (message: string) => (e: unknown) => {
  assert.ok(e instanceof ReadRefusedError, String(e));
  assert.equal(e.message, message);
  return true;
};

describe('readRegularFile', () => {
  it('reads a regular file up to the bound, as UTF-8', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yaml'), 'é'.repeat(5));
    assert.equal(await readRegularFile(join(dir, 'a.yaml'), { maxBytes: 10 }), 'é'.repeat(5));
    await assert.rejects(
      readRegularFile(join(dir, 'a.yaml'), { maxBytes: 9 }),
      refused(`${join(dir, 'a.yaml')} is larger than 9 bytes`),
    );
  });

  it('refuses devices, FIFOs and directories before reading', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    await promisify(execFile)('mkfifo', [join(dir, 'fifo')]);
    for (const path of ['/dev/zero', '/dev/null', join(dir, 'fifo'), dir]) {
      await assert.rejects(
        readRegularFile(path, { maxBytes: 1024 }),
        refused(`${path} is not a regular file`),
      );
    }
  });

  it('with `within`, follows symlinks inside it and refuses those leading out', async () => {
    const dir = await tempDir();
    const outside = await tempDir();
    await writeFile(join(dir, 'real.yaml'), 'inside');
    await writeFile(join(outside, 'secret.yaml'), 'outside');
    await symlink('real.yaml', join(dir, 'link.yaml'));
    await symlink(join(outside, 'secret.yaml'), join(dir, 'out.yaml'));
    await symlink('/dev/stdin', join(dir, 'stdin.yaml'));
    assert.equal(await readRegularFile(join(dir, 'link.yaml'), { maxBytes: 100, within: dir }), 'inside');
    await assert.rejects(
      readRegularFile(join(dir, 'out.yaml'), { maxBytes: 100, within: dir }),
      refused(`${join(dir, 'out.yaml')} resolves to ${join(outside, 'secret.yaml')}, outside ${dir}`),
    );
    await assert.rejects(
      readRegularFile(join(dir, 'stdin.yaml'), { maxBytes: 100, within: dir }),
      (e: unknown) => {
        // /dev/stdin resolves to wherever this process's fd 0 points, or to nothing (ENOENT) for a pipe.
        assert.ok(e instanceof ReadRefusedError || (e as NodeJS.ErrnoException).code === 'ENOENT', String(e));
        return true;
      },
    );
  });
});

describe('loadStreamConfigs from a file', () => {
  it(
    'reads a regular file within the bound, refuses a larger one and a FIFO',
    { timeout: 20_000 },
    async () => {
      const dir = await tempDir();
      const doc = 'streams:\n  a:\n    schema_title: test/event\n';
      await writeFile(join(dir, 'streams.yaml'), doc);
      await promisify(execFile)('mkfifo', [join(dir, 'fifo.yaml')]);
      const uri = (name: string) => pathToFileURL(join(dir, name)).href;
      assert.equal((await loadStreamConfigs(uri('streams.yaml'), ['a'])).get('a').schema_title, 'test/event');
      await assert.rejects(
        loadStreamConfigs(uri('streams.yaml'), ['a'], undefined, doc.length - 1),
        ReadRefusedError,
      );
      await assert.rejects(
        loadStreamConfigs(uri('fifo.yaml'), ['a']),
        refused(`${join(dir, 'fifo.yaml')} is not a regular file`),
      );
    },
  );
});
