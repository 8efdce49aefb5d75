/**
 * What the test expects of a generated run, derived from the input bytes alone (not from the
 * service's code), and the checks of a finished run against it. Every violation is collected, so a
 * failing run says everything that went wrong with it, not only the first thing.
 */
import { isUtf8 } from 'node:buffer';
import { ERROR_TYPES } from '../../src/core/errors.js';
import type { RecordedRequest } from '../helpers/misbehaving-api.js';
import { sharedValidators } from '../helpers/job-harness.js';
import { BOM, isBlank, revIdOf, type Materialised } from './hostile-events.js';
import { isCanonicalAllowedHost, judgeDomain } from './hostile-names.js';
import { nestingDepth } from './hostile-values.js';

type Json = Record<string, unknown>;

export interface Limits {
  /** `runtime.max_record_bytes`; Infinity where the service has no such limit. */
  maxRecordBytes: number;
  /** `runtime.max_json_depth`; Infinity where the service has no such limit. */
  maxJsonDepth: number;
  /** Most bytes of `raw_event` an error event may carry for an input over the record limit. */
  maxRawEventBytes: number;
}

export interface LineExpectation {
  index: number;
  /** The record the source reads (no final CR; no BOM at the start of the file). */
  record: Buffer;
  /** The same with the file's BOM kept, for the first line. */
  withBom: Buffer | undefined;
  /** Why this input must end in an error event, and the error types that may say so. */
  mustFail: { reason: string; errorTypes: readonly string[] } | undefined;
  /** A canary event: dropped, no output, no error event. */
  canary: boolean;
  /** The revision id its output would carry, when the line still has the one it was generated with. */
  revId: number | undefined;
}

const BEFORE_PARSE = ['InvalidEventError'] as const;
const PINNED_SCHEMA = '/mediawiki/page/change/1.2.0';

/** The expectation of every line that is not blank, in file order. */
export async function expectationsOf(m: Materialised, limits: Limits): Promise<LineExpectation[]> {
  const { pageChange } = await sharedValidators();
  const out: LineExpectation[] = [];
  m.lines.forEach((line, index) => {
    let withBom: Buffer | undefined;
    let bytes = line;
    if (index === 0 && line.subarray(0, 3).equals(BOM)) {
      withBom = stripCr(line);
      bytes = line.subarray(3);
    }
    if (isBlank(bytes)) return;
    const record = stripCr(bytes);
    const expectation: LineExpectation = {
      index,
      record,
      withBom,
      mustFail: undefined,
      canary: false,
      revId: undefined,
    };
    out.push(expectation);
    const fail = (reason: string, errorTypes: readonly string[] = ERROR_TYPES) =>
      (expectation.mustFail ??= { reason, errorTypes });
    if (record.length > limits.maxRecordBytes) return fail('over runtime.max_record_bytes', BEFORE_PARSE);
    if (!isUtf8(record)) return fail('not UTF-8', BEFORE_PARSE);
    if (nestingDepth(record) > limits.maxJsonDepth)
      return fail('nested deeper than runtime.max_json_depth', BEFORE_PARSE);
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.toString('utf8'));
    } catch {
      return fail('not JSON', BEFORE_PARSE);
    }
    if (!isObject(parsed)) return fail('not a JSON object', BEFORE_PARSE);
    const meta = isObject(parsed.meta) ? parsed.meta : {};
    if (meta.domain === 'canary') {
      expectation.canary = true;
      return;
    }
    const revision = isObject(parsed.revision) ? parsed.revision : {};
    if (revision.rev_id === revIdOf(index)) expectation.revId = revIdOf(index);
    if (typeof meta.domain !== 'string') fail('meta.domain is not a string');
    else if (judgeDomain(meta.domain).verdict === 'refused')
      fail(`meta.domain ${JSON.stringify(meta.domain)} is refused`);
    if (typeof parsed.$schema !== 'string') fail('$schema is not a string');
    else if (m.refusedSchema[index] && parsed.$schema !== PINNED_SCHEMA)
      fail(`$schema ${JSON.stringify(parsed.$schema.slice(0, 80))} is refused`);
    // Only a shallow value is validated here: the test's own validator must not overflow the stack.
    if (parsed.$schema === PINNED_SCHEMA && nestingDepth(record) <= 200 && !pageChange(parsed).valid) {
      fail('invalid against its own $schema');
    }
  });
  return out;
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a finished run produced, whichever way it was run. */
export interface RunResult {
  exitCode: number | null;
  /** Extra words on how the process ended (signal, failure), for the report. */
  ending?: string;
  /** The summary's counts; undefined when the process printed no summary. */
  counts:
    | {
        records: number;
        enriched: number;
        passed: number;
        dropped: number;
        failed: number;
        unfinished: number;
      }
    | undefined;
  outputLines: string[];
  errorLines: string[];
  requests: readonly RecordedRequest[];
}

export interface Verdict {
  violations: string[];
  outcomes: { outputs: number; errors: number; dropped: number };
}

/** Every property of one run; an empty `violations` list means the run held. */
export async function checkRun(
  expected: readonly LineExpectation[],
  result: RunResult,
  limits: Limits,
  options: { mustEnrich?: ReadonlyMap<number, Record<string, string>> } = {},
): Promise<Verdict> {
  const v: string[] = [];
  const { pageChange, error } = await sharedValidators();
  const { counts } = result;
  if (result.exitCode !== 0)
    v.push(`exit code ${result.exitCode}${result.ending ? ` (${result.ending})` : ''}`);
  const outputs = parseAll(result.outputLines, 'output', v);
  const errors = parseAll(result.errorLines, 'error event', v);
  const nonBlank = expected.length;
  const canaries = expected.filter((e) => e.canary).length;
  if (counts === undefined) v.push('no summary');
  else {
    if (counts.unfinished !== 0) v.push(`${counts.unfinished} records unfinished`);
    if (counts.records !== nonBlank)
      v.push(`summary records=${counts.records}, but the input has ${nonBlank} non-blank lines`);
    if (outputs.length + errors.length + counts.dropped !== nonBlank) {
      v.push(
        `outputs (${outputs.length}) + error events (${errors.length}) + dropped (${counts.dropped}) != ${nonBlank} non-blank lines`,
      );
    }
    if (counts.enriched + counts.passed !== outputs.length)
      v.push(`summary enriched+passed=${counts.enriched + counts.passed}, ${outputs.length} outputs written`);
    if (counts.failed !== errors.length)
      v.push(`summary failed=${counts.failed}, ${errors.length} error events written`);
    if (counts.dropped !== canaries)
      v.push(`summary dropped=${counts.dropped}, ${canaries} canary events in the input`);
  }

  for (const o of outputs) {
    const r = pageChange(o);
    if (!r.valid) v.push(`output invalid against page/change 1.2.0: ${r.message}: ${preview(o)}`);
  }
  for (const e of errors) {
    const r = error(e);
    if (!r.valid) v.push(`error event invalid against error/2.1.0: ${r.message}: ${preview(e)}`);
    if (!(ERROR_TYPES as readonly unknown[]).includes(e.error_type))
      v.push(`error event of undocumented error_type ${String(e.error_type)}: ${preview(e)}`);
  }

  // Each output and error event is the outcome of one line, and no line has two.
  const outcomeOf = new Map<number, { kind: 'output' | 'error'; event: Json }>();
  const byRevId = new Map(expected.filter((e) => e.revId !== undefined).map((e) => [e.revId!, e]));
  let unidentified = 0;
  for (const o of outputs) {
    const revId = isObject(o.revision) ? o.revision.rev_id : undefined;
    const line = typeof revId === 'number' ? byRevId.get(revId) : undefined;
    if (!line) {
      unidentified += 1;
      continue;
    }
    if (outcomeOf.has(line.index)) v.push(`line ${line.index + 1} has two outputs (rev_id ${String(revId)})`);
    outcomeOf.set(line.index, { kind: 'output', event: o });
  }
  const freeLines = expected.filter((e) => e.revId === undefined && !e.canary && !e.mustFail).length;
  if (unidentified > freeLines)
    v.push(`${unidentified} outputs are of no input line (only ${freeLines} lines had their rev_id changed)`);
  for (const e of errors) {
    const raw = typeof e.raw_event === 'string' ? e.raw_event : undefined;
    if (raw === undefined) continue;
    if (Buffer.byteLength(raw) > limits.maxRawEventBytes)
      v.push(`error event raw_event is ${Buffer.byteLength(raw)} bytes, over ${limits.maxRawEventBytes}`);
    const line = expected.find((x) => !outcomeOf.has(x.index) && rawEventIsOf(raw, x, limits));
    if (!line) {
      v.push(`error event whose raw_event is no input line still without outcome: ${preview(e)}`);
      continue;
    }
    outcomeOf.set(line.index, { kind: 'error', event: e });
  }

  for (const x of expected) {
    const outcome = outcomeOf.get(x.index);
    const what = `line ${x.index + 1} (${preview(x.record.toString('utf8'))})`;
    if (x.canary && outcome) v.push(`${what} is a canary event but has an ${outcome.kind}`);
    if (x.mustFail) {
      if (outcome?.kind === 'output') v.push(`${what} must fail (${x.mustFail.reason}) but has an output`);
      else if (
        outcome?.kind === 'error' &&
        !x.mustFail.errorTypes.includes(String(outcome.event.error_type))
      ) {
        v.push(
          `${what} must fail with ${x.mustFail.errorTypes.join('|')} (${x.mustFail.reason}), got ${String(outcome.event.error_type)}: ${String(outcome.event.message).slice(0, 200)}`,
        );
      } else if (!outcome) v.push(`${what} must fail (${x.mustFail.reason}) but has no error event`);
    }
    const want = x.revId !== undefined ? options.mustEnrich?.get(x.revId) : undefined;
    if (want) checkEnriched(what, outcome, want, v);
  }

  checkRequests(result.requests, expected, v);
  return {
    violations: v,
    outcomes: { outputs: outputs.length, errors: errors.length, dropped: counts?.dropped ?? 0 },
  };
}

/** `raw_event` is the line as read: the same text, or, for a line over the record limit, its head. */
function rawEventIsOf(raw: string, line: LineExpectation, limits: Limits): boolean {
  for (const record of line.withBom ? [line.record, line.withBom] : [line.record]) {
    const text = record.toString('utf8');
    if (raw === text) return true;
    if (record.length > limits.maxRecordBytes && raw.length > 0) {
      // A cut may end inside a character that the decoder then replaced.
      if (text.startsWith(raw) || text.startsWith(raw.replace(/\ufffd+$/, ''))) return true;
    }
  }
  return false;
}

function checkEnriched(
  what: string,
  outcome: { kind: 'output' | 'error'; event: Json } | undefined,
  slots: Record<string, string>,
  v: string[],
): void {
  if (outcome?.kind !== 'output') {
    v.push(
      `${what} must be enriched, got ${outcome ? `${String(outcome.event.error_type)}: ${String(outcome.event.message).slice(0, 200)}` : 'nothing'}`,
    );
    return;
  }
  const revision = outcome.event.revision as Json;
  const contentSlots = (revision.content_slots ?? {}) as Record<string, Json>;
  for (const [role, content] of Object.entries(slots)) {
    if (contentSlots[role]?.content_body !== content)
      v.push(
        `${what}: slot ${role} has content_body ${preview(contentSlots[role]?.content_body)}, not the revision's text`,
      );
  }
}

/**
 * Every request is a revisions query (a continued one included) for ids the inputs named, to an
 * allowed wiki under its canonical name; no input that must fail before any request caused one.
 */
function checkRequests(
  requests: readonly RecordedRequest[],
  expected: readonly LineExpectation[],
  v: string[],
): void {
  const named = new Set<number>();
  const noRequest = new Set<number>();
  for (const x of expected) {
    if (x.revId === undefined) {
      // A mutated rev_id: whatever integer it now holds may legitimately be asked for.
      for (const n of x.record.toString('utf8').match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) ?? [])
        named.add(Number(n));
    } else if (x.mustFail) noRequest.add(x.revId);
    else named.add(x.revId);
  }
  for (const r of requests) {
    const q = r.query;
    const where = `request ${r.method} ${r.path}?${q.toString().slice(0, 200)} (Host ${String(r.headers.host)})`;
    if (r.method !== 'GET' && r.method !== 'POST') v.push(`${where}: method ${r.method}`);
    if (r.path !== '/w/api.php') v.push(`${where}: not the configured endpoint`);
    if (
      q.get('action') !== 'query' ||
      q.get('prop') !== 'revisions' ||
      q.get('format') !== 'json' ||
      q.get('formatversion') !== '2'
    ) {
      v.push(`${where}: not a revisions query in formatversion=2`);
    }
    if (q.getAll('action').length > 1 || q.getAll('revids').length > 1)
      v.push(`${where}: repeated parameters`);
    if (!isCanonicalAllowedHost(String(r.headers.host ?? '')))
      v.push(`${where}: Host is not the canonical name of an allowed wiki`);
    for (const id of r.revIds) {
      if (noRequest.has(id))
        v.push(`${where}: asks for revision ${id} of an input that must fail before any request`);
      else if (!named.has(id)) v.push(`${where}: asks for revision ${id}, which no input names`);
    }
  }
}

function parseAll(lines: readonly string[], what: string, v: string[]): Json[] {
  const out: Json[] = [];
  for (const line of lines) {
    try {
      const value: unknown = JSON.parse(line);
      if (isObject(value)) out.push(value);
      else v.push(`${what} is not a JSON object: ${preview(line)}`);
    } catch {
      v.push(`${what} line is not JSON: ${preview(line)}`);
    }
  }
  return out;
}

export function preview(value: unknown, max = 300): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}
