import type { SinkRecord, SourceRecord } from '../connectors/types.js';

/**
 * The one outcome of one input. Only infrastructure failures throw out of a job; everything that is
 * wrong with an input or with the wiki's answer about it is a `failed` outcome carrying its error event.
 */
export type Outcome =
  | {
      readonly kind: 'enriched';
      readonly output: SinkRecord;
      readonly hiddenSlots: number;
      readonly droppedFields: number;
    }
  | {
      readonly kind: 'passed';
      readonly reason: 'delete' | 'hidden';
      readonly output: SinkRecord;
      readonly droppedFields: number;
    }
  | { readonly kind: 'dropped'; readonly reason: 'canary' }
  | { readonly kind: 'failed'; readonly errorType: string; readonly errorEvent: SinkRecord };

export type OutcomeKind = Outcome['kind'];

export interface Handled {
  /** Records with the same key are emitted in input order; undefined: no order to keep. */
  readonly key: string | undefined;
  /** Never rejects for a problem of the input or of the wiki; a rejection stops the job. */
  readonly outcome: Promise<Outcome>;
}

/** What the runtime needs from a job. */
export interface RecordHandler {
  /** Called in source order, synchronously, so that keys are sequenced in input order. */
  handle(record: SourceRecord): Handled;
  /**
   * The error event for an outcome larger than its sink accepts: an output (its error event carries
   * the raw input instead), or an error event whose raw input is itself too large (cut to fit).
   * `limit` is the limit that was exceeded; `errorSinkLimit`, when the error sink has its own, is
   * what the returned error event must fit into (default `limit`).
   */
  oversize(
    record: SourceRecord,
    bytes: number,
    limit: number,
    what: 'output' | 'error event',
    errorSinkLimit?: number,
  ): SinkRecord;
}
