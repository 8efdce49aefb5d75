/**
 * What `/status.json` answers and the status page shows. A `null` is a metric family no code path
 * has created (yet): a Kafka family under a file source, a counter before its first increment.
 * Times are ISO 8601 strings in UTC. Texts come from inputs and brokers: show them as text only.
 */
export interface StatusDocument {
  readonly generatedAt: string;
  readonly job: {
    readonly name: string;
    readonly version: string;
    /** The instance's configured name (Kafka `instance_id`), if any. */
    readonly instance: string | null;
    /** The host (a pod's name in Kubernetes). */
    readonly host: string;
    readonly startedAt: string;
    readonly uptimeSeconds: number;
    readonly source: string;
    readonly sink: string;
    readonly errorSink: string;
  };
  readonly readiness: {
    readonly ready: boolean;
    readonly alive: boolean;
    readonly reasons: readonly string[];
  };
  /** The seconds the rates span (up to a minute), `null` until the first sample is old enough. */
  readonly rateWindowSeconds: number | null;
  readonly records: { readonly read: number | null; readonly readPerSecond: number | null };
  readonly inFlight: {
    readonly records: number | null;
    readonly bytes: number | null;
    /** The records the window admits now (runtime.in_flight_floor up to runtime.max_in_flight). */
    readonly limit: number | null;
  };
  readonly outcomes: {
    readonly total: number;
    readonly byOutcome: readonly { outcome: string; count: number; perSecond: number | null }[];
    /** Counts per page_change_kind, each split by outcome; `null` when the series carry no kind. */
    readonly byKind:
      readonly { kind: string; total: number; counts: Readonly<Record<string, number>> }[] | null;
  } | null;
  /** `null` when no partition is known: not a Kafka source, or none assigned. */
  readonly partitions: readonly PartitionStatus[] | null;
  readonly errorEvents: {
    readonly byType: readonly { errorType: string; count: number }[] | null;
    readonly latest: readonly {
      time: string;
      errorType: string;
      message: string;
      pageChangeKind: string;
      partition: string;
      offset: string;
    }[];
  };
  readonly rebalances: {
    readonly byKind: readonly { kind: string; count: number }[] | null;
    readonly latest: readonly { time: string; kind: string; partitions: string }[];
  };
  readonly restarts: {
    readonly byReason: readonly { reason: string; count: number }[] | null;
    readonly latest: readonly { time: string; part: string; reason: string }[];
  };
  readonly waits: { readonly latest: readonly { time: string; part: string; reason: string }[] };
  /** The resolved configuration, secrets masked, as YAML. */
  readonly config: string;
}

export interface PartitionStatus {
  readonly topic: string;
  readonly partition: string;
  readonly committedOffset: number | null;
  readonly highWatermark: number | null;
  readonly lagRecords: number | null;
  readonly lagSeconds: number | null;
}
