import { performance } from 'node:perf_hooks';
import type { SourceRecord } from '../connectors/types.js';
import type { Metrics } from '../core/metrics.js';
import { pageChangeKindOf, type Outcome } from '../jobs/contract.js';

/** Longest error message kept in the status page's journal. */
export const MAX_EVENT_MESSAGE_CHARS = 300;

/** Distinct reasons per outcome kind counted under their own label before the rest count as `other`. */
export const MAX_REASONS_PER_OUTCOME = 50;

/** A reason label: what a job's code names, in snake_case or an error type's CamelCase. */
const REASON = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * The pipeline's records and outcomes as metrics (`mw_enrich_records_read_total`,
 * `…_outcomes_total`, `…_error_events_total`, latencies and durations) and as notable events. Every
 * label value is from a closed set: a job's reasons come from its code, and are still bounded here
 * so that a job passing something else cannot grow /metrics.
 */
export class OutcomeMetrics {
  private readonly reasons = new Map<string, Set<string>>();

  constructor(
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** A record was taken from the source; returns the time its processing duration starts at. */
  read(): number {
    this.metrics.count('records_read_total');
    return this.clock();
  }

  /** The window's load, read when the metrics are collected: a scrape sees it as it is. */
  inFlight(window: {
    readonly inFlight: number;
    readonly inFlightBytes: number;
    readonly limit: number;
  }): void {
    this.metrics.gaugeFrom('records_in_flight', () => window.inFlight);
    this.metrics.gaugeFrom('in_flight_limit', () => window.limit);
    this.metrics.gaugeFrom('in_flight_bytes', () => window.inFlightBytes);
  }

  oversize(): void {
    this.metrics.count('oversize_outputs_total');
  }

  /** The outcome of `record`, read at `readAt` (from `read()`), was acknowledged by its sink. */
  acknowledged(record: SourceRecord, outcome: Outcome, readAt: number): void {
    const { metrics } = this;
    const kind = pageChangeKindOf(outcome.pageChangeKind);
    metrics.count('outcomes_total', { outcome: outcome.kind, page_change_kind: kind });
    metrics.count('outcome_reasons_total', { outcome: outcome.kind, reason: this.reasonLabel(outcome) });
    metrics.observe('processing_duration_seconds', Math.max(0, this.clock() - readAt) / 1000, {
      outcome: outcome.kind,
    });
    if (outcome.eventTime !== undefined && Number.isFinite(outcome.eventTime)) {
      // An event from the future (a producer's clock ahead) is on time, not early.
      metrics.observe('event_latency_seconds', Math.max(0, this.now() - outcome.eventTime) / 1000);
    }
    if (outcome.kind === 'failed') {
      metrics.count('error_events_total', { error_type: outcome.reason });
      metrics.event('error_event', {
        error_type: outcome.reason,
        message: cut(outcome.message ?? '', MAX_EVENT_MESSAGE_CHARS),
        page_change_kind: kind,
        partition: record.partition,
        offset: record.offset,
      });
    }
  }

  private reasonLabel(outcome: Outcome): string {
    // A failure's reason is its error type, a closed set of its own.
    if (outcome.kind === 'failed') return outcome.reason;
    let seen = this.reasons.get(outcome.kind);
    if (!seen) this.reasons.set(outcome.kind, (seen = new Set()));
    if (seen.has(outcome.reason)) return outcome.reason;
    if (!REASON.test(outcome.reason) || seen.size >= MAX_REASONS_PER_OUTCOME) return 'other';
    seen.add(outcome.reason);
    return outcome.reason;
  }
}

/** At most `max` UTF-16 units: a longer text is cut and ends in `…`, never inside a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let keep = max - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(keep - 1))) keep--;
  return `${text.slice(0, keep)}…`;
}
