/**
 * `mediawiki.page_change` events for a real MediaWiki. Debian's MediaWiki has no EventBus, so the
 * events are built here from what the seeding returned (page and revision ids, timestamps, the stored
 * text), as EventBus would have built them (schema 1.2.0), each paired with the outcome the service
 * must reach for it.
 *
 *     const wiki = await startWiki();
 *     const scenario = await seedEnrichmentScenario(wiki);
 *     const lines = scenario.events.map((e) => e.line);   // NDJSON input of the service
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RealWiki, SeededPage, WikiSession } from './mediawiki-real.js';

// Where bench/real-mediawiki.ts has been importing it from.
export { startRecordingProxy } from './recording-proxy.js';

type Json = Record<string, unknown>;

/** The wiki's name in events; allow it in `enrich.allowed_domains`. Never resolved: the endpoint is fixed. */
export const WIKI_DOMAIN = 'wiki.local.test';
export const WIKI_ID = 'localwiki';
export const SOURCE_STREAM = 'mediawiki.page_change.v1';
export const PAGE_CHANGE_SCHEMA = '/mediawiki/page/change/1.2.0';

/** The user the bot password edits as, in the event's performer/editor shape. */
export type EventUser = Json;

/** `meta=userinfo` of the session, as a page_change `performer` (the bot password edits as this user). */
export async function sessionUser(session: WikiSession): Promise<EventUser> {
  const answer = await session.get({
    action: 'query',
    meta: 'userinfo',
    uiprop: 'groups|editcount|registration',
  });
  const info = (answer.query as Json | undefined)?.userinfo as Json | undefined;
  if (info === undefined || typeof info.id !== 'number')
    throw new Error(`no userinfo: ${JSON.stringify(answer)}`);
  const groups = Array.isArray(info.groups) ? (info.groups as string[]) : [];
  return {
    user_id: info.id,
    user_text: String(info.name),
    groups,
    is_bot: groups.includes('bot'),
    is_system: false,
    is_temp: false,
    edit_count: Number(info.editcount ?? 0),
    ...(typeof info.registration === 'string' ? { registration_dt: info.registration } : {}),
  };
}

/**
 * MediaWiki stores and EventBus reports sha1 in base 36, 31 digits (`rev_sha1`, `content_sha1`);
 * the Action API and the seeding helper give hex.
 */
export function sha1Base36(hex: string): string {
  return BigInt(`0x${hex}`).toString(36).padStart(31, '0');
}

const CONTENT_FORMATS: Readonly<Record<string, string>> = {
  wikitext: 'text/x-wiki',
  json: 'application/json',
};

export type PageChangeKind = 'create' | 'edit' | 'move' | 'delete' | 'undelete' | 'visibility_change';

const CHANGELOG_KINDS: Readonly<Record<PageChangeKind, string>> = {
  create: 'insert',
  undelete: 'insert',
  edit: 'update',
  move: 'update',
  visibility_change: 'update',
  delete: 'delete',
};

export interface PageChangeOptions {
  kind: PageChangeKind;
  performer: EventUser;
  /** Ingestion time (`meta.dt`): the service retries a missing revision only while this is recent. @default now */
  metaDt?: Date;
  /** Event time (`dt`). @default the revision's timestamp */
  dt?: string;
  /** @default true */
  isContentVisible?: boolean;
  /** visibility_change: the visibility before the change. */
  priorContentVisible?: boolean;
  /** Replaces the revision id (a revision that never existed). */
  revId?: number;
  comment?: string;
}

/**
 * The page_change/1.2.0 event EventBus would emit for `revision` of its page: the page as it was,
 * the revision with its one `main` slot (no `content_body`: filling it is the service's job).
 */
export function pageChangeEvent(revision: SeededPage, options: PageChangeOptions): Json {
  const metaDt = options.metaDt ?? new Date();
  const title = revision.title.replaceAll(' ', '_');
  const sha1 = sha1Base36(revision.sha1);
  const revId = options.revId ?? revision.revId;
  const comment = options.comment ?? 'test fixture';
  const event: Json = {
    $schema: PAGE_CHANGE_SCHEMA,
    changelog_kind: CHANGELOG_KINDS[options.kind],
    comment,
    dt: options.dt ?? revision.timestamp,
    meta: {
      stream: SOURCE_STREAM,
      domain: WIKI_DOMAIN,
      uri: `https://${WIKI_DOMAIN}/wiki/${encodeURIComponent(title)}`,
      id: randomUUID(),
      // Unique per event, and kept by the output normalisation: how a test pairs outputs with inputs.
      request_id: randomUUID(),
      dt: metaDt.toISOString(),
    },
    page: { page_id: revision.pageId, page_title: title, namespace_id: 0, is_redirect: false },
    page_change_kind: options.kind,
    performer: options.performer,
    revision: {
      rev_id: revId,
      rev_parent_id: revision.parentRevId,
      rev_dt: revision.timestamp,
      rev_sha1: sha1,
      rev_size: revision.size,
      comment,
      is_minor_edit: false,
      is_comment_visible: true,
      is_content_visible: options.isContentVisible ?? true,
      is_editor_visible: true,
      editor: options.performer,
      content_slots: {
        main: {
          slot_role: 'main',
          content_model: revision.contentModel,
          content_format: CONTENT_FORMATS[revision.contentModel] ?? 'text/plain',
          content_sha1: sha1,
          content_size: revision.size,
          origin_rev_id: revId,
        },
      },
    },
    wiki_id: WIKI_ID,
  };
  if (options.priorContentVisible !== undefined) {
    event.prior_state = {
      revision: {
        is_content_visible: options.priorContentVisible,
        is_comment_visible: true,
        is_editor_visible: true,
      },
    };
  }
  return event;
}

/**
 * One NDJSON line with a space after each separator, as some producers write it: an error event's
 * `raw_event` must then be the line as read, which re-serialising the parsed event would not give.
 * Raw line breaks only occur between tokens (JSON.stringify escapes them inside strings).
 */
export function spacedJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\n */g, ' ');
}

/** What the service must make of one input. */
export type Expected =
  /** An output with `content_body` = `body` (the stored text), or none when the wiki hides the text. */
  | { outcome: 'enriched'; body: string | undefined }
  /** An output equal to the input apart from the normalisation, no request needed for it. */
  | { outcome: 'passed'; reason: 'delete' | 'hidden' }
  /** An error event; `retried`: asked again while the event is recent (`meta.dt` now). */
  | { outcome: 'failed'; errorType: string; retried: boolean };

export interface ScenarioEvent {
  /** Short description for assertion messages. */
  readonly name: string;
  readonly event: Json;
  /** The NDJSON line (the error event's `raw_event` must equal it), see `spacedJson`. */
  readonly line: string;
  readonly pageId: number;
  readonly revId: number;
  readonly requestId: string;
  readonly expected: Expected;
}

export interface Scenario {
  /** In input order. */
  readonly events: ScenarioEvent[];
  /** The JSON page's revisions: the text sent, and the text the wiki stored (normalised). */
  readonly json: ReadonlyArray<{ sent: string; stored: SeededPage }>;
}

/** A revision id far above anything the scenario creates. */
export const NEVER_SAVED_REV_ID = 987_654_321;

/**
 * Seeds a fresh wiki and returns the page_change events of everything it did, in order, with the
 * outcome each must have:
 * - pages "E2E A" (create + 2 edits) and "E2E B" (create + edit): enriched with their text;
 * - "E2E data.json" (JSON content model; sent compact, stored pretty-printed): enriched with the
 *   stored form;
 * - "E2E deleted" (create + edit, then deleted): the create event is recent (`meta.dt` now), so the
 *   missing revision is retried and then fails; the edit event is an hour old, so it fails at once;
 *   the delete event is passed through;
 * - "E2E hidden": revision 1 is hidden, shown again, hidden again (three visibility_change events).
 *   The create event and the "shown again" event claim visible content, but the wiki now answers
 *   `texthidden`: enriched without `content_body`. The two "hidden" events say so themselves: passed
 *   through without asking the wiki;
 * - an edit of "E2E B" whose revision never existed (an hour old): MissingRevisionError.
 *
 * Events of different pages are interleaved, so that per-page order is not input order by accident.
 */
export async function seedEnrichmentScenario(wiki: RealWiki): Promise<Scenario> {
  const bot = await wiki.login();
  const performer = await sessionUser(bot);
  const now = () => new Date();
  const hourAgo = () => new Date(Date.now() - 3_600_000);

  const a1 = await bot.edit({
    title: 'E2E A',
    text: "'''A''' first version: ünïcödé ✓ — \"quotes\" & <b>tags</b>\n== Section ==\n* item",
  });
  const b1 = await bot.edit({
    title: 'E2E B',
    text: 'B first version with a [[E2E A|link]] and {{!}} a template call',
  });
  const jsonSent = [
    '{"name":"data","values":[1,2.5,true,null],"nested":{"ü":"ß","path":"a/b"},"empty":[]}',
    '{"name":"data","values":[3],"nested":{"emoji":"😀","quote":"\\""}}',
  ];
  const j1 = await storedRevision(
    bot,
    await bot.edit({ title: 'E2E data.json', text: jsonSent[0]!, contentModel: 'json' }),
  );
  const a2 = await bot.edit({
    title: 'E2E A',
    text: 'A second version\n\twith a tab-indented line\nand a last line',
  });
  const d1 = await bot.edit({ title: 'E2E deleted', text: 'This page will be deleted: first version.' });
  const h1 = await bot.edit({ title: 'E2E hidden', text: 'This first version will be hidden.' });
  const j2 = await storedRevision(
    bot,
    await bot.edit({ title: 'E2E data.json', text: jsonSent[1]!, contentModel: 'json' }),
  );
  const b2 = await bot.edit({ title: 'E2E B', text: 'B second version' });
  const d2 = await bot.edit({ title: 'E2E deleted', text: 'This page will be deleted: second version.' });
  const h2 = await bot.edit({ title: 'E2E hidden', text: 'The second version stays visible.' });
  const a3 = await bot.edit({ title: 'E2E A', text: 'A third version' });
  await bot.deletePage(d2.title);
  const deletedAt = new Date().toISOString();
  // The current revision cannot be hidden: h1 can, now that h2 exists.
  await bot.hideRevisionContent(h1.title, h1.revId);
  const hiddenAt = new Date().toISOString();
  await bot.hideRevisionContent(h1.title, h1.revId, false);
  const shownAt = new Date().toISOString();
  await bot.hideRevisionContent(h1.title, h1.revId);
  const hiddenAgainAt = new Date().toISOString();

  const events: ScenarioEvent[] = [];
  const add = (
    name: string,
    revision: SeededPage,
    options: Omit<PageChangeOptions, 'performer'>,
    expected: Expected,
  ) => {
    const event = pageChangeEvent(revision, { performer, ...options });
    const meta = event.meta as Json;
    events.push({
      name,
      event,
      line: spacedJson(event),
      pageId: revision.pageId,
      revId: (event.revision as Json).rev_id as number,
      requestId: String(meta.request_id),
      expected,
    });
  };
  const enriched = (r: SeededPage): Expected => ({ outcome: 'enriched', body: r.text });

  add('A create', a1, { kind: 'create' }, enriched(a1));
  add('B create', b1, { kind: 'create' }, enriched(b1));
  add('data.json create', j1, { kind: 'create' }, enriched(j1));
  add(
    'deleted create (recent)',
    d1,
    { kind: 'create', metaDt: now() },
    { outcome: 'failed', errorType: 'MissingRevisionError', retried: true },
  );
  add('A edit 1', a2, { kind: 'edit' }, enriched(a2));
  add('hidden create', h1, { kind: 'create' }, { outcome: 'enriched', body: undefined });
  add(
    'deleted edit (an hour old)',
    d2,
    { kind: 'edit', metaDt: hourAgo() },
    { outcome: 'failed', errorType: 'MissingRevisionError', retried: false },
  );
  add('data.json edit', j2, { kind: 'edit' }, enriched(j2));
  add('B edit', b2, { kind: 'edit' }, enriched(b2));
  add('hidden edit', h2, { kind: 'edit' }, enriched(h2));
  add(
    'B edit of a revision that never existed',
    b2,
    { kind: 'edit', revId: NEVER_SAVED_REV_ID, metaDt: hourAgo() },
    { outcome: 'failed', errorType: 'MissingRevisionError', retried: false },
  );
  add('deleted delete', d2, { kind: 'delete', dt: deletedAt }, { outcome: 'passed', reason: 'delete' });
  add('A edit 2', a3, { kind: 'edit' }, enriched(a3));
  add(
    'hidden visibility_change: hidden',
    h1,
    { kind: 'visibility_change', dt: hiddenAt, isContentVisible: false, priorContentVisible: true },
    { outcome: 'passed', reason: 'hidden' },
  );
  add(
    'hidden visibility_change: shown (hidden again since)',
    h1,
    { kind: 'visibility_change', dt: shownAt, isContentVisible: true, priorContentVisible: false },
    { outcome: 'enriched', body: undefined },
  );
  add(
    'hidden visibility_change: hidden again',
    h1,
    { kind: 'visibility_change', dt: hiddenAgainAt, isContentVisible: false, priorContentVisible: true },
    { outcome: 'passed', reason: 'hidden' },
  );

  return {
    events,
    json: [
      { sent: jsonSent[0]!, stored: j1 },
      { sent: jsonSent[1]!, stored: j2 },
    ],
  };
}

/**
 * The revision as the wiki stored it. MediaWiki rewrites JSON content on save (pretty-printed with
 * tabs), so the text sent is not the text stored; the bot's session reads the stored text back.
 */
export async function storedRevision(session: WikiSession, saved: SeededPage): Promise<SeededPage> {
  const answer = await session.get({
    action: 'query',
    prop: 'revisions',
    revids: String(saved.revId),
    rvprop: 'ids|content|sha1|size',
    rvslots: 'main',
  });
  const pages = ((answer.query as Json | undefined)?.pages ?? []) as Json[];
  const revision = (pages[0]?.revisions as Json[] | undefined)?.[0];
  const main = ((revision?.slots as Json | undefined)?.main ?? {}) as Json;
  if (typeof main.content !== 'string')
    throw new Error(`revision ${saved.revId} has no content: ${JSON.stringify(answer)}`);
  const text = main.content;
  const sha1 = createHash('sha1').update(text).digest('hex');
  // The wiki's own sha1 and size agree with the text read back, or the fixture itself is wrong.
  if (revision?.sha1 !== sha1 || revision.size !== Buffer.byteLength(text)) {
    throw new Error(
      `revision ${saved.revId}: sha1/size ${String(revision?.sha1)}/${String(revision?.size)} do not match its text`,
    );
  }
  return { ...saved, text, sha1, size: Buffer.byteLength(text) };
}
