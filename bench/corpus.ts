/**
 * A seeded, deterministic corpus of `mediawiki/page/change` 1.2.0 events with the shape of the real
 * stream: most events on a few large wikis and a long tail of small ones; every page_change_kind, edits
 * dominating; pages edited again and again (a few hot pages per wiki); revision content sizes
 * heavy-tailed (median about 3 KB, about 1 % above 200 KB, a few near 2 MB).
 *
 * The content size of a revision is a function of its id alone (`contentBytesFor`), so that the stub
 * API in its own process answers with the sizes the events announce without sharing any state.
 */
import { pathToFileURL } from 'node:url';
import { SchemaRepository } from '../src/core/schema-repository.js';
import { Validator } from '../src/core/validator.js';
import { seeded } from '../test/helpers/random.js';

export const PAGE_CHANGE_SCHEMA = '/mediawiki/page/change/1.2.0';
export const MAX_CONTENT_BYTES = 2_000_000;

/** A standard normal draw (Box-Muller). */
function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

// Log-normal with median 3 KB; sigma 1.8 puts P(> 200 KB) at about 1 %: ln(200/3) / 1.8 ≈ 2.33 σ.
const MEDIAN_BYTES = 3_000;
const SIGMA = 1.8;

/** The content size of revision `revId` in the realistic corpus: deterministic, heavy-tailed. */
export function contentBytesFor(revId: number): number {
  const bytes = Math.round(MEDIAN_BYTES * Math.exp(SIGMA * normal(seeded(revId * 2654435761))));
  return Math.min(MAX_CONTENT_BYTES, Math.max(20, bytes));
}

/** Shares of page_change_kind, after the public page_change stream: edits dominate. */
const KINDS: ReadonlyArray<readonly [string, number]> = [
  ['edit', 0.885],
  ['create', 0.07],
  ['delete', 0.025],
  ['move', 0.012],
  ['visibility_change', 0.005],
  ['undelete', 0.003],
];

interface Wiki {
  wikiId: string;
  domain: string;
  weight: number;
  /** Live page ids; the first ones are the hot ones (Zipf picks). */
  pages: number[];
  deleted: number[];
  nextPageId: number;
  /** Latest revision of each page. */
  latest: Map<number, number>;
}

const LARGE: ReadonlyArray<readonly [string, string, number]> = [
  ['wikidatawiki', 'www.wikidata.org', 0.3],
  ['commonswiki', 'commons.wikimedia.org', 0.18],
  ['enwiki', 'en.wikipedia.org', 0.16],
  ['dewiki', 'de.wikipedia.org', 0.04],
  ['frwiki', 'fr.wikipedia.org', 0.035],
  ['eswiki', 'es.wikipedia.org', 0.03],
];
const LANGS =
  'it ja ru pl nl pt zh sv uk ar fa ca vi cs ko hu id he fi no tr ro sr da bg el eu hy hi bn ta ur th kk az et sl lt lv'.split(
    ' ',
  );
const PROJECTS: ReadonlyArray<readonly [string, string]> = [
  ['wiki', 'wikipedia'],
  ['wiktionary', 'wiktionary'],
  ['wikisource', 'wikisource'],
  ['wikibooks', 'wikibooks'],
];

function wikis(random: () => number): Wiki[] {
  const list: Wiki[] = LARGE.map(([wikiId, domain, weight]) => newWiki(wikiId, domain, weight, 5_000));
  // The long tail: the remaining quarter of the events, Zipf-shared over about 160 wikis.
  const tail: Array<[string, string]> = [];
  for (const [suffix, project] of PROJECTS)
    for (const lang of LANGS) tail.push([`${lang}${suffix}`, `${lang}.${project}.org`]);
  const rest = 1 - LARGE.reduce((sum, [, , w]) => sum + w, 0);
  const harmonic = tail.reduce((sum, _, i) => sum + 1 / (i + 1), 0);
  tail.forEach(([wikiId, domain], i) => {
    list.push(newWiki(wikiId, domain, rest / harmonic / (i + 1), 50 + Math.floor(random() * 500)));
  });
  return list;
}

function newWiki(wikiId: string, domain: string, weight: number, pageCount: number): Wiki {
  const pages = Array.from({ length: pageCount }, (_, i) => i + 1);
  return { wikiId, domain, weight, pages, deleted: [], nextPageId: pageCount + 1, latest: new Map() };
}

function pick<T>(random: () => number, items: ReadonlyArray<readonly [T, number]>): T {
  let r = random();
  for (const [item, weight] of items) {
    r -= weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** A Zipf-like index into `n` items: index 0 the most frequent. */
function zipfIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(Math.pow(n + 1, random()) - 1));
}

export interface CorpusStats {
  kinds: Record<string, number>;
  wikis: number;
  topWikiShare: number;
  /** Events whose content the service fetches (visible revision, kind other than delete). */
  fetched: number;
}

/** `events` input lines (JSON, no newline), the same for the same seed. */
export function generateCorpus(events: number, seed = 12): { lines: string[]; stats: CorpusStats } {
  const random = seeded(seed);
  const all = wikis(random);
  const weights = all.map((w) => [w, w.weight] as const);
  const lines: string[] = [];
  const kinds: Record<string, number> = {};
  const perWiki = new Map<string, number>();
  let fetched = 0;
  let nextRevId = 1_000_000;
  const t0 = Date.parse('2026-11-24T00:00:00Z');
  for (let i = 0; i < events; i++) {
    const wiki = pick(random, weights);
    let kind = pick(random, KINDS);
    if (kind === 'undelete' && wiki.deleted.length === 0) kind = 'edit';
    if ((kind === 'delete' || kind === 'move') && wiki.pages.length < 2) kind = 'create';
    let pageId: number;
    if (kind === 'create') {
      pageId = wiki.nextPageId++;
      wiki.pages.push(pageId);
    } else if (kind === 'undelete') {
      pageId = wiki.deleted.pop()!;
      wiki.pages.push(pageId);
    } else {
      const index = zipfIndex(random, wiki.pages.length);
      pageId = wiki.pages[index]!;
      if (kind === 'delete') {
        wiki.pages[index] = wiki.pages[wiki.pages.length - 1]!;
        wiki.pages.pop();
        wiki.deleted.push(pageId);
      }
    }
    // Edits, creates make a revision; the other kinds name the page's current one.
    const parent = wiki.latest.get(pageId);
    const makesRevision = kind === 'edit' || kind === 'create' || parent === undefined;
    const revId = makesRevision ? nextRevId++ : parent;
    wiki.latest.set(pageId, revId);
    const contentVisible = !(kind === 'visibility_change' && random() < 0.5);
    if (kind !== 'delete' && contentVisible) fetched++;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    perWiki.set(wiki.wikiId, (perWiki.get(wiki.wikiId) ?? 0) + 1);
    const dt = new Date(t0 + i * 7).toISOString();
    lines.push(
      JSON.stringify(pageChange({ i, wiki, kind, pageId, revId, parent, dt, contentVisible, random })),
    );
  }
  const top = Math.max(...perWiki.values());
  return { lines, stats: { kinds, wikis: perWiki.size, topWikiShare: top / events, fetched } };
}

interface EventFacts {
  i: number;
  wiki: Wiki;
  kind: string;
  pageId: number;
  revId: number;
  parent: number | undefined;
  dt: string;
  contentVisible: boolean;
  random: () => number;
}

function pageChange(f: EventFacts): Record<string, unknown> {
  const title = `Page_${f.pageId}`;
  const size = contentBytesFor(f.revId);
  const userId = 1 + Math.floor(f.random() * 100_000);
  const performer = {
    user_id: userId,
    user_text: `User ${userId}`,
    groups: ['*', 'user'],
    is_bot: false,
    is_system: false,
    is_temp: false,
    edit_count: userId % 5_000,
  };
  const changelogKind =
    f.kind === 'create' || f.kind === 'undelete' ? 'insert' : f.kind === 'delete' ? 'delete' : 'update';
  const event: Record<string, unknown> = {
    $schema: PAGE_CHANGE_SCHEMA,
    changelog_kind: changelogKind,
    comment: `${f.kind} ${f.i}`,
    dt: f.dt,
    meta: {
      stream: 'mediawiki.page_change.v1',
      domain: f.wiki.domain,
      uri: `https://${f.wiki.domain}/wiki/${title}`,
      id: `00000000-0000-4000-8000-${f.i.toString(16).padStart(12, '0')}`,
      request_id: `10000000-0000-4000-8000-${f.i.toString(16).padStart(12, '0')}`,
      dt: f.dt,
    },
    page: { page_id: f.pageId, page_title: title, namespace_id: 0, is_redirect: false },
    page_change_kind: f.kind,
    performer,
    revision: {
      rev_id: f.revId,
      ...(f.parent !== undefined && f.parent !== f.revId ? { rev_parent_id: f.parent } : {}),
      rev_dt: f.dt,
      rev_sha1: 'c3a1c1d1e7b9e4b2f0a0d7e1f2a3b4c5d6e7f8a9',
      rev_size: size,
      comment: `${f.kind} ${f.i}`,
      is_minor_edit: f.random() < 0.3,
      is_comment_visible: true,
      is_content_visible: f.contentVisible,
      is_editor_visible: true,
      editor: performer,
      content_slots: {
        main: {
          slot_role: 'main',
          content_model: 'wikitext',
          content_format: 'text/x-wiki',
          content_sha1: 'c3a1c1d1e7b9e4b2f0a0d7e1f2a3b4c5d6e7f8a9',
          content_size: size,
          origin_rev_id: f.revId,
        },
      },
    },
    wiki_id: f.wiki.wikiId,
  };
  if (f.kind === 'move') {
    event.prior_state = { page: { page_title: `Old_${f.pageId}`, namespace_id: 0 } };
  } else if (f.kind === 'visibility_change') {
    event.prior_state = {
      revision: { is_content_visible: true, is_comment_visible: true, is_editor_visible: true },
    };
  }
  return event;
}

/** The `mediawiki/page/change` 1.2.0 validator, set up as the service sets it up. */
export function pageChangeValidator(
  schemaDir: string,
): Promise<(value: unknown) => { valid: boolean; message?: string }> {
  const repository = new SchemaRepository({ baseUris: [pathToFileURL(schemaDir).href] });
  return new Validator(repository).forSchema(PAGE_CHANGE_SCHEMA);
}

/** Throws unless the first `count` lines are valid page/change 1.2.0 events. */
export async function checkCorpus(lines: readonly string[], schemaDir: string, count = 100): Promise<void> {
  const validate = await pageChangeValidator(schemaDir);
  for (const [i, line] of lines.slice(0, count).entries()) {
    const result = validate(JSON.parse(line));
    if (!result.valid) throw new Error(`corpus event ${i} is invalid: ${result.message ?? ''}\n${line}`);
  }
}
