/**
 * The honest `formatversion=2` answer of the test API for the ids asked, and the ways a generated
 * answer departs from it: a hostile value at any path, `badrevids`, revision ids and slots of the
 * wrong shape, and content encodings.
 */
import { gzipSync } from 'node:zlib';
import {
  gzipBomb,
  type Behaviour,
  type IncomingApiRequest,
  type StoredRevision,
} from '../helpers/misbehaving-api.js';
import type { AnswerPlan, AnswerSpec } from './hostile-answers.js';
import { deepText } from './hostile-values.js';

type Json = Record<string, unknown>;

export const BAD_REVIDS_SHAPES = [
  'list',
  'object',
  'numbers',
  'string',
  'revid-string',
  'deep',
  'proto',
  'also-found',
  'null',
] as const;
export type BadRevIdsShape = (typeof BAD_REVIDS_SHAPES)[number];

export const REVID_MODES = [
  'shift',
  'string',
  'duplicate',
  'negative',
  'float',
  'drop',
  'extra',
  'huge',
  'none',
] as const;
export type RevIdMode = (typeof REVID_MODES)[number];

export const SLOT_MODES = [
  'none',
  'array',
  'null',
  'empty',
  'no-main',
  'texthidden-with-content',
  'texthidden-string',
  'content-number',
  'content-null',
  'textmissing',
  'slot-null',
  'proto-role',
  'constructor-role',
  'many-roles',
] as const;
export type SlotMode = (typeof SLOT_MODES)[number];

export const ENCODING_MODES = [
  'gzip',
  'gzip-bomb',
  'gzip-garbage',
  'gzip-truncated',
  'br',
  'deflate',
  'gzip, gzip',
  'GZIP',
] as const;
export type EncodingMode = (typeof ENCODING_MODES)[number];

/** MediaWiki's `formatversion=2` answer for the ids asked, from the run's store. */
export function honestAnswer(
  request: IncomingApiRequest,
  store: ReadonlyMap<number, StoredRevision>,
  deletedPageShape: AnswerPlan['deletedPageShape'],
  maxRevisions: number | undefined,
): Json {
  const ids = [...new Set(request.revIds)].filter(Number.isInteger).sort((a, b) => a - b);
  const found: StoredRevision[] = [];
  const bad: number[] = [];
  const missing: Json[] = [];
  for (const id of ids) {
    const r = store.get(id);
    if (r === undefined || (r.deleted && deletedPageShape === 'badrevids')) bad.push(id);
    else if (r.deleted) missing.push({ ns: 0, title: r.title, missing: true });
    else found.push(r);
  }
  const from = Number(request.query.get('rvcontinue') ?? '0');
  const remaining = found.filter((r) => r.revId >= from);
  const served = maxRevisions === undefined ? remaining : remaining.slice(0, maxRevisions);
  const pages = new Map<number, Json & { revisions: Json[] }>();
  for (const r of served) {
    const page = pages.get(r.pageId) ?? { pageid: r.pageId, ns: 0, title: r.title, revisions: [] };
    page.revisions.push(revisionJson(r));
    pages.set(r.pageId, page);
  }
  const query: Json = {};
  if (bad.length > 0)
    query.badrevids = Object.fromEntries(bad.map((revid) => [String(revid), { revid, missing: true }]));
  const pageList = [...missing, ...pages.values()];
  if (pageList.length > 0) query.pages = pageList;
  const next = remaining[served.length];
  return next === undefined
    ? { batchcomplete: true, query }
    : { continue: { rvcontinue: String(next.revId), continue: '||' }, query };
}

function revisionJson(r: StoredRevision): Json {
  const slots: Json = {};
  let hidden = false;
  for (const [role, slot] of Object.entries(r.slots)) {
    const model = slot.model ?? 'wikitext';
    if (slot.hidden) {
      hidden = true;
      slots[role] = { contentmodel: model, texthidden: true };
    } else
      slots[role] = {
        contentmodel: model,
        contentformat: slot.format ?? 'text/x-wiki',
        content: slot.content ?? '',
      };
  }
  return {
    revid: r.revId,
    parentid: r.revId - 2,
    timestamp: '2026-01-01T00:00:00Z',
    size: 10,
    ...(hidden ? { sha1hidden: true } : { sha1: '0'.repeat(40) }),
    slots,
  };
}

/** Every path of a JSON value (the root included), in a stable order. */
function pathsOf(value: unknown): string[][] {
  const out: string[][] = [];
  const walk = (v: unknown, path: string[]) => {
    out.push(path);
    if (typeof v === 'object' && v !== null)
      for (const key of Object.keys(v)) walk((v as Json)[key], [...path, key]);
  };
  walk(value, []);
  return out;
}

/** The answer's text with the value at the n-th path replaced, removed, or given a new key. */
export function mutateAt(
  answer: Json,
  spec: Extract<AnswerSpec, { op: 'replace' | 'remove' | 'insert' }>,
): string {
  const paths = pathsOf(answer);
  const path = paths[spec.path % paths.length]!;
  const TOKEN = '@@value@@';
  const KEY = '@@key@@';
  if (path.length === 0) {
    if (spec.op === 'replace') return spec.value.text;
    if (spec.op === 'remove') return '';
  }
  const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Json)[k], answer) as Json | unknown[];
  const last = path[path.length - 1]!;
  if (spec.op === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
    return JSON.stringify(answer);
  }
  if (spec.op === 'replace') {
    (parent as Json)[last] = TOKEN;
    return JSON.stringify(answer).replace(`"${TOKEN}"`, () => spec.value.text);
  }
  const target = path.length === 0 ? answer : (parent as Json)[last];
  if (Array.isArray(target)) target.push(TOKEN);
  else if (typeof target === 'object' && target !== null) (target as Json)[KEY] = TOKEN;
  else (parent as Json)[last] = { [KEY]: TOKEN };
  return JSON.stringify(answer)
    .replace(`"${KEY}"`, () => JSON.stringify(spec.key))
    .replace(`"${TOKEN}"`, () => spec.value.text);
}

export function withBadRevIds(answer: Json, asked: readonly number[], shape: BadRevIdsShape): string {
  const query = (answer.query ?? {}) as Json;
  answer.query = query;
  const ids = asked.length > 0 ? asked : [1];
  const entries = ids.map((revid) => ({ revid, missing: true }));
  let text: string | undefined;
  switch (shape) {
    case 'list':
      query.badrevids = entries;
      break;
    case 'object':
      query.badrevids = Object.fromEntries(entries.map((e) => [String(e.revid), e]));
      break;
    case 'numbers':
      query.badrevids = ids;
      break;
    case 'string':
      query.badrevids = ids.join('|');
      break;
    case 'revid-string':
      query.badrevids = entries.map((e) => ({ ...e, revid: String(e.revid) }));
      break;
    case 'deep':
      text = deepText(10_000, 'array');
      break;
    case 'proto':
      text = `{"__proto__":${JSON.stringify(entries[0])},"constructor":${JSON.stringify(entries[0])}}`;
      break;
    case 'also-found':
      // The ids are both found (in pages) and bad: contradictory.
      query.badrevids = entries;
      break;
    case 'null':
      query.badrevids = null;
      break;
  }
  if (text === undefined) return JSON.stringify(answer);
  query.badrevids = '@@bad@@';
  return JSON.stringify(answer).replace('"@@bad@@"', () => text);
}

function revisionsOf(answer: Json): Json[] {
  const pages = (answer.query as Json | undefined)?.pages;
  if (!Array.isArray(pages)) return [];
  return pages.flatMap((p: Json) => (Array.isArray(p.revisions) ? (p.revisions as Json[]) : []));
}

export function firstSlot(answer: Json): Json | undefined {
  for (const r of revisionsOf(answer)) {
    const slots = r.slots as Json | undefined;
    const first = slots && Object.values(slots)[0];
    if (first && typeof first === 'object') return first as Json;
  }
  return undefined;
}

export function withRevIds(answer: Json, mode: RevIdMode): Json {
  const pages = (answer.query as Json | undefined)?.pages as Array<Json & { revisions?: Json[] }> | undefined;
  for (const page of pages ?? []) {
    const revisions = page.revisions;
    if (!revisions) continue;
    for (const r of [...revisions]) {
      const id = r.revid as number;
      if (mode === 'shift') r.revid = id + 2;
      else if (mode === 'string') r.revid = String(id);
      else if (mode === 'negative') r.revid = -id;
      else if (mode === 'float') r.revid = id + 0.5;
      else if (mode === 'huge') r.revid = 2 ** 60;
      else if (mode === 'none') delete r.revid;
      else if (mode === 'duplicate')
        revisions.push({ ...r, slots: { main: { contentmodel: 'wikitext', content: 'a different text' } } });
      else if (mode === 'extra') revisions.push({ ...r, revid: 999_999_999 });
    }
    if (mode === 'drop') page.revisions = [];
  }
  return answer;
}

export function withSlots(answer: Json, mode: SlotMode): string {
  const revisions = revisionsOf(answer);
  let special: string | undefined;
  for (const r of revisions) {
    const slots = r.slots as Record<string, Json>;
    const main = slots.main;
    switch (mode) {
      case 'none':
        delete r.slots;
        break;
      case 'array':
        r.slots = Object.values(slots);
        break;
      case 'null':
        r.slots = null;
        break;
      case 'empty':
        r.slots = {};
        break;
      case 'no-main':
        r.slots = { other: main };
        break;
      case 'texthidden-with-content':
        if (main) main.texthidden = true;
        break;
      case 'texthidden-string':
        if (main) {
          main.texthidden = 'true';
          delete main.content;
        }
        break;
      case 'content-number':
        if (main) main.content = 42;
        break;
      case 'content-null':
        if (main) main.content = null;
        break;
      case 'textmissing':
        if (main) {
          main.textmissing = true;
          delete main.content;
        }
        break;
      case 'slot-null':
        slots.main = null as unknown as Json;
        break;
      case 'proto-role':
      case 'constructor-role':
        r.slots = '@@slots@@';
        special = `{${JSON.stringify(mode === 'proto-role' ? '__proto__' : 'constructor')}:${JSON.stringify(main ?? {})},"main":${JSON.stringify(main ?? {})}}`;
        break;
      case 'many-roles':
        for (let i = 0; i < 5_000; i += 1) slots[`role${i}`] = { contentmodel: 'wikitext', content: 'x' };
        break;
    }
  }
  const text = JSON.stringify(answer);
  return special === undefined ? text : text.replaceAll('"@@slots@@"', () => special!);
}

let bomb: Promise<Buffer> | undefined;
let bombBytes: Buffer | undefined;

/** Builds (once) the gzip body that inflates to 256 MiB, which `answering` then serves. */
export async function prepareAnswers(): Promise<void> {
  bomb ??= gzipBomb(256 * 1024 * 1024);
  bombBytes = await bomb;
}

export function encoded(
  text: string,
  mode: EncodingMode,
  raw: (body: string | Buffer, headers?: Record<string, string>) => Behaviour,
): Behaviour {
  const gz = gzipSync(text);
  switch (mode) {
    case 'gzip':
      return raw(gz, { 'content-encoding': 'gzip' });
    case 'gzip-bomb':
      return raw(bombBytes!, { 'content-encoding': 'gzip' });
    case 'gzip-garbage':
      return raw(Buffer.from(text), { 'content-encoding': 'gzip' });
    case 'gzip-truncated':
      return raw(gz.subarray(0, Math.floor(gz.length / 2)), { 'content-encoding': 'gzip' });
    case 'br':
    case 'deflate':
      return raw(gz, { 'content-encoding': mode });
    case 'gzip, gzip':
      return raw(gzipSync(gz), { 'content-encoding': mode });
    case 'GZIP':
      return raw(gz, { 'content-encoding': 'GZIP' });
  }
}
