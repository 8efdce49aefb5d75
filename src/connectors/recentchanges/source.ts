import type { Logger } from 'pino';
import type { HttpRoutes } from '../../core/http-routes.js';
import type { Metrics } from '../../core/metrics.js';
import { noWaits, type Waits } from '../../core/waits.js';
import { PositionFile } from '../position-file.js';
import type { Source, SourceRecord } from '../types.js';
import {
  parseRecentChanges,
  parseRevisions,
  parseSiteInfo,
  revisionOfRow,
  wikiSeconds,
  wikiTimestamp,
  type RecentChange,
  type RevisionFacts,
  type SiteInfo,
} from './answers.js';
import { deriveEvents, LatestRevisions, type RevisionLookup } from './derive.js';
import { eventKeyOf, pageUrlFor, revisionEntity, type WikiContext } from './mapping.js';
import type { RecentChangesOptions } from './options.js';
import { abortableSleep } from '../../core/abortable-sleep.js';
import { StoppedError, untilAnswered } from './patience.js';
import { WikiApi } from './wiki-api.js';
import { parsePosition, RowWindow, type Position, type RowKey } from './window.js';

/**
 * `rcprop`: what the mapping reads. `redirect` and `tags` are not asked for: `redirect` is the
 * title's state now, not at the time of the change, and page/change has no field for tags.
 */
const RCPROP = 'ids|title|timestamp|user|userid|comment|flags|sizes|loginfo|sha1';
const RVPROP = 'ids|timestamp|flags|size|sha1|user|userid|comment';
/** `revids` per request without `apihighlimits`. */
const REVIDS_PER_REQUEST = 50;
/** Rows read back at start, before the position, to know the latest revision of recently edited pages. */
const WARM_UP_ROWS = 2000;
/** Largest answer read: 500 rows are about 250 KB. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface RecentChangesSourceDeps {
  /** `meta.stream` of the events: the configured source stream. */
  readonly stream: string;
  readonly routes: HttpRoutes;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly waits?: Waits;
  /** The time of derivation (`meta.dt`). */
  readonly now?: () => Date;
  /** Backoff while the wiki cannot be reached. */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
}

/** A yielded record (or a row without any), waiting for the runtime's commit to cover it. */
interface Pending {
  /** The record's offset; for a row without records, the offset of the last record before it. */
  readonly offset: number;
  readonly key: RowKey;
  /** The event's index in its row; -1 for a row without records. */
  readonly index: number;
  /** Whether it is the row's last record: the row is done once it is committed. */
  readonly last: boolean;
}

/**
 * `connector: mediawiki_recentchanges`: page_change events derived from a wiki's recent changes
 * (`list=recentchanges`, any MediaWiki, no EventBus needed). Polls every `poll_interval_ms`, reading
 * again an overlap behind the newest row for rows written late (`RowWindow`); one partition, whose
 * offsets count the records of this run. The durable position is the window of the rows the runtime
 * committed, saved in `position_file` after each commit: a restart neither skips nor repeats a row.
 */
export class RecentChangesSource implements Source {
  readonly partition: string;
  private readonly api: WikiApi;
  private readonly stopping = new AbortController();
  private readonly positionFile: PositionFile<Position> | undefined;
  private readonly latest = new LatestRevisions();
  private readonly pending: Pending[] = [];
  private readonly now: () => Date;
  private readonly waits: Waits;
  private live: RowWindow | undefined;
  private committed: RowWindow | undefined;
  private wikiId: string | undefined;
  /** The offset the next record gets. */
  private nextOffset = 0;
  /** The runtime's latest commit: every record below it is done. */
  private committedNext = 0;
  private iterated = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: RecentChangesOptions,
    private readonly deps: RecentChangesSourceDeps,
  ) {
    this.partition = `recentchanges ${options.apiUrl}`;
    this.api = new WikiApi({
      apiUrl: options.apiUrl,
      routes: deps.routes,
      userAgent: options.userAgent,
      timeoutMs: options.requestTimeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    });
    this.positionFile =
      options.positionFile === undefined ? undefined : new PositionFile(options.positionFile, parsePosition);
    this.now = deps.now ?? (() => new Date());
    this.waits = deps.waits ?? noWaits;
  }

  async *records(): AsyncIterable<SourceRecord> {
    if (this.iterated) throw new Error('RecentChangesSource.records() can only be iterated once');
    this.iterated = true;
    try {
      const wiki = await this.start();
      while (!this.stopping.signal.aborted) {
        yield* this.poll(wiki);
        await this.saveIfIdle();
        await abortableSleep(this.options.pollIntervalMs, this.stopping.signal);
      }
    } catch (err) {
      if (err instanceof StoppedError || this.stopping.signal.aborted) return;
      throw err;
    }
  }

  /** The wiki's identity, the starting window (saved or from `since`), and what rows before it tell. */
  private async start(): Promise<WikiContext> {
    const site = parseSiteInfo(await this.ask({ action: 'query', meta: 'siteinfo', siprop: 'general' }));
    if (/^[\d.]+$|:/.test(site.serverName)) {
      this.deps.logger.warn(
        { servername: site.serverName },
        "the wiki's server name is an address, not a host name: the events' meta.domain names no wiki the enrichment accepts; give $wgServer a host name and map it with http_client_routes",
      );
    }
    const saved = await this.positionFile?.load();
    if (saved && saved.wiki_id !== site.wikiId) {
      throw new Error(
        `${this.options.positionFile} holds a position in wiki ${saved.wiki_id}, but ${this.options.apiUrl} is wiki ${site.wikiId}`,
      );
    }
    const limits = { overlapSeconds: this.options.overlapSeconds, maxRows: this.options.maxWindowRows };
    this.wikiId = site.wikiId;
    this.committed = saved
      ? RowWindow.fromPosition(saved, limits)
      : new RowWindow(this.startKey(site), limits);
    this.live = RowWindow.fromPosition(this.committed.toPosition(site.wikiId), limits);
    // A first start keeps its starting point at once: `since: now` must mean the first start's now.
    if (!saved) await this.save();
    this.deps.logger.info(
      {
        wiki_id: site.wikiId,
        domain: site.serverName,
        from: wikiTimestamp(this.live.startSeconds),
        resumed: saved !== undefined,
      },
      'reading recent changes',
    );
    await this.warmUp();
    return {
      wikiId: site.wikiId,
      domain: site.serverName,
      stream: this.deps.stream,
      pageUrl: pageUrlFor(site.canonicalOrigin, site.articlePath),
    };
  }

  private startKey(site: SiteInfo): RowKey {
    const since = this.options.since;
    if (since.kind === 'earliest') return { ts: 0, rcid: 0 };
    return { ts: wikiSeconds(since.kind === 'now' ? site.time : since.timestamp)!, rcid: 0 };
  }

  /**
   * Reads rows before the starting point back (newest first) to learn the latest revision of the
   * pages edited there: a deletion's row names no revision, and a deletion of a page edited before
   * a restart must still name it.
   */
  private async warmUp(): Promise<void> {
    const start = this.live!.startSeconds;
    if (start === 0) return;
    let continueParams: Readonly<Record<string, string>> | undefined;
    let read = 0;
    do {
      const page = parseRecentChanges(
        await this.ask({
          action: 'query',
          list: 'recentchanges',
          rctype: 'edit|new',
          rcdir: 'older',
          rcstart: wikiTimestamp(start),
          rcprop: RCPROP,
          rclimit: String(this.options.batchSize),
          ...continueParams,
        }),
      );
      for (const row of page.rows) {
        if (!this.latest.has(row.pageid)) this.latest.set(row.pageid, revisionEntity(revisionOfRow(row)));
      }
      read += page.rows.length;
      continueParams = page.continueParams;
    } while (continueParams && read < WARM_UP_ROWS);
  }

  /** One poll: every row from the window's start on, continued to the end; new rows become records. */
  private async *poll(wiki: WikiContext): AsyncGenerator<SourceRecord> {
    const live = this.live!;
    const start = live.startSeconds;
    const lookup = this.lookup();
    let continueParams: Readonly<Record<string, string>> | undefined;
    do {
      const page = parseRecentChanges(
        await this.ask({
          action: 'query',
          list: 'recentchanges',
          rctype: 'edit|new|log',
          rcdir: 'newer',
          rcprop: RCPROP,
          rclimit: String(this.options.batchSize),
          ...(start > 0 && { rcstart: wikiTimestamp(start) }),
          ...continueParams,
        }),
      );
      for (const row of page.rows) {
        const key = { ts: wikiSeconds(row.timestamp)!, rcid: row.rcid };
        if (!live.isNew(key)) continue;
        yield* this.emitRow(row, key, wiki, lookup);
        if (this.stopping.signal.aborted) return;
      }
      continueParams = page.continueParams;
    } while (continueParams && !this.stopping.signal.aborted);
  }

  private async *emitRow(
    row: RecentChange,
    key: RowKey,
    wiki: WikiContext,
    lookup: RevisionLookup,
  ): AsyncGenerator<SourceRecord> {
    const live = this.live!;
    const derived = await deriveEvents(row, wiki, lookup, this.latest, this.now());
    for (const why of derived.underivable) {
      this.deps.logger.warn(
        { rcid: row.rcid, title: row.title, timestamp: row.timestamp },
        `recent change left out: ${why}`,
      );
    }
    // After a restart, the events of a row whose first events were committed before it.
    const done = live.partial?.rcid === row.rcid ? live.partial.lastIndex : -1;
    const events = derived.events.filter((e) => e.index > done);
    if (events.length === 0) {
      this.pending.push({ offset: this.nextOffset - 1, key, index: -1, last: true });
    }
    for (const [i, { index, event }] of events.entries()) {
      const offset = this.nextOffset++;
      this.pending.push({ offset, key, index, last: i === events.length - 1 });
      const page = event.page as { page_id: number };
      yield {
        partition: this.partition,
        offset,
        key: Buffer.from(eventKeyOf(wiki.wikiId, page.page_id)),
        value: Buffer.from(JSON.stringify(event)),
        timestamp: Date.parse(row.timestamp),
      };
    }
    live.add(key);
  }

  /** Revision lookups for log rows, each request waiting for the wiki as polls do. */
  private lookup(): RevisionLookup {
    return {
      revisions: async (ids) => {
        const found = new Map<number, RevisionFacts>();
        for (let at = 0; at < ids.length; at += REVIDS_PER_REQUEST) {
          const revids = ids.slice(at, at + REVIDS_PER_REQUEST).join('|');
          let continueParams: Readonly<Record<string, string>> | undefined;
          let requests = 0;
          do {
            const answer = parseRevisions(
              await this.ask({
                action: 'query',
                prop: 'revisions',
                revids,
                rvprop: RVPROP,
                ...continueParams,
              }),
            );
            for (const [id, facts] of answer.revisions) found.set(id, facts);
            continueParams = answer.continueParams;
          } while (continueParams && ++requests < REVIDS_PER_REQUEST);
        }
        return found;
      },
      latestAt: async (pageId, timestamp) => {
        const answer = parseRevisions(
          await this.ask({
            action: 'query',
            prop: 'revisions',
            pageids: String(pageId),
            rvlimit: '1',
            rvdir: 'older',
            rvstart: timestamp,
            rvprop: RVPROP,
          }),
        );
        return [...answer.revisions.values()][0];
      },
    };
  }

  private ask(params: Readonly<Record<string, string>>): Promise<Record<string, unknown>> {
    const signal = this.stopping.signal;
    return untilAnswered(() => this.api.get(params, signal), {
      waits: this.waits,
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      signal,
      part: `recent changes of ${this.options.apiUrl}`,
      ...(this.deps.backoff && { backoff: this.deps.backoff }),
    });
  }

  /**
   * Every record up to `nextOffsets` is done: the rows they came from join the committed window,
   * which is saved (atomically) before the commit resolves.
   */
  async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    const next = nextOffsets.get(this.partition);
    if (next === undefined || next <= this.committedNext) return;
    this.committedNext = next;
    this.applyCommitted(next);
    await this.save();
  }

  private applyCommitted(next: number): void {
    const committed = this.committed!;
    while (this.pending.length > 0 && this.pending[0]!.offset < next) {
      const item = this.pending.shift()!;
      if (item.last) committed.add(item.key);
      else committed.partial = { rcid: item.key.rcid, lastIndex: item.index };
    }
  }

  /**
   * After a poll, with every record yielded so far committed: rows that made no record (a
   * protection, a row read again) join the committed window too, so that a quiet wiki's position
   * still moves.
   */
  private async saveIfIdle(): Promise<void> {
    if (this.committedNext !== this.nextOffset) return;
    this.applyCommitted(this.nextOffset);
    await this.save();
  }

  private async save(): Promise<void> {
    if (!this.positionFile || !this.committed || this.wikiId === undefined) return;
    await this.positionFile.save(this.committed.toPosition(this.wikiId));
  }

  stop(): void {
    this.stopping.abort();
  }

  async close(): Promise<void> {
    this.closing ??= this.api.close();
    await this.closing;
  }
}
