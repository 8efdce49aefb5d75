import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
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
 * A source's `position_file` is replaced at every commit through a temporary file beside it: its
 * folder must exist (it is not created: a mistyped folder would otherwise quietly start a new
 * position) and be writable, and the path must be a regular file or not exist yet. It must also
 * differ from the input and the sinks' files (`checkDistinctPaths`).
 */
export async function checkPositionPath(key: string, path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info !== undefined && !info.isFile()) {
    throw new ConfigError(key, `${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  }
  const folder = dirname(resolve(path));
  const parent = await stat(folder).catch(() => undefined);
  if (parent === undefined) throw new ConfigError(key, `the folder ${folder} does not exist`);
  if (!parent.isDirectory()) throw new ConfigError(key, `${folder} is not a directory`);
  try {
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new ConfigError(
      key,
      `cannot write in ${folder}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

/**
 * A file sink of a run that resumes from a saved position: the outputs of the lines before the
 * position must still be there after a restart, so the sink appends instead of replacing its file,
 * and writes uncompressed (a compressor holds outputs already acknowledged, which a killed process
 * never writes, while the position has moved past them).
 */
export function checkResumableSink(
  positionKey: string,
  sink: { appendKey: string; pathKey: string; path: string; append: boolean },
): void {
  if (sink.path.endsWith('.gz')) {
    throw new ConfigError(
      sink.pathKey,
      `${sink.path} is compressed, which cannot go with ${positionKey}: outputs held by the compressor are lost when the process dies, while the saved position has moved past them`,
    );
  }
  if (!sink.append) {
    throw new ConfigError(
      sink.appendKey,
      `must be true with ${positionKey}: a restart would replace the outputs of the lines before the saved position`,
    );
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
