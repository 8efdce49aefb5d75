import type { Logger } from 'pino';
import type { SinkRecord, SourceRecord } from '../connectors/types.js';
import type { HttpRoutes } from '../core/http-routes.js';
import type { InputLimits } from '../core/input-limits.js';
import type { Metrics } from '../core/metrics.js';
import type { ConfigSchema } from '../core/config-schema.js';
import type { ErrorType } from '../core/errors.js';
import type { SchemaRepository } from '../core/schema-repository.js';
import type { StreamConfigs, StreamRef } from '../core/stream-config.js';
import type { Validator } from '../core/validator.js';

/**
 * The contract between the runtime and a job. The runtime reads records, sequences and commits
 * them, and knows nothing of what a job does with a record; a job turns one record into one
 * outcome and knows nothing of sources, sinks or commits. Jobs are registered in `registry.ts`.
 */

/** The outcomes an input can have; metrics count each. */
export const OUTCOME_KINDS = ['enriched', 'passed', 'dropped', 'failed'] as const;

/**
 * The kinds of page change an outcome is counted by (`mw_enrich_outcomes_total`): the
 * page_change_kind values of mediawiki/page/change, and `unknown` for an input that could not be
 * parsed or names another kind.
 */
export const PAGE_CHANGE_KINDS = [
  'create',
  'edit',
  'move',
  'delete',
  'undelete',
  'visibility_change',
  'unknown',
] as const;

export type PageChangeKind = (typeof PAGE_CHANGE_KINDS)[number];

/** A page_change_kind as read from an input: one of the known kinds, else `unknown`. */
export function pageChangeKindOf(value: unknown): PageChangeKind {
  return (PAGE_CHANGE_KINDS as readonly unknown[]).includes(value) ? (value as PageChangeKind) : 'unknown';
}

/** What every outcome may tell the runtime about its input, for metrics and the status page. */
interface OutcomeFacts {
  /** The input's page_change_kind; absent: `unknown`. */
  readonly pageChangeKind?: PageChangeKind;
  /** The input event's own time (`meta.dt`) in milliseconds since the epoch, when it has a valid one. */
  readonly eventTime?: number;
}

/**
 * The one outcome of one input, each with a reason: the kind of change enriched, why an input
 * passed through or was dropped, the error type of a failure. Only infrastructure failures throw
 * out of a job; everything wrong with an input, or with what an outside service said about it, is a
 * `failed` outcome carrying its error event (and that event's message).
 */
export type Outcome = OutcomeFacts &
  (
    | { readonly kind: 'enriched'; readonly reason: string; readonly output: SinkRecord }
    | { readonly kind: 'passed'; readonly reason: string; readonly output: SinkRecord }
    | { readonly kind: 'dropped'; readonly reason: string }
    | {
        readonly kind: 'failed';
        readonly reason: ErrorType;
        readonly errorEvent: SinkRecord;
        /** The error event's message. */
        readonly message?: string;
      }
  );

export type OutcomeKind = Outcome['kind'];

export interface Handled {
  /** Records with the same key are emitted in input order; undefined: no order to keep. */
  readonly key: string | undefined;
  /** Never rejects for a problem of the input; a rejection stops the job. */
  readonly outcome: Promise<Outcome>;
  /**
   * The output's size in bytes as far as the input announces it (an edit's `rev_size`), weighed
   * from the start: the content it waits for is not in memory yet, and without it a burst of large
   * revisions would be read from the source before any of their outputs existed to be weighed.
   */
  readonly expectedBytes?: number;
}

/** What the runtime needs from a job for each record. */
export interface RecordHandler {
  /** Called in source order, synchronously, so that keys are sequenced in input order. */
  handle(record: SourceRecord): Handled;
  /**
   * Undefined while more records can be of use to the job now; else a promise that settles when
   * they can again (an outside service it waits for has all the work queued it can take next).
   * The runtime reads no further meanwhile: records read ahead of that would only wait, in memory.
   */
  whenAccepting?(): Promise<void> | undefined;
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

/** The parts every job is built from; the runtime makes them from the shared configuration. */
export interface JobParts {
  /** `stream_manager.job_name`: emitter of error events. */
  readonly jobName: string;
  /** The configured streams, each with its pinned schema version. */
  readonly source: StreamRef;
  readonly sink: StreamRef;
  readonly errorSink: StreamRef;
  readonly streams: StreamConfigs;
  readonly repository: SchemaRepository;
  readonly validator: Validator;
  /** `stream_manager.http_client_routes`, for every HTTP client a job makes. */
  readonly httpRoutes: HttpRoutes;
  readonly limits: InputLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A running job. */
export interface JobInstance {
  readonly handler: RecordHandler;
  /** Job-specific counts for the end-of-run summary (snake_case names), beside the outcome counts. */
  counts?(): Readonly<Record<string, number>>;
  /** Releases what the job holds (HTTP clients, timers); called once, after the last record. */
  close(): Promise<void>;
}

/** The job's own configuration section (`enrich` for the enrichment jobs), declared. */
export interface JobSection<Section> {
  /** Its key in the configuration file. */
  readonly key: string;
  /** Types, defaults, bounds and descriptions of its options (README's tables come from it). */
  readonly schema: ConfigSchema;
  /**
   * The section, checked against `schema` and with its defaults filled in, as the job uses it; a
   * problem the schema cannot say (options that depend on each other) is a `ConfigError`.
   */
  resolve(validated: Record<string, unknown>, key: string): Section;
}

export interface JobDefinition<Section = unknown> {
  /** The CLI subcommand, e.g. `page-content-change`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  readonly section: JobSection<Section>;
  /** The User-Agent for the runtime's own requests (schemas, stream configs), from the section. */
  userAgent?(section: Section): string;
  /** Builds the job; a problem of its configuration or schemas is a `ConfigError`. */
  create(parts: JobParts, section: Section): Promise<JobInstance>;
}

/** Erases a definition's section type, for lists of jobs. */
export function defineJob<Section>(definition: JobDefinition<Section>): JobDefinition {
  return definition as unknown as JobDefinition;
}
