import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { PositionFile } from '../position-file.js';

/** Bytes at the start of the input hashed to recognise it. */
const HEAD_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** What identifies the input a position belongs to: its size and the hash of its first bytes. */
export interface InputIdentity {
  /** Absolute path when the position was saved; for people reading it (a moved file still matches). */
  readonly path: string;
  /** Size in bytes on disk (compressed, for `.gz`). */
  readonly size: number;
  /** How many bytes `head_sha256` covers: the first 64 KiB, or the whole file when it is smaller. */
  readonly head_bytes: number;
  readonly head_sha256: string;
}

/**
 * The file source's saved position (the `position_file` document): the next line to read and the
 * byte offset at which it begins (in the decompressed bytes for `.gz`), every line before it being
 * done; `complete` once the input was read to its end and every line of it is done.
 */
export interface FilePosition {
  readonly version: 1;
  readonly input: InputIdentity;
  readonly line: number;
  readonly byte: number;
  readonly complete: boolean;
}

/** Where a file source starts: from the beginning, or from a saved position of this very input. */
export interface ResumePoint {
  readonly positions: PositionFile<FilePosition>;
  readonly identity: InputIdentity;
  /** The saved position, when there is one. */
  readonly saved: FilePosition | undefined;
}

/**
 * Loads the saved position of `inputPath` from `positionFile` and checks that it is this input's,
 * before anything is read or written: a position of another file (or of this one since changed)
 * would make the source skip lines that were never read, or read lines again. Every problem is a
 * `ConfigError` naming the `position_file` key.
 */
export async function resumePoint(
  inputPath: string,
  positionFile: { path: string; key: string },
): Promise<ResumePoint> {
  const { key } = positionFile;
  const info = await stat(inputPath).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(key, `cannot read the input ${inputPath}: ${err.code ?? String(err)}`);
  });
  if (!info.isFile()) {
    throw new ConfigError(key, `needs a regular file to resume in; the input ${inputPath} is not one`);
  }
  const identity = await identify(inputPath, info.size);
  const positions = new PositionFile(positionFile.path, parseFilePosition);
  let saved: FilePosition | undefined;
  try {
    saved = await positions.load();
  } catch (err) {
    throw new ConfigError(key, (err as Error).message, err);
  }
  if (saved === undefined) return { positions, identity, saved };
  const problem = mismatch(saved.input, identity);
  if (problem !== undefined) {
    throw new ConfigError(
      key,
      `${positionFile.path} is the position of another input: it was saved for ${saved.input.path} ` +
        `(${saved.input.size} bytes), and ${inputPath} ${problem}. Remove it to read ${inputPath} from the start.`,
    );
  }
  if (!isGzip(inputPath)) await checkLineStart(inputPath, saved, positionFile);
  return { positions, identity, saved };
}

export function isGzip(path: string): boolean {
  return path.endsWith('.gz');
}

async function identify(path: string, size: number): Promise<InputIdentity> {
  const headBytes = Math.min(HEAD_BYTES, size);
  return { path: resolve(path), size, head_bytes: headBytes, head_sha256: await hashHead(path, headBytes) };
}

async function hashHead(path: string, bytes: number): Promise<string> {
  const buffer = Buffer.alloc(bytes);
  const handle = await open(path, 'r');
  try {
    let at = 0;
    while (at < bytes) {
      const { bytesRead } = await handle.read(buffer, at, bytes - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return createHash('sha256').update(buffer.subarray(0, at)).digest('hex');
  } finally {
    await handle.close();
  }
}

/** How the input differs from the one a position was saved for, or undefined when it does not. */
function mismatch(saved: InputIdentity, now: InputIdentity): string | undefined {
  if (saved.size !== now.size) return `is ${now.size} bytes`;
  if (saved.head_bytes !== now.head_bytes || saved.head_sha256 !== now.head_sha256) {
    return 'begins with other bytes';
  }
  return undefined;
}

/** A saved byte offset of an uncompressed input must be the start of a line: just after a newline. */
async function checkLineStart(
  path: string,
  saved: FilePosition,
  positionFile: { path: string; key: string },
): Promise<void> {
  if (saved.byte === 0) return;
  const size = (await stat(path)).size;
  let before: number | undefined;
  if (saved.byte <= size) {
    const handle = await open(path, 'r');
    try {
      const one = Buffer.alloc(1);
      const { bytesRead } = await handle.read(one, 0, 1, saved.byte - 1);
      if (bytesRead === 1) before = one[0];
    } finally {
      await handle.close();
    }
  }
  if (before !== NEWLINE && !(saved.complete && saved.byte === size)) {
    throw new ConfigError(
      positionFile.key,
      `${positionFile.path} says line ${saved.line} begins at byte ${saved.byte}, which is not the start of a line of ${path}`,
    );
  }
}

/** Checks a document read back from a position file (it may be old, or edited by hand). */
export function parseFilePosition(value: unknown): FilePosition {
  const doc = object(value, 'the position');
  if (doc.version !== 1) throw new Error(`version ${JSON.stringify(doc.version)} is not 1`);
  const input = object(doc.input, 'input');
  const identity: InputIdentity = {
    path: text(input.path, 'input.path'),
    size: count(input.size, 'input.size'),
    head_bytes: count(input.head_bytes, 'input.head_bytes'),
    head_sha256: text(input.head_sha256, 'input.head_sha256'),
  };
  const position: FilePosition = {
    version: 1,
    input: identity,
    line: count(doc.line, 'line'),
    byte: count(doc.byte, 'byte'),
    complete: flag(doc.complete, 'complete'),
  };
  // Every line takes one byte at least (its newline).
  if (position.line > position.byte) {
    throw new Error(`line ${position.line} cannot begin at byte ${position.byte}`);
  }
  return position;
}

function object(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${name} is not an object`);
  return value as Record<string, unknown>;
}

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} is not a count (${JSON.stringify(value)})`);
  }
  return value;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new Error(`${name} is not a string`);
  return value;
}

function flag(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${name} is not true or false`);
  return value;
}
