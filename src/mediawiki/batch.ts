import { isEnrichmentError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import type { WikiTarget } from './endpoint.js';
import { FetcherClosedError } from './errors.js';
import { decide, type RetryPolicy } from './retry-policy.js';
import type { RevisionResult } from './revisions.js';
import type { RevisionContent } from './types.js';

/**
 * Fetches one batch of distinct ids for one wiki; one result per id. Rejects only for non-input
 * failures. A revision found before the batch ends (an answer continued over several requests) may
 * be handed to `found` at once: its result in the final map is then not read.
 */
export type BatchRunner = (
  target: WikiTarget,
  revIds: readonly number[],
  found?: (revision: RevisionContent) => void,
) => Promise<ReadonlyMap<number, RevisionResult>>;

export interface BatcherOptions {
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly retry: RetryPolicy;
  /** Batches running at once (each runs its requests one after another). @default unbounded */
  readonly maxConcurrentRequests?: number;
}

export interface BatcherDeps {
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly random: () => number;
}

/** One fetch waiting for its revision. Each keeps its own attempt count, so retries are per revision. */
interface Entry {
  readonly target: WikiTarget;
  readonly revId: number;
  readonly ingestedAtMs: number;
  /** Requests this entry has been part of so far. */
  attempts: number;
  readonly resolve: (revision: RevisionContent) => void;
  readonly reject: (error: unknown) => void;
}

interface OpenBatch {
  readonly key: string;
  readonly target: WikiTarget;
  readonly entries: Entry[];
  readonly ids: Set<number>;
  readonly timer: NodeJS.Timeout;
  /** Full, or its linger is over: waiting for a request slot (and still taking ids until full). */
  ready: boolean;
}

/**
 * Collects revision ids per wiki until `batchSize` distinct ids or `lingerMs` have passed; the batch
 * is then ready, and runs as soon as one of the `maxConcurrentRequests` slots is free, in the order
 * the batches became ready. A ready batch that is not full keeps taking its wiki's ids while it waits
 * for a slot: when the API is slow, requests fill up instead of queueing by the hundred with one or
 * two ids each (a batch sent at the end of its linger whatever the load made a 50 ms API answer about
 * two revisions per request).
 *
 * The unit of retry is the revision: a failed result schedules that entry alone after its backoff,
 * and it then joins whatever batch of its wiki is open. Entries asking for the same id in one batch
 * share its result.
 */
export class RevisionBatcher {
  /** The batch of each wiki that still takes ids (ready or not). */
  private readonly open = new Map<string, OpenBatch>();
  /** Ready batches waiting for a slot, oldest first. */
  private readonly ready: OpenBatch[] = [];
  private running = 0;
  /** Woken when the batcher stops being saturated (see `whenUnsaturated`). */
  private unsaturated: { promise: Promise<void>; wake: () => void } | undefined;
  private readonly retryTimers = new Map<NodeJS.Timeout, Entry>();
  private closedWith: unknown;

  constructor(
    private readonly options: BatcherOptions,
    private readonly run: BatchRunner,
    private readonly deps: BatcherDeps,
  ) {}

  submit(target: WikiTarget, revId: number, ingestedAtMs: number): Promise<RevisionContent> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.enqueue({ target, revId, ingestedAtMs, attempts: 0, resolve, reject });
    });
  }

  /** Clears every timer and rejects every fetch that is not in a request with `error`. */
  close(error: unknown = new FetcherClosedError()): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = error;
    for (const batch of this.waiting()) {
      clearTimeout(batch.timer);
      for (const entry of batch.entries) entry.reject(error);
    }
    this.open.clear();
    this.ready.length = 0;
    this.wakeIfUnsaturated();
    for (const [timer, entry] of this.retryTimers) {
      clearTimeout(timer);
      entry.reject(error);
    }
    this.retryTimers.clear();
  }

  /**
   * Saturated: every request slot is taken and the batch that gets the next one is already full.
   * Another fetch can then not make the next request any larger, only the queue longer, so a
   * caller reading ahead may wait for the promise (undefined when not saturated) instead of
   * holding more records in memory. While the next batch is not full, more fetches fill it: that
   * read-ahead is what makes requests to a slow API carry many revisions.
   */
  whenUnsaturated(): Promise<void> | undefined {
    if (!this.saturated()) return undefined;
    if (this.unsaturated === undefined) {
      let wake!: () => void;
      const promise = new Promise<void>((resolve) => (wake = resolve));
      this.unsaturated = { promise, wake };
    }
    return this.unsaturated.promise;
  }

  /** Batches that may run at once. */
  private get slots(): number {
    return this.options.maxConcurrentRequests ?? Number.POSITIVE_INFINITY;
  }

  private saturated(): boolean {
    const next = this.ready[0];
    return (
      this.closedWith === undefined &&
      this.running >= this.slots &&
      next !== undefined &&
      next.ids.size >= this.options.batchSize
    );
  }

  private wakeIfUnsaturated(): void {
    if (this.unsaturated === undefined || this.saturated()) return;
    const { wake } = this.unsaturated;
    this.unsaturated = undefined;
    wake();
  }

  /** Fetches waiting in batches not yet running or for a retry (not those in a request). */
  get pending(): number {
    let n = this.retryTimers.size;
    for (const batch of this.waiting()) n += batch.entries.length;
    return n;
  }

  /** Every batch not yet running: the open ones and the ready ones no longer open (full). */
  private waiting(): Set<OpenBatch> {
    return new Set([...this.open.values(), ...this.ready]);
  }

  private enqueue(entry: Entry): void {
    const key = entry.target.key;
    let batch = this.open.get(key);
    if (batch === undefined) {
      const timer = setTimeout(() => this.markReady(batch!), this.options.lingerMs);
      batch = { key, target: entry.target, entries: [], ids: new Set(), timer, ready: false };
      this.open.set(key, batch);
    }
    batch.entries.push(entry);
    batch.ids.add(entry.revId);
    if (batch.ids.size >= this.options.batchSize) {
      // Full: the next id of this wiki starts another batch.
      this.open.delete(key);
      this.markReady(batch);
    }
  }

  private markReady(batch: OpenBatch): void {
    clearTimeout(batch.timer);
    if (batch.ready) return;
    batch.ready = true;
    this.ready.push(batch);
    this.dispatch();
  }

  /** Runs ready batches while slots are free. */
  private dispatch(): void {
    while (this.running < this.slots && this.closedWith === undefined) {
      const batch = this.ready.shift();
      if (batch === undefined) break;
      if (this.open.get(batch.key) === batch) this.open.delete(batch.key);
      this.running += 1;
      const done = () => {
        this.running -= 1;
        this.dispatch();
      };
      this.start(batch).then(done, done);
    }
    this.wakeIfUnsaturated();
  }

  private start(batch: OpenBatch): Promise<void> {
    for (const entry of batch.entries) entry.attempts += 1;
    const ids = [...batch.ids];
    this.deps.metrics.observe('mediawiki_batch_revisions', ids.length);
    // Revisions found early are passed on at once, so that a batch continued over many requests
    // (large contents) does not hold every answer until its last one.
    const settled = new Set<number>();
    const found = (revision: RevisionContent) => {
      if (settled.has(revision.revId) || !batch.ids.has(revision.revId)) return;
      settled.add(revision.revId);
      for (const entry of batch.entries) if (entry.revId === revision.revId) entry.resolve(revision);
    };
    return this.run(batch.target, ids, found).then(
      (results) => {
        for (const entry of batch.entries) {
          if (!settled.has(entry.revId)) this.settle(entry, results.get(entry.revId));
        }
      },
      (error: unknown) => {
        for (const entry of batch.entries) entry.reject(error);
      },
    );
  }

  private settle(entry: Entry, result: RevisionResult | undefined): void {
    if (result === undefined) {
      entry.reject(new Error(`batch runner returned no result for revision ${entry.revId}`));
      return;
    }
    if (result.ok) {
      entry.resolve(result.revision);
      return;
    }
    const decision = decide(
      result.error,
      entry.attempts,
      this.options.retry,
      { nowMs: this.deps.now(), ingestedAtMs: entry.ingestedAtMs },
      this.deps.random,
    );
    if (!decision.retry) {
      entry.reject(result.error);
      return;
    }
    // After close a retry would never run: the fetch has no outcome, which is not the error's to give.
    if (this.closedWith !== undefined) {
      entry.reject(this.closedWith);
      return;
    }
    this.deps.metrics.count('mediawiki_retries_total', {
      reason: isEnrichmentError(result.error) ? result.error.type : 'unknown',
    });
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.enqueue(entry);
    }, decision.delayMs);
    this.retryTimers.set(timer, entry);
  }
}
