import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { stringify as stringifyYaml } from 'yaml';
import type { EventName } from '../../core/metrics.js';
import type { EventJournal, JournalEntry } from '../event-journal.js';
import type { PartitionStatus, StatusDocument } from './document.js';
import { readFamily, sumAll, sumBy, type Series } from './metric-values.js';
import { RateWindow } from './rate-window.js';

/**
 * The metric families the page reads (declared in metric-catalog.ts). Any of them may be absent
 * from a registry (one that creates families on first use), and the Kafka ones have no series
 * under a file or stdin source.
 */
export const STATUS_FAMILIES = {
  recordsRead: 'mw_enrich_records_read_total',
  outcomes: 'mw_enrich_outcomes_total',
  errorEvents: 'mw_enrich_error_events_total',
  recordsInFlight: 'mw_enrich_records_in_flight',
  bytesInFlight: 'mw_enrich_in_flight_bytes',
  inFlightLimit: 'mw_enrich_in_flight_limit',
  committedOffset: 'mw_enrich_kafka_committed_offset',
  highWatermark: 'mw_enrich_kafka_high_watermark_offset',
  lagRecords: 'mw_enrich_kafka_consumer_lag_records',
  lagSeconds: 'mw_enrich_kafka_consumer_lag_seconds',
  rebalances: 'mw_enrich_kafka_rebalances_total',
  restarts: 'mw_enrich_kafka_consumer_restarts_total',
} as const;

const OUTCOMES = ['enriched', 'passed', 'dropped', 'failed'];
const KINDS = ['create', 'edit', 'move', 'delete', 'undelete', 'visibility_change', 'unknown'];

/** What the page says about the process that does not change while it runs. */
export interface StatusInfo {
  readonly jobName: string;
  readonly version: string;
  /** The instance's name (Kafka `instance_id`), when it has one. */
  readonly instanceId?: string | undefined;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  /** `connector:stream` of the source and the sinks. */
  readonly source: string;
  readonly sink: string;
  readonly errorSink: string;
  /** The resolved config document with its secrets already masked. */
  readonly config: unknown;
}

/** The parts of the readiness model the page shows. */
export interface ReadinessView {
  readonly ready: boolean;
  readonly alive: boolean;
  reasons(): string[];
}

export interface StatusModelOptions {
  readonly metrics: { readonly registry: Registry; readonly journal: EventJournal };
  readonly readiness: ReadinessView;
  readonly info: StatusInfo;
  /** How often counters are sampled for the rates. @default 5000 */
  readonly sampleIntervalMs?: number;
  /** Rates cover this much time. @default 60000 */
  readonly rateWindowMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/**
 * The status document from the metrics registry, the event journal and the readiness model. Rates
 * need history the registry does not keep: while started, the model samples the counters every few
 * seconds into a bounded window.
 */
export class StatusModel {
  private readonly rates: RateWindow;
  private readonly now: () => number;
  private readonly config: string;
  private timer: NodeJS.Timeout | undefined;
  private stops = 0;

  constructor(private readonly options: StatusModelOptions) {
    const windowMs = options.rateWindowMs ?? 60_000;
    const intervalMs = options.sampleIntervalMs ?? 5_000;
    // One sample per interval across the window, the base before it, and slack for a late timer.
    this.rates = new RateWindow(windowMs, Math.ceil(windowMs / intervalMs) + 3);
    this.now = options.now ?? Date.now;
    this.config = stringifyYaml(options.info.config ?? {});
  }

  /** Starts sampling (a first sample at once); the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.sampleIntervalMs ?? 5_000);
    this.timer.unref();
  }

  /** How many samples the rates are computed from now. */
  get samples(): number {
    return this.rates.size;
  }

  stop(): void {
    this.stops++;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample of the counters the rates are computed from. */
  async sample(): Promise<void> {
    const stops = this.stops;
    try {
      const time = this.now();
      const counters = await this.readCounters();
      // A read that was under way when stop() was called adds nothing.
      if (this.stops === stops) this.rates.add(time, rateKeys(counters));
    } catch {
      // A failed read leaves a gap; the next sample measures across it.
    }
  }

  async document(): Promise<StatusDocument> {
    const { info, readiness, metrics } = this.options;
    const now = this.now();
    const read = (name: string) => readFamily(metrics.registry, name);
    const counters = await this.readCounters();
    const rates = this.rates.rates(now, rateKeys(counters));
    // A counter the current read lacks is at 0, and so is its rate.
    const perSecond = (key: string) => (rates ? (rates.perSecond.get(key) ?? 0) : null);
    const [recordsInFlight, bytesInFlight, inFlightLimit, errorEvents, rebalances, restarts] =
      await Promise.all([
        read(STATUS_FAMILIES.recordsInFlight),
        read(STATUS_FAMILIES.bytesInFlight),
        read(STATUS_FAMILIES.inFlightLimit),
        read(STATUS_FAMILIES.errorEvents),
        read(STATUS_FAMILIES.rebalances),
        read(STATUS_FAMILIES.restarts),
      ]);
    return {
      generatedAt: new Date(now).toISOString(),
      job: {
        name: info.jobName,
        version: info.version,
        instance: info.instanceId ?? null,
        host: hostname(),
        startedAt: new Date(info.startedAt).toISOString(),
        uptimeSeconds: Math.max(0, Math.round((now - info.startedAt) / 1000)),
        source: info.source,
        sink: info.sink,
        errorSink: info.errorSink,
      },
      readiness: { ready: readiness.ready, alive: readiness.alive, reasons: readiness.reasons() },
      rateWindowSeconds: rates ? Math.round(rates.spanSeconds) : null,
      records: {
        read: sumAll(counters.read) ?? null,
        readPerSecond: counters.read ? perSecond('read') : null,
      },
      inFlight: {
        records: sumAll(recordsInFlight) ?? null,
        bytes: sumAll(bytesInFlight) ?? null,
        limit: sumAll(inFlightLimit) ?? null,
      },
      outcomes: counters.outcomes ? outcomeTable(counters.outcomes, perSecond) : null,
      partitions: await this.partitions(),
      errorEvents: {
        byType: errorEvents
          ? nonZero(sumBy(errorEvents, 'error_type')).map(([errorType, count]) => ({ errorType, count }))
          : null,
        latest: this.journal('error_event').map(({ time, fields }) => ({
          time,
          errorType: text(fields.error_type),
          message: text(fields.message),
          pageChangeKind: text(fields.page_change_kind),
          partition: text(fields.partition),
          offset: text(fields.offset),
        })),
      },
      rebalances: {
        byKind: rebalances ? [...sumBy(rebalances, 'kind')].map(([kind, count]) => ({ kind, count })) : null,
        latest: this.journal('rebalance').map(({ time, fields }) => ({
          time,
          kind: text(fields.kind),
          partitions: text(fields.partitions),
        })),
      },
      restarts: {
        byReason: restarts
          ? nonZero(sumBy(restarts, 'reason')).map(([reason, count]) => ({ reason, count }))
          : null,
        latest: this.journal('restart').map(partReason),
      },
      waits: { latest: this.journal('waiting').map(partReason) },
      config: this.config,
    };
  }

  private async readCounters(): Promise<{ read?: Series[]; outcomes?: Series[] }> {
    const [read, outcomes] = await Promise.all([
      readFamily(this.options.metrics.registry, STATUS_FAMILIES.recordsRead),
      readFamily(this.options.metrics.registry, STATUS_FAMILIES.outcomes),
    ]);
    return { read, outcomes };
  }

  private journal(name: EventName): { time: string; fields: JournalEntry['fields'] }[] {
    return this.options.metrics.journal
      .latest(name)
      .map((entry) => ({ time: new Date(entry.time).toISOString(), fields: entry.fields }));
  }

  /**
   * One row per topic-partition any of the Kafka offset gauges knows; `null` when they know none
   * (not a Kafka source, or no partition assigned).
   */
  private async partitions(): Promise<PartitionStatus[] | null> {
    const registry = this.options.metrics.registry;
    const columns = {
      committedOffset: await readFamily(registry, STATUS_FAMILIES.committedOffset),
      highWatermark: await readFamily(registry, STATUS_FAMILIES.highWatermark),
      lagRecords: await readFamily(registry, STATUS_FAMILIES.lagRecords),
      lagSeconds: await readFamily(registry, STATUS_FAMILIES.lagSeconds),
    };
    if (Object.values(columns).every((series) => series === undefined || series.length === 0)) return null;
    const rows = new Map<string, { -readonly [K in keyof PartitionStatus]: PartitionStatus[K] }>();
    for (const [column, series] of Object.entries(columns) as [
      keyof typeof columns,
      Series[] | undefined,
    ][]) {
      for (const s of series ?? []) {
        const topic = text(s.labels.topic);
        const partition = text(s.labels.partition);
        const key = `${topic}\u0000${partition}`;
        let row = rows.get(key);
        if (!row) {
          row = {
            topic,
            partition,
            committedOffset: null,
            highWatermark: null,
            lagRecords: null,
            lagSeconds: null,
          };
          rows.set(key, row);
        }
        row[column] = s.value;
      }
    }
    return [...rows.values()].sort(
      (a, b) =>
        a.topic.localeCompare(b.topic) ||
        Number(a.partition) - Number(b.partition) ||
        a.partition.localeCompare(b.partition),
    );
  }
}

/** The counter values the rates are measured on, by a key per rate. */
function rateKeys(counters: { read?: Series[]; outcomes?: Series[] }): Map<string, number> {
  const keys = new Map<string, number>();
  if (counters.read) keys.set('read', sumAll(counters.read)!);
  if (counters.outcomes)
    for (const [outcome, n] of sumBy(counters.outcomes, 'outcome')) keys.set(`outcome:${outcome}`, n);
  return keys;
}

function outcomeTable(
  series: readonly Series[],
  perSecond: (key: string) => number | null,
): NonNullable<StatusDocument['outcomes']> {
  const byOutcome = sumBy(series, 'outcome');
  const outcomes = ordered(byOutcome.keys(), OUTCOMES);
  const hasKind = series.some((s) => s.labels.page_change_kind !== undefined);
  let byKind: NonNullable<StatusDocument['outcomes']>['byKind'] = null;
  if (hasKind) {
    const cells = new Map<string, Record<string, number>>();
    for (const s of series) {
      const kind = text(s.labels.page_change_kind);
      const row = cells.get(kind) ?? Object.fromEntries(outcomes.map((o) => [o, 0]));
      row[text(s.labels.outcome)] = (row[text(s.labels.outcome)] ?? 0) + s.value;
      cells.set(kind, row);
    }
    byKind = ordered(cells.keys(), KINDS)
      .filter((kind) => cells.has(kind))
      .map((kind) => {
        const counts = cells.get(kind)!;
        return { kind, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
      });
  }
  return {
    total: [...byOutcome.values()].reduce((a, b) => a + b, 0),
    byOutcome: outcomes.map((outcome) => ({
      outcome,
      count: byOutcome.get(outcome) ?? 0,
      perSecond: perSecond(`outcome:${outcome}`),
    })),
    byKind,
  };
}

/** The known names first in their order, then any others alphabetically. */
function ordered(present: Iterable<string>, known: readonly string[]): string[] {
  const others = [...present].filter((name) => !known.includes(name)).sort();
  return [...known, ...others];
}

function nonZero(sums: Map<string, number>): [string, number][] {
  return [...sums].filter(([, n]) => n !== 0).sort(([a], [b]) => a.localeCompare(b));
}

function partReason({ time, fields }: { time: string; fields: JournalEntry['fields'] }) {
  return { time, part: text(fields.part), reason: text(fields.reason) };
}

function text(value: string | number | undefined): string {
  return value === undefined ? '' : String(value);
}
