import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';

/**
 * Checks of the configured file paths that must pass before anything is opened for writing: a
 * mistake found later would have truncated an output file (sinks open on first use) or mixed two
 * writers into one file.
 */

/** The source must be a readable file (a FIFO too, for process substitution), not a folder. */
export async function checkSourcePath(key: string, path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!info.isFile() && !info.isFIFO()) {
    throw new ConfigError(key, `${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  }
}

/** A sink path must be a file or not exist yet, and its folder must be a folder (or not exist yet). */
export async function checkSinkPath(key: string, path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info !== undefined && !info.isFile() && !info.isFIFO() && !info.isCharacterDevice()) {
    throw new ConfigError(key, `${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  }
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const parent = await stat(dir).catch(() => undefined);
    if (parent !== undefined) {
      if (!parent.isDirectory()) throw new ConfigError(key, `${dir} is not a directory`);
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

/**
 * The identity of the file a path names, through symlinks and `..`: the real path of the file, or
 * of its nearest existing folder joined with the rest, so that two spellings of one file compare
 * equal before the file exists.
 */
async function fileIdentity(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await realpath(absolute).catch(() => undefined);
  if (real !== undefined) return real;
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  return resolve(await fileIdentity(parent), basename(absolute));
}

/**
 * No two of the given paths may name the same file: a sink writing over its own source cuts the
 * input short, and two sinks in one file corrupt each other's lines. Character devices
 * (`/dev/null`, `/dev/stdout`) may be shared.
 */
export async function checkDistinctPaths(paths: ReadonlyArray<{ key: string; path: string }>): Promise<void> {
  const seen = new Map<string, string>();
  for (const { key, path } of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isCharacterDevice()) continue;
    const identity = await fileIdentity(path);
    const earlier = seen.get(identity);
    if (earlier !== undefined) throw new ConfigError(key, `${path} is the same file as ${earlier}`);
    seen.set(identity, key);
  }
}
