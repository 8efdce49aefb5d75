/**
 * The inputs of the Kafka end-to-end tests: page_change edit events identified by
 * `meta.request_id` (`e2e-<n>`), which the outputs keep and error events carry inside `raw_event`;
 * the revisions the test API serves for them; and their way onto the input topic (kcat).
 */
import { deepMerge, pageChangeEvent } from './events.js';
import { kcatProduce } from './kcat.js';
import type { MisbehavingApi } from './misbehaving-api.js';
import { seeded } from './random.js';

export type Json = Record<string, unknown>;

export const WIKI_ID = 'enwiki';

export interface Input {
  /** `meta.request_id`, or for a line that is not an event, a marker inside the line. */
  readonly id: string;
  readonly pageId: number;
  /** 0 for a line that is not an event. */
  readonly revId: number;
  /** The message key as produced: `{"wiki_id":…,"page_id":…}`. */
  readonly key: string;
  /** The message value as produced. */
  readonly value: string;
  /** `dt` in milliseconds (0 when the line is not an event). */
  readonly dtMs: number;
}

export function messageKey(pageId: number, wikiId = WIKI_ID): string {
  return JSON.stringify({ wiki_id: wikiId, page_id: pageId });
}

const DT_BASE = Date.parse('2025-01-01T00:00:00Z');

/**
 * One edit event: revision `revId` of page `pageId`, `meta.request_id` = `id`, `dt` a distinct
 * second per revision (so record timestamps can be checked against it). `meta.dt` stays in the past,
 * so a missing revision is not retried as "recent".
 */
export function editEvent(id: string, pageId: number, revId: number, overrides: Json = {}): Input {
  const dtMs = DT_BASE + revId * 1000;
  const dt = new Date(dtMs).toISOString().replace('.000Z', 'Z');
  const base = pageChangeEvent({
    dt,
    meta: { request_id: id, uri: `https://en.wikipedia.org/wiki/Page_${pageId}` },
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    revision: {
      rev_id: revId,
      rev_parent_id: revId - 1,
      rev_dt: dt,
      content_slots: { main: { origin_rev_id: revId } },
    },
  });
  const event = deepMerge(base, overrides);
  // meta.id is a required uuid: derive a distinct one from the revision id.
  (event.meta as Json).id = `00000000-0000-4000-8000-${revId.toString(16).padStart(12, '0')}`;
  return { id, pageId, revId, key: messageKey(pageId), value: JSON.stringify(event), dtMs };
}

/**
 * `count` edits spread over `pages` pages in a seeded random order of pages; revision ids grow with
 * the input index, so per page they grow in input order. Ids are `e2e-<index>`.
 */
export function pageChanges(
  count: number,
  options: { pages: number; seed?: number; firstRevId?: number },
): Input[] {
  const random = seeded(options.seed ?? 1);
  const first = options.firstRevId ?? 1000;
  return Array.from({ length: count }, (_, i) =>
    editEvent(`e2e-${i}`, 1 + Math.floor(random() * options.pages), first + i),
  );
}

/** The revision ids of every `n`th input (the last of each `n`): ones to leave out of the API. */
export function everyNth(inputs: readonly Input[], n: number): Set<number> {
  return new Set(inputs.filter((_, i) => i % n === n - 1).map((i) => i.revId));
}

/** Content the API serves for a revision: derived from the id, so every output can be checked. */
export function contentOf(revId: number): string {
  return `content of revision ${revId} ${'x'.repeat(revId % 97)}`;
}

/**
 * Stores every input's revision in the API (except those listed, which the API reports missing),
 * with `contentOf` its revision id unless `content` says otherwise.
 */
export function addRevisions(
  api: MisbehavingApi,
  inputs: readonly Pick<Input, 'pageId' | 'revId'>[],
  options: { missing?: ReadonlySet<number>; content?: (revId: number) => string } = {},
): void {
  for (const input of inputs) {
    if (input.revId === 0 || options.missing?.has(input.revId)) continue;
    api.addRevision({
      revId: input.revId,
      pageId: input.pageId,
      title: `Page_${input.pageId}`,
      slots: { main: { content: (options.content ?? contentOf)(input.revId) } },
    });
  }
}

/** Produces the inputs with kcat in chunks (the default partitioner spreads keys over partitions). */
export async function produceInputs(
  bootstrap: string,
  topic: string,
  inputs: readonly Input[],
): Promise<void> {
  for (let i = 0; i < inputs.length; i += 5000) {
    await kcatProduce(
      bootstrap,
      topic,
      inputs.slice(i, i + 5000).map((input) => ({ key: input.key, value: input.value })),
    );
  }
}
