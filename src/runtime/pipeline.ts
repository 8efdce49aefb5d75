import type { Logger } from 'pino';
import type { Metrics } from '../core/metrics.js';
import {
  isTransactional,
  type Sink,
  type SinkRecord,
  type Source,
  type SourceRecord,
} from '../connectors/types.js';
import { KeyedSequencer } from './keyed-sequencer.js';
import { OffsetTracker } from './offset-tracker.js';
import type { Outcome, OutcomeKind, RecordHandler } from '../jobs/contract.js';
import { OutcomeMetrics } from './outcome-metrics.js';
import { InFlightWindow } from './window.js';
import { controlWindow, type WindowControlOptions } from './window-control.js';

export interface PipelineOptions {
  source: Source;
  sink: Sink;
  errorSink: Sink;
  handler: RecordHandler;
  /** Most records between source and acknowledged outcome. */
  maxInFlight: number;
  /**
   * The window's smallest size: it starts at `maxInFlight`, shrinks toward this while the event
   * loop is saturated and grows back while it has time to spare (window-control.ts).
   * @default maxInFlight (a window of fixed size)
   */
  inFlightFloor?: number;
  /** How the window is sized: the interval, and the loop's utilization (tests set it). */
  windowControl?: Omit<WindowControlOptions, 'floor'>;
  /** Most input (and, once built, output) bytes of the records in flight. @default unbounded */
  maxInFlightBytes?: number;
  /** How often the source position is committed. */
  commitIntervalMs: number;
  /** How long a stop or a revocation waits for records in flight before committing what is done. */
  drainTimeoutMs: number;
  /** `error_event`: an oversize output becomes an error event; `fail`: the job stops. */
  oversizePolicy: 'error_event' | 'fail';
  logger: Logger;
  metrics: Metrics;
}

export interface Summary {
  readonly records: number;
  readonly outcomes: Readonly<Record<OutcomeKind, number>>;
  /** Per outcome kind, its count by reason (`failed`: by error type). */
  readonly reasons: Readonly<Record<OutcomeKind, Readonly<Record<string, number>>>>;
  readonly oversize: number;
  /** The job's own counts (`JobInstance.counts`), added by the runtime after the run. */
  readonly job?: Readonly<Record<string, number>>;
  /** Records whose outcome was still unacknowledged when the pipeline stopped (they will be read again). */
  readonly unfinished: number;
  /** Set when the pipeline stopped because of an infrastructure failure. */
  readonly failure?: string;
}

/**
 * Source → handler → per-key sequencing → sink acknowledgement → commit watermark. The guarantees of
 * design.md: one outcome per input, per-key output order, commits only over acknowledged outcomes,
 * and at most `maxInFlight` records in memory.
 */
export class Pipeline {
  private readonly tracker = new OffsetTracker();
  private readonly window: InFlightWindow;
  private readonly measure: OutcomeMetrics;
  private readonly sequencer = new KeyedSequencer();
  private readonly transactional: boolean;
  private readonly counts = { records: 0, oversize: 0 };
  private readonly outcomes: Record<OutcomeKind, number> = { enriched: 0, passed: 0, dropped: 0, failed: 0 };
  private readonly reasons: Record<OutcomeKind, Record<string, number>> = {
    enriched: {},
    passed: {},
    dropped: {},
    failed: {},
  };
  /**
   * Per partition, how many times it was revoked. A record read before a revocation belongs to an
   * older ownership: it is read again by whoever owns the partition now (this process too, when the
   * partition comes back), so its outcome is not sent and its offset is not marked done.
   */
  private readonly revocations = new Map<string, number>();
  /** Sends issued and not yet settled; a transactional commit waits for them at its barrier. */
  private readonly sending = new Set<Promise<void>>();
  /** While a transactional commit runs, new sends wait for it. */
  private barrier: Promise<void> | undefined;
  private failure: Error | undefined;
  private stopping = false;
  /** Set once the connectors are closed. */
  private closed = false;
  /** Settles on the first `stop()`: ends the unbounded wait for records in flight at the end of the input. */
  private readonly stopRequested: Promise<void>;
  private onStopRequested!: () => void;
  /** The reader waiting for a window slot, woken by a stop. */
  private readonly slotWaiters = new Set<() => void>();
  private lastCommitted = new Map<string, number>();
  private commitChain: Promise<void> = Promise.resolve();

  constructor(private readonly options: PipelineOptions) {
    this.window = new InFlightWindow(options.maxInFlight, options.maxInFlightBytes);
    this.measure = new OutcomeMetrics(options.metrics);
    this.measure.inFlight(this.window);
    this.transactional = isTransactional(options.source);
    this.stopRequested = new Promise((resolve) => (this.onStopRequested = resolve));
  }

  /** Asks the pipeline to stop reading; `run` then drains and resolves. Idempotent. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.onStopRequested();
    for (const wake of this.slotWaiters) wake();
    this.slotWaiters.clear();
    this.options.source.stop();
  }

  async run(): Promise<Summary> {
    const { source, logger } = this.options;
    const timer = setInterval(
      () => void this.commit().catch((err) => this.fail(err)),
      this.options.commitIntervalMs,
    );
    const stopWindowControl = controlWindow(this.window, {
      floor: this.options.inFlightFloor ?? this.options.maxInFlight,
      ...this.options.windowControl,
    });
    try {
      const listener = { onPartitionsRevoked: (partitions: readonly string[]) => this.revoke(partitions) };
      for await (const record of source.records(listener)) {
        if (this.stopping) break;
        const readAt = this.measure.read();
        const ownership = this.revocations.get(record.partition) ?? 0;
        const bytes = record.value.length;
        const wait = this.window.acquire(bytes);
        if (wait) {
          // A stop must not wait for a free slot: the records holding them may never finish (a
          // hanging request), and the drain below is what bounds that wait.
          await this.slotOrStop(wait);
          if (this.stopping) {
            // The slot, once granted, goes back at once.
            void wait.then(() => this.window.release(bytes));
            break;
          }
        }
        if ((this.revocations.get(record.partition) ?? 0) !== ownership) {
          // Its partition was revoked while it waited for a slot: whoever owns the partition now
          // reads it again (this process too, from the commit, if the partition came back).
          this.window.release(bytes);
          continue;
        }
        this.admit(record, ownership, readAt);
        if (this.stopping) break;
        // Records read while the job can make no use of them only wait in memory, where each costs
        // the collector the more, the more there are; the window stays the bound either way.
        const busy = this.options.handler.whenAccepting?.();
        if (busy) await this.slotOrStop(busy);
        if (this.stopping) break;
      }
    } catch (err) {
      this.fail(err);
    } finally {
      // A finite input that ended is no stop: a file without a position file has nothing to resume
      // from, so every record read gets its outcome however long its retries take (the fetcher's
      // timeouts bound them). A stop or a failure, before or during that wait, bounds the rest.
      try {
        if (!this.stopping) await Promise.race([this.window.idle(), this.stopRequested]);
        this.stop();
        await this.drain(this.options.drainTimeoutMs);
      } finally {
        // Even when a source's stop throws: no timer outlives the run.
        clearInterval(timer);
        stopWindowControl();
      }
      try {
        await this.commit();
      } catch (err) {
        this.fail(err);
      }
      await this.closeAll();
      this.closed = true;
    }
    const summary = this.summary();
    logger.info({ summary }, 'pipeline stopped');
    return summary;
  }

  /**
   * Resolves when the window grants the slot or a stop is requested. Not a race with
   * `stopRequested`: every race would leave a reaction on that long-lived promise until the stop,
   * which grew the heap by about 300 bytes per record over a long run.
   */
  private slotOrStop(wait: Promise<void>): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.slotWaiters.add(resolve);
      const go = () => {
        this.slotWaiters.delete(resolve);
        resolve();
      };
      // A wait that fails (a job's whenAccepting should not, but the contract cannot forbid it) is a
      // failure of the run, which stops it; neither an unhandled rejection nor a reader stuck.
      wait.then(go, (err: unknown) => {
        this.fail(err);
        go();
      });
    });
  }

  private admit(record: SourceRecord, ownership: number, readAt: number): void {
    const { handler } = this.options;
    this.counts.records++;
    this.tracker.begin(record.partition, record.offset);
    let held = record.value.length;
    let handled;
    try {
      handled = handler.handle(record);
    } catch (err) {
      this.fail(err);
      this.window.release(held);
      return;
    }
    // The output the input announces is weighed at once, and replaced by the real one as soon as it
    // exists (it may then wait a long time behind its key's predecessor).
    const announced = handled.expectedBytes;
    const expected = announced !== undefined && Number.isFinite(announced) && announced > 0 ? announced : 0;
    if (expected > 0) {
      this.window.charge(expected);
      held += expected;
    }
    const weighed = handled.outcome.then((outcome) => {
      const bytes = outputBytes(outcome) - expected;
      this.window.charge(bytes);
      held += bytes;
      return outcome;
    });
    // Exactly-once commits a transaction at a barrier; outputs must then leave in offset order per
    // partition, or a transaction could hold the output of an input whose offset it does not commit.
    const key = this.transactional ? record.partition : handled.key;
    // A rejection of `weighed` is handled when the record's turn comes; until then, behind an earlier
    // record of its key, it would count as unhandled (and stop the process).
    if (key !== undefined && this.sequencer.busy(key)) weighed.catch(() => undefined);
    const current = () => (this.revocations.get(record.partition) ?? 0) === ownership;
    // Plain callbacks rather than async steps: this chain runs for every record, and each async
    // function or extra link is a promise and a microtask more.
    this.sequencer
      .run(key, () => weighed.then((outcome) => this.emit(record, outcome, current)))
      .then(({ ack, outcome }) =>
        ack.then(() => {
          if (!current()) return;
          this.record(outcome);
          this.measure.acknowledged(record, outcome, readAt);
          this.tracker.done(record.partition, record.offset);
        }),
      )
      .then(
        () => this.window.release(held),
        (err: unknown) => {
          this.fail(err);
          this.window.release(held);
        },
      );
  }

  /** Issues the send of an outcome (in key order) and returns its acknowledgement, not awaited. */
  private emit(record: SourceRecord, outcome: Outcome, current: () => boolean): Emitted | Promise<Emitted> {
    if (this.failure) throw this.failure;
    if (!current()) return { ack: Promise.resolve(), outcome };
    if (this.barrier) return this.afterBarrier().then(() => this.send(record, outcome));
    return this.send(record, outcome);
  }

  private async afterBarrier(): Promise<void> {
    while (this.barrier) await this.barrier;
  }

  private send(record: SourceRecord, outcome: Outcome): Emitted {
    let final = outcome;
    let target: Sink | undefined;
    let out: SinkRecord | undefined;
    if (outcome.kind === 'enriched' || outcome.kind === 'passed') {
      target = this.options.sink;
      out = outcome.output;
      const limit = target.maxRecordBytes;
      if (limit !== undefined && out.value.length > limit) {
        if (this.options.oversizePolicy === 'fail') {
          throw new Error(
            `output of ${record.partition}@${record.offset} is ${out.value.length} bytes, over ${limit}`,
          );
        }
        this.counts.oversize++;
        this.measure.oversize();
        const bytes = out.value.length;
        target = this.options.errorSink;
        out = this.options.handler.oversize(record, bytes, limit, 'output', target.maxRecordBytes);
        final = {
          kind: 'failed',
          reason: 'OversizeEventError',
          errorEvent: out,
          message: `the enriched event is ${bytes} bytes, over the sink's limit of ${limit} bytes`,
          ...(outcome.pageChangeKind !== undefined && { pageChangeKind: outcome.pageChangeKind }),
          ...(outcome.eventTime !== undefined && { eventTime: outcome.eventTime }),
        };
      }
    } else if (outcome.kind === 'failed') {
      target = this.options.errorSink;
      out = outcome.errorEvent;
      const limit = target.maxRecordBytes;
      // An error event carries its raw input: a huge malformed input must not make it unproducible.
      if (limit !== undefined && out.value.length > limit) {
        out = this.options.handler.oversize(record, out.value.length, limit, 'error event');
      }
    }
    if (!target || !out) return { ack: Promise.resolve(), outcome: final };
    const ack = target.send(out);
    this.sending.add(ack);
    const forget = () => this.sending.delete(ack);
    ack.then(forget, forget);
    return { ack, outcome: final };
  }

  private record(outcome: Outcome): void {
    this.outcomes[outcome.kind]++;
    const reasons = this.reasons[outcome.kind];
    reasons[outcome.reason] = (reasons[outcome.reason] ?? 0) + 1;
  }

  /** Commits the watermark of every partition that moved; serialised so commits never overlap. */
  commit(partitions?: Iterable<string>): Promise<void> {
    const next = this.commitChain.then(() => this.commitNow(partitions));
    this.commitChain = next.catch(() => undefined);
    return next;
  }

  private async commitNow(partitions?: Iterable<string>): Promise<void> {
    const positions = this.tracker.committable(partitions);
    for (const [p, offset] of positions) if (this.lastCommitted.get(p) === offset) positions.delete(p);
    if (positions.size === 0) return;
    if (this.transactional) {
      let open!: () => void;
      this.barrier = new Promise((resolve) => (open = resolve));
      try {
        await Promise.allSettled([...this.sending]);
        if (this.failure) return;
        // Re-read: sends that settled at the barrier may have moved the watermark.
        const atBarrier = this.tracker.committable(partitions);
        await this.options.source.commit(atBarrier);
        for (const [p, offset] of atBarrier) this.lastCommitted.set(p, offset);
      } finally {
        this.barrier = undefined;
        open();
      }
      return;
    }
    await this.options.source.commit(positions);
    for (const [p, offset] of positions) this.lastCommitted.set(p, offset);
    this.options.logger.debug({ positions: Object.fromEntries(positions) }, 'committed');
  }

  /** Rebalance: finish what was read from the partitions, commit it, then let them go. */
  private async revoke(partitions: readonly string[]): Promise<void> {
    const { logger, drainTimeoutMs } = this.options;
    const deadline = Date.now() + drainTimeoutMs;
    while (this.tracker.pending(partitions) > 0 && Date.now() < deadline && !this.failure) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const left = this.tracker.pending(partitions);
    if (left > 0)
      logger.warn(
        { partitions, left },
        'revoked partitions still had records in flight; they will be read again',
      );
    // A transaction holds the outputs of every partition, so it must carry every partition's offsets
    // (all at their watermark, as outputs leave in offset order); otherwise commit just these.
    await this.commit(this.transactional ? undefined : partitions);
    for (const p of partitions) {
      this.revocations.set(p, (this.revocations.get(p) ?? 0) + 1);
      this.lastCommitted.delete(p);
    }
    this.tracker.forget(partitions);
  }

  private async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const result = await Promise.race([this.window.idle().then(() => 'idle' as const), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.options.logger.warn(
        { inFlight: this.window.inFlight },
        'drain timed out; unfinished records will be read again',
      );
    }
  }

  private async closeAll(): Promise<void> {
    const { sink, errorSink, source, logger } = this.options;
    for (const step of [
      () => sink.flush(),
      () => errorSink.flush(),
      () => sink.close(),
      () => errorSink.close(),
      () => source.close(),
    ]) {
      try {
        await step();
      } catch (err) {
        logger.error({ err }, 'closing a connector failed');
        this.fail(err);
      }
    }
  }

  private fail(err: unknown): void {
    if (this.closed) {
      // Records abandoned by a timed-out drain fail when the fetcher closes under them; they were
      // never committed and will be read again, so this is no failure of the run.
      this.options.logger.debug({ err }, 'abandoned record failed after the pipeline closed');
      return;
    }
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.options.logger.error({ err: this.failure }, 'pipeline failure; stopping without committing past it');
    this.stop();
  }

  private summary(): Summary {
    return {
      records: this.counts.records,
      outcomes: { ...this.outcomes },
      reasons: {
        enriched: { ...this.reasons.enriched },
        passed: { ...this.reasons.passed },
        dropped: { ...this.reasons.dropped },
        failed: { ...this.reasons.failed },
      },
      oversize: this.counts.oversize,
      unfinished: this.tracker.pending(),
      ...(this.failure ? { failure: this.failure.message } : {}),
    };
  }
}

interface Emitted {
  /** Settles when the sink has the outcome's record (at once when there is none to send). */
  ack: Promise<void>;
  /** The outcome as sent: an oversize output becomes a failure. */
  outcome: Outcome;
}

function outputBytes(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'enriched':
    case 'passed':
      return outcome.output.value.length;
    case 'failed':
      return outcome.errorEvent.value.length;
    case 'dropped':
      return 0;
  }
}
