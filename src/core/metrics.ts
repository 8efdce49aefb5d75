/**
 * The metrics interface the inner layers write to. The runtime backs it with prom-client; tests can
 * use `recordingMetrics()` to assert on counts. Names are those of `src/runtime/metric-catalog.ts`
 * without the `mw_enrich_` prefix (`outcomes_total`, `mediawiki_request_duration_seconds`): the
 * runtime refuses a name or a label set the catalogue does not declare. Label values must come from
 * closed sets (or sets the configuration bounds, such as topics), never from input.
 */
export type Labels = Readonly<Record<string, string | number>>;

export interface Metrics {
  /** Adds `value` (default 1) to a counter. */
  count(name: string, labels?: Labels, value?: number): void;
  /** Records one observation of a histogram (seconds for durations, bytes for sizes). */
  observe(name: string, value: number, labels?: Labels): void;
  /** Sets a gauge. */
  gauge(name: string, value: number, labels?: Labels): void;
  /**
   * A gauge without labels whose value `read` gives whenever the metrics are looked at (a scrape,
   * the status page): for a value that changes with every record, where setting it each time would
   * cost more than reading it when asked. A later call replaces the reader.
   */
  gaugeFrom(name: string, read: () => number): void;
  /** Removes a gauge's series: what it measured is gone (a partition given up). */
  remove(name: string, labels: Labels): void;
  /**
   * Notes an event an operator wants to see by itself, not only counted (an error event, a
   * rebalance, a restart of a client): the runtime keeps the latest few of each name for the status
   * page. Field values are shown as given, so they must not carry secrets.
   */
  event(name: EventName, fields: Labels): void;
}

/** The notable events the status page lists. */
export type EventName = 'error_event' | 'rebalance' | 'restart' | 'waiting';

export const noopMetrics: Metrics = {
  count() {},
  observe() {},
  gauge() {},
  gaugeFrom() {},
  remove() {},
  event() {},
};

function labelKey(name: string, labels?: Labels): string {
  if (!labels || Object.keys(labels).length === 0) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/**
 * In-memory metrics for tests: `counts.get('name{label=value}')` holds counters and gauges,
 * `observations.get('name{label=value}')` the values a histogram was given, in order; `total(name)`
 * reads a `gaugeFrom` gauge.
 */
export function recordingMetrics(): Metrics & {
  counts: Map<string, number>;
  observations: Map<string, number[]>;
  events: { name: EventName; fields: Labels }[];
  total(name: string): number;
} {
  const counts = new Map<string, number>();
  const observations = new Map<string, number[]>();
  const events: { name: EventName; fields: Labels }[] = [];
  const readers = new Map<string, () => number>();
  return {
    counts,
    observations,
    events,
    event(name, fields) {
      events.push({ name, fields });
    },
    count(name, labels, value = 1) {
      const key = labelKey(name, labels);
      counts.set(key, (counts.get(key) ?? 0) + value);
    },
    observe(name, value, labels) {
      const key = labelKey(name, labels);
      let list = observations.get(key);
      if (!list) observations.set(key, (list = []));
      list.push(value);
    },
    gauge(name, value, labels) {
      counts.set(labelKey(name, labels), value);
    },
    gaugeFrom(name, read) {
      readers.set(name, read);
    },
    remove(name, labels) {
      counts.delete(labelKey(name, labels));
    },
    total(name) {
      const read = readers.get(name);
      if (read) return read();
      let sum = 0;
      for (const [key, value] of counts) if (key === name || key.startsWith(`${name}{`)) sum += value;
      return sum;
    },
  };
}
