/**
 * Generated input files: valid `page_change` events (from the fixture) mutated structurally, lines
 * that are no events at all, and byte-level damage (not UTF-8, NUL, CR, BOM, truncation, lines
 * over `runtime.max_record_bytes`). A generated input is a plain description (`InputSpec`) that
 * fast-check can shrink; `materialise` turns it into the bytes of the file and the revisions the
 * test's API holds.
 */
import fc from 'fast-check';
import { pageChangeEvent } from '../helpers/events.js';
import type { StoredRevision } from '../helpers/misbehaving-api.js';
import { API_ORIGIN_TOKEN, GOOD_DOMAINS, hostileDomain, hostileSchema } from './hostile-names.js';
import {
  deepValue,
  hostile,
  hostileBytes,
  hostileValue,
  hugeString,
  manyKeys,
  pollutingValue,
  SPECIAL_KEYS,
  type Hostile,
  type HostileBytes,
} from './hostile-values.js';

type Json = Record<string, unknown>;

export const EVENT_KINDS = [
  'edit',
  'create',
  'move',
  'undelete',
  'visibility_change',
  'delete',
  'hidden',
  'canary',
  'multi-slot',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What the test's API holds for the line's revision. */
export type RevisionShape = 'stored' | 'hidden-slot' | 'absent' | 'deleted';

/** Objects (and one array) of the event where values are inserted. */
const CONTAINERS = [
  'root',
  'meta',
  'prior_state',
  'revision',
  'revision.content_slots',
  'revision.content_slots.main',
  'revision.editor',
  'page',
  'performer',
  'performer.groups',
] as const;
type Container = (typeof CONTAINERS)[number];

export type EventMutation =
  /** A new key (possibly `__proto__` and friends) with a hostile value, as JSON text. */
  | { op: 'insert'; at: Container; key: string; value: Hostile }
  /** The value at the n-th path of the event (any depth) replaced by a hostile value. */
  | { op: 'replace'; path: number; value: Hostile }
  | { op: 'remove'; path: number }
  | { op: 'domain'; value: string }
  | { op: 'schema'; value: string; refused: boolean }
  | { op: 'revId'; value: Hostile }
  /** A second occurrence of a key, before the real one (JSON.parse keeps the last). */
  | { op: 'duplicateKey'; key: string; value: Hostile }
  /** `comment` padded so that the line is `bytes` long (over or around `runtime.max_record_bytes`). */
  | { op: 'size'; bytes: number };

export type ByteMutation =
  | { op: 'crlf' }
  | { op: 'cr'; at: number }
  | { op: 'badUtf8'; at: number; bytes: number[] }
  | { op: 'nul'; at: number }
  | { op: 'truncate'; at: number }
  | { op: 'bom' };

export interface LineSpec {
  kind: EventKind;
  pageId: number;
  shape: RevisionShape;
  /** `meta.dt` is now: a missing revision is retried (replication lag) instead of failing at once. */
  recent: boolean;
  mutations: EventMutation[];
  bytes: ByteMutation | undefined;
  /** Instead of an event, this line (no `\n` in it). */
  replaced: HostileBytes | undefined;
}

export interface InputSpec {
  lines: LineSpec[];
  /** A UTF-8 BOM at the start of the file (only before a line that is not blank). */
  fileBom: boolean;
  /** The last line ends with `\n`. */
  finalNewline: boolean;
}

export interface SizeBounds {
  /** `runtime.max_record_bytes` of the run: line sizes are generated around and beyond it. */
  maxRecordBytes: number;
  /** Largest line generated. */
  maxLineBytes: number;
}

const REV_ID_VALUES = [
  '-1',
  '0',
  '-0',
  '1.5',
  '1e3',
  '1e400',
  '9007199254740991',
  '9007199254740993',
  '1152921504606846976',
  '"100001"',
  '"1e3"',
  '{}',
  '[]',
  '[100001]',
  'null',
  'true',
  '{"$numberLong":"1"}',
];

/** Bytes that are not UTF-8: stray continuation, overlong, surrogate, above U+10FFFF, truncated, invalid. */
const BAD_UTF8 = [
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0xff],
  [0xfe, 0xff],
];

/** Whole lines that are not events. */
const NOT_EVENTS = [
  '',
  ' ',
  '\t \t',
  '\r',
  ' \r',
  '\u00a0',
  '\u3000',
  '\ufeff',
  '\u2028',
  '\u0000',
  'null',
  '[]',
  '{}',
  '"x"',
  '1',
  '{"meta":{"domain":"canary"}}',
  '{"meta":{"domain":"en.wikipedia.org"}}',
  '{"$schema":"/mediawiki/page/change/1.2.0"',
  '}{',
  '\\',
];

function keyOf(at: Container): fc.Arbitrary<string> {
  return fc
    .constantFrom('x', 'extra', ...SPECIAL_KEYS)
    .map((k) => (at === 'root' && k === 'x' ? 'comment_extra' : k));
}

const insertion: fc.Arbitrary<EventMutation> = fc.constantFrom(...CONTAINERS).chain((at) =>
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.constant(at),
    key: keyOf(at),
    value: fc.oneof(deepValue, hugeString, manyKeys, pollutingValue, hostileValue),
  }),
);

function eventMutation(bounds: SizeBounds): fc.Arbitrary<EventMutation> {
  return fc.oneof(
    { arbitrary: insertion, weight: 4 },
    {
      arbitrary: fc.record({ op: fc.constant('replace' as const), path: fc.nat(), value: hostileValue }),
      weight: 4,
    },
    { arbitrary: fc.record({ op: fc.constant('remove' as const), path: fc.nat() }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('domain' as const), value: hostileDomain }), weight: 3 },
    {
      arbitrary: hostileSchema.map(({ value, refused }) => ({ op: 'schema' as const, value, refused })),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('revId' as const),
        value: fc.constantFrom(...REV_ID_VALUES).map((t) => hostile(t, t)),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('duplicateKey' as const),
        key: fc.constantFrom('meta', '$schema', 'page_change_kind', 'revision', 'wiki_id', '__proto__'),
        value: hostileValue,
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        op: fc.constant('size' as const),
        bytes: fc.oneof(
          fc.integer({ min: bounds.maxRecordBytes - 2, max: bounds.maxRecordBytes + 2 }),
          fc.integer({ min: bounds.maxRecordBytes, max: bounds.maxLineBytes }),
        ),
      }),
      weight: 1,
    },
  );
}

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.constant({ op: 'crlf' as const }),
  fc.record({ op: fc.constant('cr' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('badUtf8' as const), at: fc.nat(), bytes: fc.constantFrom(...BAD_UTF8) }),
  fc.record({ op: fc.constant('nul' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ op: 'bom' as const }),
);

function notEvent(bounds: SizeBounds): fc.Arbitrary<HostileBytes> {
  return fc.oneof(
    fc.constantFrom(...NOT_EVENTS).map((s) => hostileBytes(Buffer.from(s), JSON.stringify(s))),
    fc.uint8Array({ maxLength: 200 }).map((b) => hostileBytes(b.map((x) => (x === 0x0a ? 0x20 : x)))),
    deepValue.map((d) => hostileBytes(Buffer.from(d.text), d.label)),
    fc
      .integer({ min: 1, max: bounds.maxLineBytes })
      .map((n) => hostileBytes(Buffer.alloc(n, '['), `"[" x ${n}`)),
    manyKeys.map((k) => hostileBytes(Buffer.from(k.text), k.label)),
  );
}

export function lineSpec(bounds: SizeBounds): fc.Arbitrary<LineSpec> {
  return fc.record({
    kind: fc.oneof(
      { arbitrary: fc.constant('edit' as const), weight: 6 },
      { arbitrary: fc.constantFrom(...EVENT_KINDS), weight: 4 },
    ),
    pageId: fc.integer({ min: 1, max: 4 }),
    shape: fc.oneof(
      { arbitrary: fc.constant('stored' as const), weight: 5 },
      {
        arbitrary: fc.constantFrom('hidden-slot' as const, 'absent' as const, 'deleted' as const),
        weight: 2,
      },
    ),
    recent: fc.boolean(),
    mutations: fc.oneof(
      { arbitrary: fc.constant<EventMutation[]>([]), weight: 2 },
      { arbitrary: fc.array(eventMutation(bounds), { minLength: 1, maxLength: 3 }), weight: 3 },
    ),
    bytes: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: byteMutation, weight: 1 }),
    replaced: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 6 },
      { arbitrary: notEvent(bounds), weight: 1 },
    ),
  });
}

export function inputSpec(bounds: SizeBounds, maxLines: number): fc.Arbitrary<InputSpec> {
  return fc.record({
    lines: fc.array(lineSpec(bounds), { minLength: 1, maxLength: maxLines }),
    fileBom: fc.boolean(),
    finalNewline: fc.boolean(),
  });
}

/** Revision ids of the generated lines: odd, far from any id a mutation writes (`1e3`, `-1`, …). */
export function revIdOf(index: number): number {
  return 100_001 + 2 * index;
}

export interface Materialised {
  /** The lines of the file, without their `\n`. */
  lines: Buffer[];
  /** The whole file. */
  file: Buffer;
  /** What the test's API holds. */
  store: StoredRevision[];
  /** Per line, the `$schema` mutations the test expects to be refused. */
  refusedSchema: boolean[];
}

export function materialise(spec: InputSpec, apiOrigin: string): Materialised {
  const lines: Buffer[] = [];
  const store: StoredRevision[] = [];
  const refusedSchema: boolean[] = [];
  spec.lines.forEach((line, index) => {
    const revId = revIdOf(index);
    const stored = storedRevision(line, revId);
    if (stored) store.push(stored);
    const schemas = line.mutations.filter((m) => m.op === 'schema');
    refusedSchema.push(schemas.length > 0 && schemas[schemas.length - 1]!.refused);
    let bytes = line.replaced ? Buffer.from(line.replaced.bytes) : eventLine(line, revId, apiOrigin);
    if (line.bytes) bytes = damage(bytes, line.bytes);
    lines.push(bytes);
  });
  if (spec.fileBom && lines[0] && !isBlank(lines[0])) lines[0] = Buffer.concat([BOM, lines[0]]);
  const parts: Buffer[] = [];
  lines.forEach((l, i) => {
    parts.push(l);
    if (i < lines.length - 1 || spec.finalNewline) parts.push(NEWLINE);
  });
  return { lines, file: Buffer.concat(parts), store, refusedSchema };
}

export const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const NEWLINE = Buffer.from('\n');

/** A line the source skips: only spaces and tabs, after a final CR is removed. */
export function isBlank(line: Buffer): boolean {
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  for (let i = 0; i < end; i += 1) if (line[i] !== 0x20 && line[i] !== 0x09) return false;
  return true;
}

/** About 2.7 KB of wikitext-like lines: quotes, a slash, non-ASCII, newlines. */
const LONG_TEXT = '\nLorem "ipsum" dolor/sit — ämet.'.repeat(80);

/** Every third revision's content is long enough for the output to carry the answer's literal. */
export function contentOf(revId: number, role = 'main'): string {
  return `text of ${revId} (${role}) — ünïcödé ✓${revId % 3 === 0 ? LONG_TEXT : ''}`;
}

function storedRevision(line: LineSpec, revId: number): StoredRevision | undefined {
  if (line.shape === 'absent') return undefined;
  const slots: Record<string, { content?: string; hidden?: boolean; model?: string; format?: string }> = {
    main: line.shape === 'hidden-slot' ? { hidden: true } : { content: contentOf(revId) },
  };
  if (line.kind === 'multi-slot') {
    slots.mediainfo = {
      content: contentOf(revId, 'mediainfo'),
      model: 'wikibase-mediainfo',
      format: 'application/json',
    };
  }
  return {
    revId,
    pageId: line.pageId,
    title: `Page_${line.pageId}`,
    slots,
    deleted: line.shape === 'deleted',
  };
}

/** Values that must reach the text unescaped: raw JSON, and keys that an object literal cannot own. */
class RawText {
  private readonly raws = new Map<string, string>();

  value(raw: string): string {
    const token = `@@raw${this.raws.size}@@`;
    this.raws.set(JSON.stringify(token), raw);
    return token;
  }

  key(name: string): string {
    return this.value(JSON.stringify(name));
  }

  render(event: Json): string {
    let text = JSON.stringify(event);
    for (const [token, raw] of this.raws) text = text.replace(token, () => raw);
    return text;
  }
}

export function baseEvent(line: Pick<LineSpec, 'kind' | 'pageId' | 'recent'>, revId: number): Json {
  const event = pageChangeEvent({
    page: { page_id: line.pageId, page_title: `Page_${line.pageId}` },
    meta: {
      domain: GOOD_DOMAINS[line.pageId % GOOD_DOMAINS.length],
      ...(line.recent ? { dt: new Date().toISOString() } : {}),
    },
    revision: { rev_id: revId, rev_parent_id: revId - 2, content_slots: { main: { origin_rev_id: revId } } },
  });
  const revision = event.revision as Json;
  switch (line.kind) {
    case 'delete':
      event.page_change_kind = 'delete';
      event.changelog_kind = 'delete';
      break;
    case 'hidden':
      revision.is_content_visible = false;
      break;
    case 'canary':
      (event.meta as Json).domain = 'canary';
      break;
    case 'create':
      event.page_change_kind = 'create';
      event.changelog_kind = 'insert';
      break;
    case 'move':
      event.page_change_kind = 'move';
      event.prior_state = { page: { page_title: `Old_${line.pageId}` } };
      break;
    case 'multi-slot':
      (revision.content_slots as Json).mediainfo = {
        slot_role: 'mediainfo',
        content_model: 'wikibase-mediainfo',
        content_format: 'application/json',
        content_sha1: 'c3a1c1d1e7b9e4b2f0a0d7e1f2a3b4c5d6e7f8a9',
        content_size: 40,
        origin_rev_id: revId,
      };
      break;
    case 'undelete':
    case 'visibility_change':
      event.page_change_kind = line.kind;
      break;
    case 'edit':
      break;
  }
  return event;
}

function eventLine(line: LineSpec, revId: number, apiOrigin: string): Buffer {
  const event = baseEvent(line, revId);
  const raw = new RawText();
  const duplicates: string[] = [];
  let size: number | undefined;
  for (const m of line.mutations) {
    switch (m.op) {
      case 'insert': {
        const target = containerOf(event, m.at);
        if (Array.isArray(target)) target.push(raw.value(m.value.text));
        else target[raw.key(m.key)] = raw.value(m.value.text);
        break;
      }
      case 'replace':
      case 'remove': {
        const paths = pathsOf(event);
        const path = paths[m.path % paths.length]!;
        const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Json)[k], event) as Json | unknown[];
        const last = path[path.length - 1]!;
        if (m.op === 'remove' && Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (m.op === 'remove') delete (parent as Json)[last];
        else (parent as Json)[last] = raw.value(m.value.text);
        break;
      }
      case 'domain':
        objectAt(event, 'meta').domain = m.value;
        break;
      case 'schema':
        event.$schema = m.value.replace(API_ORIGIN_TOKEN, apiOrigin);
        break;
      case 'revId':
        objectAt(event, 'revision').rev_id = raw.value(m.value.text);
        break;
      case 'duplicateKey':
        duplicates.push(`${JSON.stringify(m.key)}:${m.value.text},`);
        break;
      case 'size':
        size = m.bytes;
        break;
    }
  }
  if (size !== undefined) event.comment = PAD;
  let text = raw.render(event);
  if (duplicates.length > 0 && text.startsWith('{')) text = `{${duplicates.join('')}${text.slice(1)}`;
  if (size !== undefined) text = padded(text, size);
  return Buffer.from(text);
}

const PAD = '@@pad@@';

function objectAt(event: Json, at: Exclude<Container, 'performer.groups'>): Json {
  return containerOf(event, at) as Json;
}

/** The object at a container path, made an object (or, for `performer.groups`, an array) if it is not. */
function containerOf(event: Json, at: Container): Json | unknown[] {
  if (at === 'root') return event;
  const keys = at.split('.');
  let node: Json = event;
  keys.forEach((key, i) => {
    const wantArray = at === 'performer.groups' && i === keys.length - 1;
    const next = node[key];
    const ok = wantArray
      ? Array.isArray(next)
      : typeof next === 'object' && next !== null && !Array.isArray(next);
    if (!ok) node[key] = wantArray ? [] : {};
    node = node[key] as Json;
  });
  return node;
}

/** Every path of the event (objects and arrays at any depth), in a stable order. */
function pathsOf(event: Json): string[][] {
  const out: string[][] = [];
  const walk = (value: unknown, path: string[]) => {
    if (path.length > 0) out.push(path);
    if (typeof value === 'object' && value !== null) {
      for (const key of Object.keys(value)) walk((value as Json)[key], [...path, key]);
    }
  };
  walk(event, []);
  return out;
}

/** The line with its `comment` (set to PAD) grown so that the line is `bytes` long, when it can be that short. */
function padded(text: string, bytes: number): string {
  const marker = JSON.stringify(PAD);
  const base = Buffer.byteLength(text) - marker.length + 2;
  return text.replace(marker, () => JSON.stringify('p'.repeat(Math.max(0, bytes - base))));
}

function damage(line: Buffer, m: ByteMutation): Buffer {
  const at = (n: number) => (line.length === 0 ? 0 : n % (line.length + 1));
  switch (m.op) {
    case 'crlf':
      return Buffer.concat([line, Buffer.from('\r')]);
    case 'cr':
      return insert(line, at(m.at), [0x0d]);
    case 'badUtf8':
      return insert(line, at(m.at), m.bytes);
    case 'nul':
      return insert(line, at(m.at), [0x00]);
    case 'truncate':
      return line.subarray(0, at(m.at));
    case 'bom':
      return Buffer.concat([BOM, line]);
  }
}

function insert(line: Buffer, at: number, bytes: number[]): Buffer {
  return Buffer.concat([line.subarray(0, at), Buffer.from(bytes), line.subarray(at)]);
}
