import { isUtf8 } from 'node:buffer';
import { isEnrichmentError, type EnrichmentError } from '../core/errors.js';
import { setOwn } from '../core/own-key.js';
import { locateContentLiterals, type ContentLiterals } from './content-literals.js';
import type { RevisionContent, SlotContent } from './types.js';
import { apiError, missingRevisionError, responseFormatError } from './errors.js';

/**
 * Request and response of `action=query&prop=revisions` (MediaWiki 1.39, formatversion=2). Pure: no I/O.
 *
 * `rvprop=contentformat` is not a valid value (every response would carry a warning); the format comes
 * back per slot whenever `content` is asked for.
 */
export const RVPROP = 'ids|timestamp|content|contentmodel|sha1|size';

export interface RevisionsQueryOptions {
  /** `maxlag` seconds: the API refuses with `error.code == maxlag` while replicas lag more. */
  readonly maxlag?: number;
  /** Every key of the previous response's `continue` object, sent back as is. */
  readonly continueParams?: Readonly<Record<string, string>>;
}

export function buildRevisionsQuery(
  revIds: readonly number[],
  options: RevisionsQueryOptions = {},
): URLSearchParams {
  const params = new URLSearchParams({
    action: 'query',
    format: 'json',
    formatversion: '2',
    prop: 'revisions',
    revids: revIds.join('|'),
    rvprop: RVPROP,
    rvslots: '*',
  });
  if (options.maxlag !== undefined) params.set('maxlag', String(options.maxlag));
  // `continue` comes from the answer: it may add its own parameters (`rvcontinue`, `continue`) but
  // never change the request's (an answer saying `action=edit` or other `revids` is ignored there).
  for (const [key, value] of Object.entries(options.continueParams ?? {})) {
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

/** What one response says about the revisions it mentions. */
export interface RevisionsResponsePart {
  /** Revisions found, or the reason one entry could not be read (that revision alone fails). */
  readonly revisions: ReadonlyMap<number, RevisionContent | EnrichmentError>;
  /** Ids listed in `badrevids`. */
  readonly badRevIds: ReadonlySet<number>;
  /** A page with `missing: true` was listed (how a deleted page's revision looks to `deletedhistory`). */
  readonly hasMissingPage: boolean;
  /** The `continue` object: the answer is incomplete, repeat the request with these parameters. */
  readonly continueParams: Readonly<Record<string, string>> | undefined;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/*
 * The response contract (formatversion=2, every answer HTTP 200):
 *
 *   {"error": {"code": "maxlag"|"readonly"|…, "info": "…"}}         (maxlag also sends Retry-After)
 *   {"batchcomplete": true, "continue": {"rvcontinue": 19, "continue": "||"},   (only when truncated)
 *    "query": {
 *      "badrevids": {"999999": {"revid": 999999, "missing": true}}   (an ARRAY when the keys are 0..n-1)
 *      "pages": [
 *        {"ns": 0, "title": "Deleted", "missing": true}               (deleted page, seen with deletedhistory)
 *        {"pageid": 2, "title": "A", "revisions": [
 *          {"revid": 3, "slots": {"main": {"contentmodel": "wikitext", "contentformat": "text/x-wiki",
 *                                           "content": "…"}}},
 *          {"revid": 10, "sha1hidden": true, "slots": {"main": {"contentmodel": "wikitext", "texthidden": true}}}]}]}}
 *
 * `query` is absent only when nothing was asked for; `pages` is absent when every id is bad.
 */
export function parseRevisionsResponse(
  body: Buffer,
  options: { retryAfterMs?: number } = {},
): RevisionsResponsePart {
  const text = decode(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw responseFormatError('body is not JSON', { cause: String(cause), body_start: text.slice(0, 200) });
  }
  if (!isObject(json)) throw responseFormatError('body is not a JSON object');
  if (json.error !== undefined) {
    const error = json.error;
    if (!isObject(error) || typeof error.code !== 'string') throw responseFormatError('error without a code');
    throw apiError(error.code, typeof error.info === 'string' ? error.info : '', options.retryAfterMs);
  }
  const query = json.query;
  if (!isObject(query)) throw responseFormatError('no query object');

  const revisions = new Map<number, RevisionContent | EnrichmentError>();
  let hasMissingPage = false;
  if (query.pages !== undefined) {
    if (!Array.isArray(query.pages)) throw responseFormatError('query.pages is not an array');
    const literals = lazyLiterals(body);
    for (let pageIndex = 0; pageIndex < query.pages.length; pageIndex++) {
      const page: unknown = query.pages[pageIndex];
      if (!isObject(page)) throw responseFormatError('a page is not an object');
      if (page.missing === true && page.revisions === undefined) hasMissingPage = true;
      if (page.revisions === undefined) continue;
      if (!Array.isArray(page.revisions)) throw responseFormatError('page.revisions is not an array');
      const pageId = typeof page.pageid === 'number' ? page.pageid : undefined;
      for (let revisionIndex = 0; revisionIndex < page.revisions.length; revisionIndex++) {
        const revision: unknown = page.revisions[revisionIndex];
        if (!isObject(revision) || typeof revision.revid !== 'number') {
          throw responseFormatError('a revision has no numeric revid');
        }
        const place = { page: pageIndex, revision: revisionIndex };
        revisions.set(revision.revid, readRevision(revision.revid, pageId, revision.slots, literals, place));
      }
    }
  }

  return {
    revisions,
    badRevIds: readBadRevIds(query.badrevids),
    hasMissingPage,
    continueParams: readContinue(json.continue),
  };
}

/**
 * Smaller contents are serialised again: below about this size, locating and splicing a literal
 * costs as much as serialising the text (about 1 µs per revision to locate, at 1 KB contents).
 */
export const MIN_LITERAL_BYTES = 2048;

/** The answer's text. Bytes that are not UTF-8 are replaced by U+FFFD, as any decoder would. */
function decode(bytes: Buffer): string {
  try {
    return bytes.toString('utf8');
  } catch (error) {
    // Past V8's longest string (about 512 Mi characters), which an answer just under a 512 MiB limit can reach.
    throw responseFormatError('answer too large to decode', { cause: String(error) });
  }
}

/**
 * Whether a literal takes at most the text's UTF-8 bytes, an eighth more for escapes (the newlines
 * and quotes of wikitext, as MediaWiki writes them) and its quotes. An answer that escapes more (every
 * character as a `\u` sequence is six bytes) would make the output grow with it, past limits set for
 * the text: such a content is serialised again.
 */
function literalFits(literal: Buffer, text: string): boolean {
  return literal.length <= Buffer.byteLength(text) * 1.125 + 2;
}

/** A slot content's literal by the place of its revision in the answer and its role. */
type LiteralAt = (page: number, revision: number, role: string) => Buffer | undefined;

/**
 * The literal of a slot's content by its place in the answer. The bytes are scanned once, when the
 * first large content asks, and only when they are UTF-8: otherwise the text differs from the bytes
 * wherever a replacement character stands in for a bad sequence, and only the text may be written.
 * The literals are views into the answer, not copies: a batch's records are enriched as soon as it
 * settles, and with them the last views, and so the answer, are let go.
 */
function lazyLiterals(bytes: Buffer): LiteralAt {
  let literals: ContentLiterals | undefined | null = null;
  return (page, revision, role) => {
    if (literals === null) {
      literals = isUtf8(bytes) ? locateContentLiterals(bytes, MIN_LITERAL_BYTES) : undefined;
    }
    const span = literals?.get(page)?.get(revision)?.get(role);
    return span && bytes.subarray(span[0], span[1]);
  };
}

function readRevision(
  revId: number,
  pageId: number | undefined,
  slots: unknown,
  literalAt: LiteralAt,
  place: { page: number; revision: number },
): RevisionContent | EnrichmentError {
  if (!isObject(slots)) return responseFormatError('revision without slots', { rev_id: revId });
  const out: Record<string, SlotContent> = {};
  for (const [role, slot] of Object.entries(slots)) {
    if (!isObject(slot))
      return responseFormatError('slot is not an object', { rev_id: revId, slot_role: role });
    const textHidden = slot.texthidden === true;
    const content = typeof slot.content === 'string' ? slot.content : undefined;
    // A visible slot without text (e.g. `textmissing`: the blob could not be loaded) cannot be enriched.
    if (content === undefined && !textHidden) {
      return responseFormatError('slot has no content', { rev_id: revId, slot_role: role });
    }
    // A text of n UTF-16 units has a literal of at least n + 2 bytes: from this length on it surely
    // has one; a shorter text is serialised again even if escapes make its literal long.
    let contentJson: Buffer | undefined;
    if (!textHidden && content !== undefined && content.length + 2 >= MIN_LITERAL_BYTES) {
      const found = literalAt(place.page, place.revision, role);
      if (found !== undefined && literalFits(found, content)) contentJson = found;
    }
    setOwn(out, role, {
      role,
      contentModel: typeof slot.contentmodel === 'string' ? slot.contentmodel : undefined,
      contentFormat: typeof slot.contentformat === 'string' ? slot.contentformat : undefined,
      content: textHidden ? undefined : content,
      ...(contentJson !== undefined && { contentJson }),
      textHidden,
    });
  }
  return pageId === undefined ? { revId, slots: out } : { revId, pageId, slots: out };
}

function readBadRevIds(value: unknown): Set<number> {
  const ids = new Set<number>();
  if (value === undefined) return ids;
  // PHP serialises an array keyed 0..n-1 as a JSON list, any other keys as an object.
  if (!isObject(value) && !Array.isArray(value))
    throw responseFormatError('query.badrevids is not a list or object');
  for (const entry of Object.values(value)) {
    if (!isObject(entry) || typeof entry.revid !== 'number')
      throw responseFormatError('badrevids entry without revid');
    ids.add(entry.revid);
  }
  return ids;
}

function readContinue(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw responseFormatError('continue is not an object');
  const params: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number')
      throw responseFormatError('continue value is not scalar');
    params[key] = String(v);
  }
  return params;
}

export type RevisionResult = { ok: true; revision: RevisionContent } | { ok: false; error: EnrichmentError };

/**
 * The result of every requested id from the parts of one complete (no more `continue`) answer. An id
 * that is in `badrevids`, or that appears nowhere while a `missing` page was listed, or that appears
 * nowhere at all, is missing.
 */
export function resolveRevisionResults(
  requested: readonly number[],
  parts: readonly RevisionsResponsePart[],
): Map<number, RevisionResult> {
  const results = new Map<number, RevisionResult>();
  const hasMissingPage = parts.some((p) => p.hasMissingPage);
  for (const revId of requested) {
    if (results.has(revId)) continue;
    let found: RevisionContent | EnrichmentError | undefined;
    let bad = false;
    for (const part of parts) {
      found ??= part.revisions.get(revId);
      bad ||= part.badRevIds.has(revId);
    }
    if (found !== undefined) {
      results.set(
        revId,
        isEnrichmentError(found) ? { ok: false, error: found } : { ok: true, revision: found },
      );
    } else {
      const reason = bad ? 'badrevids' : hasMissingPage ? 'page_missing' : 'absent';
      results.set(revId, { ok: false, error: missingRevisionError(revId, reason) });
    }
  }
  return results;
}

/** Ids of `requested` that a part mentions (found, failed to read, or bad): progress of a continuation. */
export function mentionedIds(part: RevisionsResponsePart): number[] {
  return [...part.revisions.keys(), ...part.badRevIds];
}
