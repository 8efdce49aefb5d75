import { wikiSeconds, wikiTimestamp } from './answers.js';

/** A row's place in the order of recent changes: `(rc_timestamp, rc_id)`. */
export interface RowKey {
  /** Seconds since the epoch (the wiki's timestamps have whole seconds). */
  readonly ts: number;
  readonly rcid: number;
}

function compare(a: RowKey, b: RowKey): number {
  return a.ts - b.ts || a.rcid - b.rcid;
}

/**
 * The durable position of the recent-changes source, as its position file holds it:
 *
 *     {"wiki_id":"enwiki","floor":{"timestamp":"2026-11-29T16:26:32Z","rcid":0},
 *      "seen":[["2026-11-29T16:27:30Z",3],["2026-11-29T16:27:30Z",4]],
 *      "partial":{"rcid":16,"last_index":0}}
 *
 * Rows at or below `floor` are done; `seen` are the rows above it already emitted; `partial` is a
 * row with several events (a revision deletion of several revisions) whose first events, up to
 * `last_index`, are done.
 */
export interface Position {
  readonly wiki_id: string;
  readonly floor: { readonly timestamp: string; readonly rcid: number };
  readonly seen: ReadonlyArray<readonly [string, number]>;
  readonly partial?: { readonly rcid: number; readonly last_index: number };
}

export interface WindowLimits {
  /** How far behind the newest emitted row rows are still recognised (and read again). */
  readonly overlapSeconds: number;
  /** Most rows remembered; the oldest are given up first. */
  readonly maxRows: number;
}

/**
 * Which rows are done. The wiki writes a row after its action's transaction, with the action's
 * time, so a row can appear behind rows already read; each poll therefore reads again from `floor`
 * (the newest emitted row's time minus the overlap) and skips the rows it remembers by `rcid`.
 *
 * Invariants: every emitted row is either at or below `floor` or in `seen`; every row above
 * `floor` that is not in `seen` has not been emitted. `floor` only rises: to the overlap's start as
 * the newest row moves on, or to a row given up when more than `maxRows` are remembered (a row
 * written later behind it is then missed: the price of bounded memory). The same rows added in the
 * same order give the same window, so the window of the committed rows (saved) never claims a row
 * that the running window emitted but the runtime did not yet commit.
 */
export class RowWindow {
  private floorKey: RowKey;
  /** Emitted rows above the floor, in key order. */
  private readonly seen: RowKey[] = [];
  private readonly ids = new Set<number>();
  partial: { rcid: number; lastIndex: number } | undefined;

  constructor(
    floor: RowKey,
    private readonly limits: WindowLimits,
  ) {
    this.floorKey = floor;
  }

  /** A window from a saved position (already checked by `parsePosition`). */
  static fromPosition(position: Position, limits: WindowLimits): RowWindow {
    const window = new RowWindow(
      { ts: wikiSeconds(position.floor.timestamp)!, rcid: position.floor.rcid },
      limits,
    );
    for (const [timestamp, rcid] of position.seen) window.add({ ts: wikiSeconds(timestamp)!, rcid });
    if (position.partial) {
      window.partial = { rcid: position.partial.rcid, lastIndex: position.partial.last_index };
    }
    return window;
  }

  /** Where the next poll starts reading (`rcstart`, inclusive), in seconds. */
  get startSeconds(): number {
    return this.floorKey.ts;
  }

  get floor(): RowKey {
    return this.floorKey;
  }

  /** The newest emitted row, or the floor when none is remembered. */
  get newest(): RowKey {
    return this.seen[this.seen.length - 1] ?? this.floorKey;
  }

  get size(): number {
    return this.seen.length;
  }

  /** Whether the row is still to be emitted. */
  isNew(key: RowKey): boolean {
    return compare(key, this.floorKey) > 0 && !this.ids.has(key.rcid);
  }

  /** Marks the row done (all its events emitted). */
  add(key: RowKey): void {
    if (this.partial?.rcid === key.rcid) this.partial = undefined;
    if (!this.isNew(key)) return;
    // Rows come in key order but for late ones: search from the end.
    let at = this.seen.length;
    while (at > 0 && compare(this.seen[at - 1]!, key) > 0) at--;
    this.seen.splice(at, 0, key);
    this.ids.add(key.rcid);
    const overlapStart = this.newest.ts - this.limits.overlapSeconds;
    while (this.seen.length > 0 && this.seen[0]!.ts < overlapStart) this.forget();
    this.raise({ ts: overlapStart, rcid: 0 });
    while (this.seen.length > this.limits.maxRows) this.raise(this.forget());
  }

  private forget(): RowKey {
    const oldest = this.seen.shift()!;
    this.ids.delete(oldest.rcid);
    return oldest;
  }

  private raise(key: RowKey): void {
    if (compare(key, this.floorKey) > 0) this.floorKey = key;
  }

  toPosition(wikiId: string): Position {
    return {
      wiki_id: wikiId,
      floor: { timestamp: wikiTimestamp(this.floorKey.ts), rcid: this.floorKey.rcid },
      seen: this.seen.map((k) => [wikiTimestamp(k.ts), k.rcid] as const),
      ...(this.partial && { partial: { rcid: this.partial.rcid, last_index: this.partial.lastIndex } }),
    };
  }
}

/** Checks a position file's document; throws naming what is wrong. */
export function parsePosition(value: unknown): Position {
  const fail = (what: string): never => {
    throw new Error(`not a recent-changes position: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('not an object');
  const doc = value as Record<string, unknown>;
  if (typeof doc.wiki_id !== 'string' || doc.wiki_id === '') fail('no wiki_id');
  const floor = doc.floor as Record<string, unknown> | undefined;
  if (typeof floor !== 'object' || floor === null || wikiSeconds(floor.timestamp) === undefined) {
    fail('no floor.timestamp');
  }
  if (!isId(floor!.rcid, 0)) fail('no floor.rcid');
  if (!Array.isArray(doc.seen)) fail('no seen list');
  for (const entry of doc.seen as unknown[]) {
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      wikiSeconds(entry[0]) === undefined ||
      !isId(entry[1], 1)
    ) {
      fail(`seen entry ${JSON.stringify(entry)} is not [timestamp, rcid]`);
    }
  }
  if (doc.partial !== undefined) {
    const partial = doc.partial as Record<string, unknown> | null;
    if (
      typeof partial !== 'object' ||
      partial === null ||
      !isId(partial.rcid, 1) ||
      !isId(partial.last_index, 0)
    ) {
      fail('partial is not {rcid, last_index}');
    }
  }
  return doc as unknown as Position;
}

function isId(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
