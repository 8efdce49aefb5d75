import { createHash } from 'node:crypto';
import type { RecentChange, RevisionFacts } from './answers.js';
import { revisionOfRow } from './answers.js';

/**
 * Recent-changes rows → `mediawiki/page/change` 1.2.0 events, as EventBus would have built them for
 * the same actions, with only what the rows (and the lookups the source makes for log rows) say.
 * What they cannot say is left out when the schema allows it, never guessed:
 *
 * - `meta.request_id`; the performer's `groups`, `edit_count`, `registration_dt`, `is_bot`,
 *   `is_system`, `is_temp` (the row's `bot` flag marks the edit, not the user);
 * - `page.is_redirect`, `page.revision_count` (the API reports the title's state now, not then);
 * - `created_redirect_page` of a move (the redirect has no row; the page now at the old title may
 *   no longer be it), `revision.content_slots` (rows carry no content model; the enrichment adds the
 *   slots it fetches).
 *
 * Required fields that are not facts of the change: `meta.dt` is the time of derivation (the time
 * the system received the event, as the schema describes it); `meta.id` is a name-based UUID of the
 * wiki, the row and the event's index in it, so that an event derived twice has one id.
 */

type Json = Record<string, unknown>;

export const PAGE_CHANGE_SCHEMA_URI = '/mediawiki/page/change/1.2.0';

export type PageChangeKind = 'create' | 'edit' | 'move' | 'delete' | 'undelete' | 'visibility_change';

const CHANGELOG_KIND: Readonly<Record<PageChangeKind, 'insert' | 'update' | 'delete'>> = {
  create: 'insert',
  undelete: 'insert',
  edit: 'update',
  move: 'update',
  visibility_change: 'update',
  delete: 'delete',
};

/** What a revision deletion hides, per field (true = hidden). */
export interface Visibility {
  readonly content: boolean;
  readonly comment: boolean;
  readonly user: boolean;
}

/** What a row says happened, and what must be looked up to describe it. */
export type RowPlan =
  | { readonly kind: 'create' | 'edit'; readonly revision: RevisionFacts }
  /** The moved page keeps its id; `revid` is the null revision the move made. */
  | { readonly kind: 'move'; readonly revid: number; readonly target: { ns: number; title: string } }
  /** The page's latest revision is not in the row: only rows seen before can tell it. */
  | { readonly kind: 'delete' }
  /** The restored page's latest revision is not in the row: it is looked up. */
  | { readonly kind: 'undelete' }
  | {
      readonly kind: 'visibility_change';
      readonly revids: readonly number[];
      readonly before: Visibility;
      readonly after: Visibility;
    }
  /** Not a page change (protection, upload, user creation, a log entry's own visibility…). */
  | { readonly kind: 'none'; readonly reason: string };

/**
 * | row | page_change_kind |
 * | --- | --- |
 * | `type: new` | create |
 * | `type: edit` | edit |
 * | `log move/move`, `move/move_redir` | move (`title` is the old title, `logparams.target_*` the new) |
 * | `log delete/delete`, `delete/delete_redir`, `delete/delete_redir2` | delete |
 * | `log delete/restore` | undelete |
 * | `log delete/revision` with `logparams.type: revision` | visibility_change, one per id in `logparams.ids` |
 */
export function planRow(row: RecentChange): RowPlan {
  if (row.actionhidden) return { kind: 'none', reason: 'log entry with its action hidden' };
  if (row.type === 'new') return { kind: 'create', revision: revisionOfRow(row) };
  if (row.type === 'edit') return { kind: 'edit', revision: revisionOfRow(row) };
  if (row.type !== 'log') return { kind: 'none', reason: `type ${row.type}` };
  const action = `${row.logtype ?? ''}/${row.logaction ?? ''}`;
  const params = row.logparams ?? {};
  switch (action) {
    case 'move/move':
    case 'move/move_redir': {
      const ns = params.target_ns;
      const title = params.target_title;
      if (typeof ns !== 'number' || typeof title !== 'string' || title === '' || row.revid < 1) {
        return { kind: 'none', reason: `${action} without a target or a null revision` };
      }
      return { kind: 'move', revid: row.revid, target: { ns, title } };
    }
    case 'delete/delete':
    case 'delete/delete_redir':
    case 'delete/delete_redir2':
      return row.pageid > 0 ? { kind: 'delete' } : { kind: 'none', reason: `${action} without a page id` };
    case 'delete/restore':
      return row.pageid > 0 ? { kind: 'undelete' } : { kind: 'none', reason: `${action} without a page id` };
    case 'delete/revision': {
      const ids = params.ids;
      if (params.type !== 'revision' || !Array.isArray(ids)) {
        return { kind: 'none', reason: `${action} of ${String(params.type)}` };
      }
      const revids = ids.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
      const before = visibilityOf(params.old);
      const after = visibilityOf(params.new);
      if (revids.length === 0 || !before || !after) {
        return { kind: 'none', reason: `${action} without revision ids or bitmasks` };
      }
      return { kind: 'visibility_change', revids, before, after };
    }
    default:
      return { kind: 'none', reason: action };
  }
}

/** `{"bitmask":1,"content":true,"comment":false,"user":false,"restricted":false}` (bits 1, 2, 4). */
function visibilityOf(value: unknown): Visibility | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const bitmask = (value as { bitmask?: unknown }).bitmask;
  if (typeof bitmask !== 'number' || !Number.isInteger(bitmask)) return undefined;
  return { content: (bitmask & 1) !== 0, comment: (bitmask & 2) !== 0, user: (bitmask & 4) !== 0 };
}

/** What the events of one wiki share. */
export interface WikiContext {
  /** `wiki_id` (siteinfo `wikiid`). */
  readonly wikiId: string;
  /** `meta.domain` (siteinfo `servername`). */
  readonly domain: string;
  /** `meta.stream`: the configured stream. */
  readonly stream: string;
  /** The page's canonical URL from its DB key (`meta.uri`). */
  readonly pageUrl: (dbKey: string) => string;
}

/** The canonical page URL as MediaWiki writes it: `wfUrlencode` of the DB key in the article path. */
export function pageUrlFor(canonicalOrigin: string, articlePath: string): (dbKey: string) => string {
  return (dbKey) => `${canonicalOrigin}${articlePath.replace('$1', () => wfUrlencode(dbKey))}`;
}

/** PHP's `urlencode` with `; @ $ ! * ( ) , / ~ :` left as they are. */
function wfUrlencode(text: string): string {
  return encodeURIComponent(text)
    .replace(/'/g, '%27')
    .replace(/%(3B|40|24|2C|2F|3A)/g, (escape) => decodeURIComponent(escape));
}

/** MediaWiki's DB key of a prefixed title: spaces become underscores. */
export function dbKey(title: string): string {
  return title.replaceAll(' ', '_');
}

/**
 * The revision entity. `visibility` is the one the event asserts (a visibility change's new state);
 * without it, the flags of the facts (the state when they were read). A field hidden by either is
 * left out.
 */
export function revisionEntity(facts: RevisionFacts, visibility?: Visibility): Json {
  const hidden: Visibility = {
    content: (visibility?.content ?? false) || facts.sha1hidden === true,
    comment: (visibility?.comment ?? false) || facts.commenthidden === true,
    user: (visibility?.user ?? false) || facts.userhidden === true,
  };
  const asserted = visibility ?? hidden;
  const editor = hidden.user ? undefined : userEntity(facts.user, facts.userid);
  const sha1 = hidden.content ? undefined : sha1Base36(facts.sha1);
  return {
    ...(!hidden.comment && facts.comment !== undefined && { comment: facts.comment }),
    ...(editor && { editor }),
    is_comment_visible: !asserted.comment,
    is_content_visible: !asserted.content,
    is_editor_visible: !asserted.user,
    ...(facts.minor !== undefined && { is_minor_edit: facts.minor }),
    rev_dt: facts.timestamp,
    rev_id: facts.revid,
    rev_parent_id: facts.parentid,
    ...(sha1 !== undefined && { rev_sha1: sha1 }),
    ...(facts.size !== undefined && { rev_size: facts.size }),
  };
}

function userEntity(name: string | undefined, id: number | undefined): Json | undefined {
  if (name === undefined || name === '') return undefined;
  // Anonymous (IP) edits have user id 0: no user id, as EventBus gives them.
  return { user_text: name, ...(id !== undefined && id > 0 && { user_id: id }) };
}

/** The API's hex sha1 in MediaWiki's own form (base 36, 31 digits), as EventBus reports it. */
export function sha1Base36(hex: string | undefined): string | undefined {
  if (hex === undefined || !/^[0-9a-f]{40}$/.test(hex)) return undefined;
  return BigInt(`0x${hex}`).toString(36).padStart(31, '0');
}

export interface EventParts {
  readonly row: RecentChange;
  readonly kind: PageChangeKind;
  /** Index of the event among those of its row (a revision deletion of several revisions). */
  readonly index: number;
  readonly page: { readonly id: number; readonly ns: number; readonly title: string };
  readonly revision: Json;
  readonly priorState?: Json;
  /** The time of derivation (`meta.dt`). */
  readonly derivedAt: Date;
}

/** One page_change event. */
export function pageChangeEvent(wiki: WikiContext, parts: EventParts): Json {
  const { row, kind, page } = parts;
  const title = dbKey(page.title);
  // A log row's user and comment are the action's (mover, deleter); an edit's are its revision's.
  const performer = row.userhidden ? undefined : userEntity(row.user, row.userid);
  const comment = row.commenthidden ? undefined : row.comment;
  return {
    $schema: PAGE_CHANGE_SCHEMA_URI,
    changelog_kind: CHANGELOG_KIND[kind],
    ...(comment !== undefined && { comment }),
    dt: row.timestamp,
    meta: {
      stream: wiki.stream,
      domain: wiki.domain,
      uri: wiki.pageUrl(title),
      id: eventId(wiki.wikiId, row.rcid, parts.index),
      dt: parts.derivedAt.toISOString(),
    },
    page: { namespace_id: page.ns, page_id: page.id, page_title: title },
    page_change_kind: kind,
    ...(performer && { performer }),
    ...(parts.priorState && { prior_state: parts.priorState }),
    revision: parts.revision,
    wiki_id: wiki.wikiId,
  };
}

/** `prior_state` of a visibility change: the fields whose value changed, as they were. */
export function visibilityPriorState(before: Visibility, after: Visibility): Json | undefined {
  const revision: Json = {
    ...(before.comment !== after.comment && { is_comment_visible: !before.comment }),
    ...(before.content !== after.content && { is_content_visible: !before.content }),
    ...(before.user !== after.user && { is_editor_visible: !before.user }),
  };
  return Object.keys(revision).length > 0 ? { revision } : undefined;
}

/** A name-based (version 5 layout) UUID of the row's event: derived again, it is the same. */
export function eventId(wikiId: string, rcid: number, index: number): string {
  const hash = createHash('sha1').update(`mediawiki_recentchanges\n${wikiId}\n${rcid}\n${index}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Kafka key of the real events: `{"wiki_id":…,"page_id":…}`. */
export function eventKeyOf(wikiId: string, pageId: number): string {
  return JSON.stringify({ wiki_id: wikiId, page_id: pageId });
}
