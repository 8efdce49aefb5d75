import type { RecentChange, RevisionFacts } from './answers.js';
import {
  pageChangeEvent,
  planRow,
  revisionEntity,
  visibilityPriorState,
  type PageChangeKind,
  type WikiContext,
} from './mapping.js';

type Json = Record<string, unknown>;

/** The lookups a log row may need: the rows themselves do not carry the revision they concern. */
export interface RevisionLookup {
  /** The visible revisions among `ids` (deleted ones are absent), by id. */
  revisions(ids: readonly number[]): Promise<Map<number, RevisionFacts>>;
  /** The page's latest revision made at or before `timestamp`, if the page exists and has one. */
  latestAt(pageId: number, timestamp: string): Promise<RevisionFacts | undefined>;
}

/**
 * The latest revision of recently changed pages, as the events announced it: a deletion's row
 * names no revision, and once a page is deleted the API shows its revisions to nobody without the
 * `deletedhistory` right. Bounded: the least recently changed pages are forgotten first.
 */
export class LatestRevisions {
  private readonly entries = new Map<number, Json>();

  constructor(readonly capacity = 10_000) {}

  get(pageId: number): Json | undefined {
    return this.entries.get(pageId);
  }

  set(pageId: number, revision: Json): void {
    this.entries.delete(pageId);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(pageId, revision);
  }

  /** Sets `revision` unless a later one (by id) is known: a row written late names an older revision. */
  offer(pageId: number, revision: Json): void {
    const known = this.entries.get(pageId)?.rev_id;
    if (typeof known === 'number' && known > (revision.rev_id as number)) return;
    this.set(pageId, revision);
  }

  delete(pageId: number): void {
    this.entries.delete(pageId);
  }

  has(pageId: number): boolean {
    return this.entries.has(pageId);
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface DerivedEvent {
  /** Its index among the events the row stands for (a revision deletion of several revisions). */
  readonly index: number;
  readonly event: Json;
}

export interface Derived {
  /** The row's events, in order. */
  readonly events: DerivedEvent[];
  /** Events the row stands for that could not be derived, and why (for the log). */
  readonly underivable: string[];
}

/**
 * The events of one row. Create and edit rows carry their revision; a move's null revision, an
 * undeletion's latest revision and the revisions of a revision deletion are looked up; a deletion
 * takes the latest revision `latest` knows for the page. What cannot be had (the revision is gone
 * by the time it is asked for, a deleted page no row announced) is reported, not invented.
 */
export async function deriveEvents(
  row: RecentChange,
  wiki: WikiContext,
  lookup: RevisionLookup,
  latest: LatestRevisions,
  derivedAt: Date,
): Promise<Derived> {
  const plan = planRow(row);
  const page = { id: row.pageid, ns: row.ns, title: row.title };
  const event = (
    kind: PageChangeKind,
    revision: Json,
    index = 0,
    priorState?: Json,
    at = page,
  ): DerivedEvent => ({
    index,
    event: pageChangeEvent(wiki, {
      row,
      kind,
      index,
      page: at,
      revision,
      derivedAt,
      ...(priorState && { priorState }),
    }),
  });
  switch (plan.kind) {
    case 'create':
    case 'edit': {
      const revision = revisionEntity(plan.revision);
      latest.offer(row.pageid, revision);
      return { events: [event(plan.kind, revision)], underivable: [] };
    }
    case 'move': {
      const facts = (await lookup.revisions([plan.revid])).get(plan.revid);
      if (!facts) return gone(`move of page ${row.pageid}: its null revision ${plan.revid} is not visible`);
      const revision = revisionEntity(facts);
      latest.offer(row.pageid, revision);
      const moved = { id: row.pageid, ns: plan.target.ns, title: plan.target.title };
      const prior = {
        page: {
          page_title: row.title.replaceAll(' ', '_'),
          ...(row.ns !== plan.target.ns && { namespace_id: row.ns }),
        },
      };
      return { events: [event('move', revision, 0, prior, moved)], underivable: [] };
    }
    case 'delete': {
      const revision = latest.get(row.pageid);
      latest.delete(row.pageid);
      if (!revision) {
        return gone(`delete of page ${row.pageid}: its latest revision was in no row this source read`);
      }
      return { events: [event('delete', revision)], underivable: [] };
    }
    case 'undelete': {
      const facts = await lookup.latestAt(row.pageid, row.timestamp);
      if (!facts) return gone(`undelete of page ${row.pageid}: the page has no visible revision now`);
      const revision = revisionEntity(facts);
      latest.set(row.pageid, revision);
      return { events: [event('undelete', revision)], underivable: [] };
    }
    case 'visibility_change': {
      const found = await lookup.revisions(plan.revids);
      const prior = visibilityPriorState(plan.before, plan.after);
      const events: DerivedEvent[] = [];
      const underivable: string[] = [];
      for (const [index, id] of plan.revids.entries()) {
        const facts = found.get(id);
        if (!facts) {
          underivable.push(`visibility_change of revision ${id}: the revision is not visible`);
          continue;
        }
        const revision = revisionEntity(facts, plan.after);
        if (latest.get(row.pageid)?.rev_id === id) latest.set(row.pageid, revision);
        events.push(event('visibility_change', revision, index, prior));
      }
      return { events, underivable };
    }
    case 'none': {
      // A protection makes a null revision, which becomes the page's latest: a later deletion must
      // name it.
      if (row.revid > 0 && latest.has(row.pageid)) {
        const facts = (await lookup.revisions([row.revid])).get(row.revid);
        if (facts) latest.offer(row.pageid, revisionEntity(facts));
      }
      return { events: [], underivable: [] };
    }
  }
}

function gone(why: string): Derived {
  return { events: [], underivable: [why] };
}
