import { ERROR_TYPES } from '../core/errors.js';
import { OUTCOME_KINDS, PAGE_CHANGE_KINDS } from '../jobs/contract.js';
import { RECONNECT_REASONS } from '../connectors/sse/reconnect.js';

/** Every family's name starts with it; inner layers name families without it. */
export const METRIC_PREFIX = 'mw_enrich_';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * One metric family as `/metrics` shows it. The catalogue is the contract with alert rules,
 * dashboards and the status page: `PrometheusMetrics` registers exactly these families at start
 * and refuses any other name or label set.
 */
export interface MetricFamily {
  /** The full name, with the `mw_enrich_` prefix. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms: upper bounds of the buckets, ascending. */
  readonly buckets?: readonly number[];
  /**
   * Closed sets of label values, where the code fixes them: any other value is refused, and when
   * every label has one, each combination exists at 0 from the start (so that `rate()` and ratios
   * have a series before the first event).
   */
  readonly values?: Readonly<Record<string, readonly string[]>>;
}

/** Durations of a record inside the service or of one HTTP request: 5 ms to 2 minutes. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/** From an event's own time to its outcome: 100 ms (live) to a day (a backlog being read). */
const LATENCY_BUCKETS = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 86400,
] as const;

/** Revisions per Action API request: at most 50, or 500 with `api_high_limits`. */
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500] as const;

const OUTCOME = { outcome: OUTCOME_KINDS };
const PARTITION = ['topic', 'partition'] as const;

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  // Records and outcomes (the runtime's pipeline)
  {
    name: 'mw_enrich_records_read_total',
    type: 'counter',
    help: 'Records taken from the source.',
    labels: [],
  },
  {
    name: 'mw_enrich_outcomes_total',
    type: 'counter',
    help: 'Outcomes acknowledged, by outcome and by the page_change_kind of the input (unknown: input not parseable or kind not known).',
    labels: ['outcome', 'page_change_kind'],
    values: { ...OUTCOME, page_change_kind: PAGE_CHANGE_KINDS },
  },
  {
    name: 'mw_enrich_outcome_reasons_total',
    type: 'counter',
    help: 'Outcomes acknowledged, by outcome and reason (the kind enriched, why passed or dropped, the error type of a failure).',
    labels: ['outcome', 'reason'],
  },
  {
    name: 'mw_enrich_error_events_total',
    type: 'counter',
    help: 'Error events written (failed outcomes, oversize outputs included), by error type.',
    labels: ['error_type'],
    values: { error_type: ERROR_TYPES },
  },
  {
    name: 'mw_enrich_event_latency_seconds',
    type: 'histogram',
    help: 'From meta.dt of the input event to its outcome being acknowledged.',
    labels: [],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'mw_enrich_processing_duration_seconds',
    type: 'histogram',
    help: 'From a record being read from the source to its outcome being acknowledged by its sink, by outcome.',
    labels: ['outcome'],
    buckets: DURATION_BUCKETS,
    values: OUTCOME,
  },
  {
    name: 'mw_enrich_records_in_flight',
    type: 'gauge',
    help: 'Records read and not yet acknowledged (at most runtime.max_in_flight).',
    labels: [],
  },
  {
    name: 'mw_enrich_in_flight_limit',
    type: 'gauge',
    help: 'Records the window admits now: from runtime.in_flight_floor up to runtime.max_in_flight, smaller while the event loop is saturated.',
    labels: [],
  },
  {
    name: 'mw_enrich_in_flight_bytes',
    type: 'gauge',
    help: 'Input and output bytes of the records in flight (at most runtime.max_in_flight_bytes, but for one record).',
    labels: [],
  },
  {
    name: 'mw_enrich_oversize_outputs_total',
    type: 'counter',
    help: 'Outputs larger than their sink accepts (each became an OversizeEventError error event, or stopped the job).',
    labels: [],
  },
  {
    name: 'mw_enrich_hidden_content_total',
    type: 'counter',
    help: 'Hidden revision content: events passed through as not visible (event), and slots whose content the wiki hid (texthidden).',
    labels: ['reason'],
    values: { reason: ['event', 'texthidden'] },
  },
  {
    name: 'mw_enrich_input_fields_dropped_total',
    type: 'counter',
    help: 'Input fields dropped by projecting an event of an unknown schema version onto the pinned one.',
    labels: [],
  },
  {
    name: 'mw_enrich_output_fields_dropped_total',
    type: 'counter',
    help: 'Fields dropped by projecting an output onto the output schema.',
    labels: [],
  },

  // MediaWiki Action API
  {
    name: 'mw_enrich_mediawiki_requests_total',
    type: 'counter',
    help: 'Action API requests, by HTTP status (a named status, else its class such as 4xx; none without an answer) and error type (none on success).',
    labels: ['status', 'error_type'],
  },
  {
    name: 'mw_enrich_mediawiki_request_duration_seconds',
    type: 'histogram',
    help: 'Duration of one Action API request (from holding a concurrency slot to the answer read), by HTTP status.',
    labels: ['status'],
    buckets: DURATION_BUCKETS,
  },
  {
    name: 'mw_enrich_mediawiki_retries_total',
    type: 'counter',
    help: 'Revisions fetched again, by the error type of the failure that caused the retry.',
    labels: ['reason'],
  },
  {
    name: 'mw_enrich_mediawiki_batch_revisions',
    type: 'histogram',
    help: 'Distinct revisions per Action API batch.',
    labels: [],
    buckets: BATCH_BUCKETS,
  },
  {
    name: 'mw_enrich_mediawiki_revisions_requested_total',
    type: 'counter',
    help: 'Revisions asked for from the Action API (a retried revision counts again).',
    labels: [],
  },

  // Kafka
  {
    name: 'mw_enrich_kafka_consumer_lag_records',
    type: 'gauge',
    help: 'Per assigned partition: high watermark minus the committed offset.',
    labels: PARTITION,
  },
  {
    name: 'mw_enrich_kafka_consumer_lag_seconds',
    type: 'gauge',
    help: 'Per assigned partition: 0 when the lag in records is 0, else the age (now minus its Kafka timestamp) of the oldest record not yet committed that this instance has fetched.',
    labels: PARTITION,
  },
  {
    name: 'mw_enrich_kafka_committed_offset',
    type: 'gauge',
    help: 'Per assigned partition: the committed offset of the consumer group (the next record to read).',
    labels: PARTITION,
  },
  {
    name: 'mw_enrich_kafka_high_watermark_offset',
    type: 'gauge',
    help: 'Per assigned partition: the high watermark (offset after the last record written).',
    labels: PARTITION,
  },
  {
    name: 'mw_enrich_kafka_commits_total',
    type: 'counter',
    help: 'Consumer offset commits: ok, not_member (refused because the group moved the partitions on), failed.',
    labels: ['outcome'],
    values: { outcome: ['ok', 'not_member', 'failed'] },
  },
  {
    name: 'mw_enrich_kafka_rebalances_total',
    type: 'counter',
    help: 'Consumer group rebalance events answered: partitions assigned, revoked, or lost (taken away before they could be committed).',
    labels: ['kind'],
    values: { kind: ['assign', 'revoke', 'lost'] },
  },
  {
    name: 'mw_enrich_kafka_client_errors_total',
    type: 'counter',
    help: 'Errors librdkafka reported outside a call, by client (consumer, producer) and librdkafka error code.',
    labels: ['client', 'code'],
  },
  {
    name: 'mw_enrich_kafka_produced_records_total',
    type: 'counter',
    help: 'Records the broker acknowledged, by topic.',
    labels: ['topic'],
  },
  {
    name: 'mw_enrich_kafka_produce_failures_total',
    type: 'counter',
    help: 'Records the producer could not deliver, by topic and librdkafka error code.',
    labels: ['topic', 'code'],
  },
  {
    name: 'mw_enrich_kafka_transactions_total',
    type: 'counter',
    help: 'Exactly-once transactions, by outcome (committed, aborted).',
    labels: ['outcome'],
    values: { outcome: ['committed', 'aborted'] },
  },
  {
    name: 'mw_enrich_kafka_source_buffered_records',
    type: 'gauge',
    help: 'Records fetched ahead of the pipeline (source.options.max_buffered_records).',
    labels: [],
  },
  {
    name: 'mw_enrich_kafka_source_buffered_bytes',
    type: 'gauge',
    help: 'Bytes of the records fetched ahead of the pipeline (source.options.max_buffered_bytes).',
    labels: [],
  },
  {
    name: 'mw_enrich_kafka_consumer_restarts_total',
    type: 'counter',
    help: 'Kafka consumers replaced in-process, by reason (e.g. fenced).',
    labels: ['reason'],
  },

  // EventStreams (the sse source)
  {
    name: 'mw_enrich_sse_reconnects_total',
    type: 'counter',
    help: 'Connections to the event stream opened again, by why the previous one ended: ended by the server, network_error, server_error (5xx, 408), too_many_requests (429), idle (no byte for idle_timeout_ms), error_event.',
    labels: ['reason'],
    values: { reason: RECONNECT_REASONS },
  },
  {
    name: 'mw_enrich_sse_skipped_events_total',
    type: 'counter',
    help: 'Events of the stream skipped by the source because their meta.domain is not in source.options.domains.',
    labels: [],
  },

  // The service
  {
    name: 'mw_enrich_build_info',
    type: 'gauge',
    // Not `job`: Prometheus gives every target a `job` label of its own.
    help: 'Always 1; the labels say which version runs, and under which stream_manager.job_name.',
    labels: ['version', 'job_name'],
  },
  {
    name: 'mw_enrich_ready',
    type: 'gauge',
    help: '1 while the service is ready (what /readyz answers), else 0.',
    labels: [],
  },
];
