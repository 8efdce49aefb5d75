/**
 * The Action API answers the recent-changes source reads (formatversion=2), parsed into the few
 * fields it uses. Every answer is checked for the fields the source depends on; one that lacks them
 * is a `WikiAnswerError` (the wiki, or whatever answered in its place, is not the API expected).
 */

type Json = Record<string, unknown>;

/** The answer is not the shape the Action API gives. */
export class WikiAnswerError extends Error {
  constructor(message: string) {
    super(`unexpected Action API answer: ${message}`);
    this.name = 'WikiAnswerError';
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const WIKI_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** `2026-11-29T16:27:12Z` → seconds since the epoch; undefined for anything else. */
export function wikiSeconds(timestamp: unknown): number | undefined {
  if (typeof timestamp !== 'string' || !WIKI_TIMESTAMP.test(timestamp)) return undefined;
  const ms = Date.parse(timestamp);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** Seconds since the epoch → the wiki's timestamp form. */
export function wikiTimestamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * One row of `list=recentchanges` with
 * `rcprop=ids|title|timestamp|user|userid|comment|flags|sizes|loginfo|sha1`:
 *
 *     {"type":"edit","ns":0,"title":"Alpha","pageid":3,"revid":4,"old_revid":3,"rcid":4,
 *      "user":"Admin","userid":1,"bot":false,"new":false,"minor":true,"oldlen":100,"newlen":116,
 *      "timestamp":"2026-11-29T16:27:30Z","comment":"edit Alpha","sha1":"d34e35b8…"}
 *
 * Log rows add `logid`, `logtype`, `logaction`, `logparams`. Hidden fields are left out and flagged:
 * `userhidden`, `commenthidden`, `sha1hidden` (the content), `suppressed`; a log entry whose target is
 * hidden comes as `actionhidden` without title, namespace and ids. The sha1 is hex.
 */
export interface RecentChange {
  readonly rcid: number;
  readonly type: string;
  readonly timestamp: string;
  readonly ns: number;
  readonly title: string;
  readonly pageid: number;
  readonly revid: number;
  readonly old_revid: number;
  readonly user?: string;
  readonly userid?: number;
  readonly userhidden?: boolean;
  readonly minor?: boolean;
  readonly newlen?: number;
  readonly comment?: string;
  readonly commenthidden?: boolean;
  readonly sha1?: string;
  readonly sha1hidden?: boolean;
  readonly logtype?: string;
  readonly logaction?: string;
  readonly logparams?: Json;
  /** A log entry whose action (its target) is hidden: no title, namespace or ids are given. */
  readonly actionhidden?: boolean;
}

export interface RecentChangesPage {
  readonly rows: RecentChange[];
  /** `continue` of the answer (`{rccontinue: "20261124214441|4", continue: "-||"}`), when there is more. */
  readonly continueParams: Readonly<Record<string, string>> | undefined;
}

export function parseRecentChanges(answer: Json): RecentChangesPage {
  const query = answer.query;
  const list = isObject(query) ? query.recentchanges : undefined;
  if (!Array.isArray(list)) throw new WikiAnswerError('no query.recentchanges list');
  const rows = list.map((row, i) => checkRow(row, i));
  return { rows, continueParams: continueOf(answer) };
}

function checkRow(row: unknown, index: number): RecentChange {
  if (!isObject(row)) throw new WikiAnswerError(`recentchanges[${index}] is not an object`);
  const { rcid, type, timestamp, ns, title, pageid, revid, old_revid: oldRevid } = row;
  const bad = (what: string) =>
    new WikiAnswerError(`recentchanges[${index}] (rcid ${String(rcid)}) has no valid ${what}`);
  if (!isCount(rcid) || rcid < 1) throw bad('rcid');
  if (wikiSeconds(timestamp) === undefined) throw bad('timestamp');
  if (typeof type !== 'string') throw bad('type');
  if (row.actionhidden === true) {
    // Nothing can be said of its page; it still has its place in the order of rows.
    return {
      rcid,
      type,
      timestamp: timestamp as string,
      actionhidden: true,
      ns: 0,
      title: '',
      pageid: 0,
      revid: 0,
      old_revid: 0,
    };
  }
  if (!isCount(ns)) throw bad('ns');
  if (typeof title !== 'string' || title === '') throw bad('title');
  if (!isCount(pageid) || !isCount(revid) || !isCount(oldRevid)) throw bad('pageid, revid or old_revid');
  return row as unknown as RecentChange;
}

/**
 * `meta=siteinfo&siprop=general`: `{"query":{"general":{"wikiid":"enwiki","servername":
 * "en.wikipedia.org","server":"//en.wikipedia.org","articlepath":"/wiki/$1",
 * "base":"https://en.wikipedia.org/wiki/Main_Page","time":"2026-11-29T16:27:12Z",…}}}`.
 */
export interface SiteInfo {
  /** `wikiid`: the database name, the events' `wiki_id`. */
  readonly wikiId: string;
  /** `servername`: the host name of `$wgServer`, the events' `meta.domain`. */
  readonly serverName: string;
  /** Scheme, host and port of the wiki's canonical URLs (from `base`, the main page's canonical URL). */
  readonly canonicalOrigin: string;
  /** `articlepath`: `/wiki/$1`. */
  readonly articlePath: string;
  /** `time`: the wiki's clock when it answered. */
  readonly time: string;
}

export function parseSiteInfo(answer: Json): SiteInfo {
  const query = answer.query;
  const general = isObject(query) ? query.general : undefined;
  if (!isObject(general)) throw new WikiAnswerError('no query.general (meta=siteinfo)');
  const { wikiid, servername, base, articlepath, time } = general;
  if (typeof wikiid !== 'string' || wikiid === '') throw new WikiAnswerError('siteinfo has no wikiid');
  if (typeof servername !== 'string' || servername === '')
    throw new WikiAnswerError('siteinfo has no servername');
  if (typeof articlepath !== 'string' || !articlepath.includes('$1'))
    throw new WikiAnswerError('siteinfo has no articlepath with $1');
  if (wikiSeconds(time) === undefined) throw new WikiAnswerError('siteinfo has no time');
  let origin: string;
  try {
    origin = new URL(String(base)).origin;
  } catch {
    throw new WikiAnswerError(`siteinfo base ${JSON.stringify(base)} is not a URL`);
  }
  return {
    wikiId: wikiid,
    serverName: servername,
    canonicalOrigin: origin,
    articlePath: articlepath,
    time: time as string,
  };
}

/**
 * A revision as `prop=revisions&rvprop=ids|timestamp|flags|size|sha1|user|userid|comment` gives it:
 *
 *     {"revid":13,"parentid":12,"minor":false,"user":"Admin","userid":1,
 *      "timestamp":"2026-11-24T21:44:42Z","size":24,"sha1":"cbaff748…","comment":"fixture move"}
 *
 * Hidden parts are left out and flagged (`userhidden`, `commenthidden`, `sha1hidden`), as in rows.
 * Rows of new pages and edits carry the same facts under other names (`revisionOfRow`).
 */
export interface RevisionFacts {
  readonly revid: number;
  readonly parentid: number;
  readonly timestamp: string;
  readonly size?: number;
  readonly minor?: boolean;
  readonly sha1?: string;
  readonly sha1hidden?: boolean;
  readonly user?: string;
  readonly userid?: number;
  readonly userhidden?: boolean;
  readonly comment?: string;
  readonly commenthidden?: boolean;
}

/** The revision facts of a `new` or `edit` row: its revision is the one the row announces. */
export function revisionOfRow(row: RecentChange): RevisionFacts {
  return {
    revid: row.revid,
    parentid: row.old_revid,
    timestamp: row.timestamp,
    ...(row.newlen !== undefined && { size: row.newlen }),
    ...(row.minor !== undefined && { minor: row.minor }),
    ...(row.sha1 !== undefined && { sha1: row.sha1 }),
    ...(row.sha1hidden !== undefined && { sha1hidden: row.sha1hidden }),
    ...(row.user !== undefined && { user: row.user }),
    ...(row.userid !== undefined && { userid: row.userid }),
    ...(row.userhidden !== undefined && { userhidden: row.userhidden }),
    ...(row.comment !== undefined && { comment: row.comment }),
    ...(row.commenthidden !== undefined && { commenthidden: row.commenthidden }),
  };
}

export interface RevisionsAnswer {
  /** Revisions by id, with the page each belongs to. */
  readonly revisions: Map<number, RevisionFacts & { pageid: number }>;
  readonly continueParams: Readonly<Record<string, string>> | undefined;
}

/**
 * `{"query":{"pages":[{"pageid":7,"ns":0,"title":"…","revisions":[{…}]}],"badrevids":{…}}}`. Missing
 * and deleted revisions are simply absent from `revisions` (they come as `badrevids`, or as a page
 * with `missing: true`, depending on who asks).
 */
export function parseRevisions(answer: Json): RevisionsAnswer {
  const query = answer.query;
  const revisions = new Map<number, RevisionFacts & { pageid: number }>();
  const pages = isObject(query) ? query.pages : undefined;
  if (pages !== undefined && !Array.isArray(pages)) throw new WikiAnswerError('query.pages is not a list');
  for (const page of pages ?? []) {
    if (!isObject(page) || !Array.isArray(page.revisions)) continue;
    if (!isCount(page.pageid)) throw new WikiAnswerError('a page of prop=revisions has no pageid');
    for (const revision of page.revisions) {
      if (!isObject(revision)) throw new WikiAnswerError('a revision is not an object');
      const { revid, parentid, timestamp } = revision;
      if (!isCount(revid) || revid < 1 || !isCount(parentid) || wikiSeconds(timestamp) === undefined) {
        throw new WikiAnswerError(`revision ${String(revid)} lacks revid, parentid or timestamp`);
      }
      revisions.set(revid, { ...(revision as unknown as RevisionFacts), pageid: page.pageid });
    }
  }
  return { revisions, continueParams: continueOf(answer) };
}

/** `error` of an answer, when it carries one (every answer is HTTP 200). */
export function apiErrorOf(answer: Json): { code: string; info: string } | undefined {
  const error = answer.error;
  if (!isObject(error)) return undefined;
  return { code: String(error.code ?? 'unknown'), info: String(error.info ?? '') };
}

function continueOf(answer: Json): Readonly<Record<string, string>> | undefined {
  const value = answer.continue;
  if (!isObject(value)) return undefined;
  const params: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number')
      throw new WikiAnswerError(`continue.${key} is not a string`);
    params[key] = String(v);
  }
  return params;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
