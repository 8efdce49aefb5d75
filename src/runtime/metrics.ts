import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventName, Labels, Metrics } from '../core/metrics.js';
import { EventJournal } from './event-journal.js';
import { METRIC_FAMILIES, METRIC_PREFIX, type MetricFamily, type MetricType } from './metric-catalog.js';

export interface PrometheusMetricsOptions {
  /** `mw_enrich_build_info{job_name}`. @default 'unknown' */
  readonly job?: string;
  /** `mw_enrich_build_info{version}`. @default 'unknown' */
  readonly version?: string;
  /** Asked at every scrape for `mw_enrich_ready` (what /readyz answers). @default not ready */
  readonly ready?: () => boolean;
  /** prom-client's process and Node.js metrics, under the prefix. @default true */
  readonly defaultMetrics?: boolean;
  /**
   * A name, label set or label value the catalogue does not declare throws (for tests). Otherwise
   * the write is dropped and logged once per name and problem: a metric is never worth stopping the
   * service for, and an undeclared family must not appear on /metrics. @default false
   */
  readonly strict?: boolean;
  /** Where refusals are logged. @default process.emitWarning */
  readonly logger?: { warn(obj: object, msg?: string): void };
}

/** prom-client default metrics left out: gauges whose names end in `_total`. */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type Metric = Counter | Gauge | Histogram;

/** The labels of a write that gives none: one frozen object, not a new one per write. */
const NO_LABELS: Labels = Object.freeze({});

/**
 * One series of a family, resolved once: what a write with the same method, name and labels goes
 * to (an increment, an observation or a value, by the family's type).
 */
type Series = (value: number) => void;

interface Registered {
  readonly family: MetricFamily;
  readonly metric: Metric;
  readonly values: ReadonlyMap<string, ReadonlySet<string>>;
}

/** What each `Metrics` method writes to. */
const METHOD_TYPE: Readonly<Record<'count' | 'observe' | 'gauge', MetricType>> = {
  count: 'counter',
  observe: 'histogram',
  gauge: 'gauge',
};

/**
 * Backs the `Metrics` interface with prom-client. Every family of the catalogue is registered at
 * construction, so /metrics shows them (at 0, with every series of closed label sets) before
 * anything happened; a write to a family the catalogue does not declare, with another label set,
 * or with a value outside a declared closed set, is refused (see `strict`).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  /** The latest notable events, for the status page. */
  readonly journal = new EventJournal();
  private readonly families = new Map<string, Registered>();
  private readonly strict: boolean;
  private readonly warn: (obj: object, msg: string) => void;
  /** Refusals already logged, by name and problem (bounded: names and problems come from code). */
  private readonly logged = new Set<string>();
  /**
   * Accepted writes by method, name and labels, resolved to their series: the hot path (several
   * writes per record) then costs a few map lookups instead of the catalogue's checks and
   * prom-client's hashing of the label object, and builds no key. Bounded as the series are: label
   * values come from closed sets, and refused writes are not kept.
   */
  private readonly resolved = {
    count: new Map<string, SeriesNode>(),
    observe: new Map<string, SeriesNode>(),
    gauge: new Map<string, SeriesNode>(),
  };
  /** Counter increments not yet handed to prom-client, by family (bounded as the series are). */
  private readonly pendingCounts = new Map<string, Array<{ labels: Labels; pending: number }>>();
  /** Gauges set from a reader when collected (`gaugeFrom`), by full name. */
  private readonly readers = new Map<string, () => number>();

  /** `options` may be a boolean, as before: whether to collect prom-client's default metrics. */
  constructor(given: PrometheusMetricsOptions | boolean = {}) {
    const options: PrometheusMetricsOptions = typeof given === 'boolean' ? { defaultMetrics: given } : given;
    this.strict = options.strict ?? false;
    const logger = options.logger;
    this.warn = logger
      ? (obj, msg) => logger.warn(obj, msg)
      : (obj, msg) => process.emitWarning(`${msg}: ${JSON.stringify(obj)}`, 'MetricsWarning');
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
      // Gauges named like counters (`promtool check metrics` refuses them); each is the sum of the
      // family of the same name without `_total`, by type.
      for (const name of MISNAMED_DEFAULT_METRICS)
        this.registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
    }
    for (const family of METRIC_FAMILIES) this.register(family, options);
    this.gauge('build_info', 1, {
      version: options.version ?? 'unknown',
      job_name: options.job ?? 'unknown',
    });
  }

  count(name: string, labels: Labels = NO_LABELS, value = 1): void {
    if (!(value >= 0 && Number.isFinite(value))) {
      if (this.check('count', name, labels)) this.refuse(name, 'value', `counter increment ${value}`);
      return;
    }
    this.resolve('count', name, labels)?.(value);
  }

  observe(name: string, value: number, labels: Labels = NO_LABELS): void {
    if (!Number.isFinite(value)) {
      if (this.check('observe', name, labels)) this.refuse(name, 'value', `observation ${value}`);
      return;
    }
    this.resolve('observe', name, labels)?.(value);
  }

  gauge(name: string, value: number, labels: Labels = NO_LABELS): void {
    this.resolve('gauge', name, labels)?.(value);
  }

  gaugeFrom(name: string, read: () => number): void {
    const found = this.check('gauge', name, {});
    if (found) this.readers.set(found.family.name, read);
  }

  remove(name: string, labels: Labels): void {
    const found = this.check('gauge', name, labels);
    if (found) found.metric.remove(labels);
  }

  event(name: EventName, fields: Labels): void {
    this.journal.record(name, fields);
  }

  private register(family: MetricFamily, options: PrometheusMetricsOptions): void {
    const common = {
      name: family.name,
      help: family.help,
      labelNames: [...family.labels],
      registers: [this.registry],
    };
    let metric: Metric;
    switch (family.type) {
      case 'counter': {
        const pendingCounts = this.pendingCounts;
        metric = new Counter({
          ...common,
          collect() {
            for (const counted of pendingCounts.get(family.name) ?? []) {
              if (counted.pending === 0) continue;
              this.inc(counted.labels, counted.pending);
              counted.pending = 0;
            }
          },
        });
        break;
      }
      case 'histogram':
        metric = new Histogram({ ...common, buckets: [...(family.buckets ?? [])] });
        break;
      case 'gauge': {
        const ready = options.ready;
        const readers = this.readers;
        metric =
          family.name === `${METRIC_PREFIX}ready` && ready
            ? new Gauge({
                ...common,
                collect() {
                  this.set(ready() ? 1 : 0);
                },
              })
            : new Gauge({
                ...common,
                collect() {
                  const read = readers.get(family.name);
                  if (read) this.set(read());
                },
              });
        break;
      }
    }
    const values = new Map<string, ReadonlySet<string>>();
    for (const [label, set] of Object.entries(family.values ?? {})) values.set(label, new Set(set));
    this.families.set(family.name, { family, metric, values });
    if (family.labels.length > 0 && family.labels.every((label) => values.has(label))) {
      for (const labels of combinations(family.labels, values)) {
        if (metric instanceof Counter) metric.inc(labels, 0);
        else if (metric instanceof Histogram) metric.zero(labels);
        else metric.set(labels, 0);
      }
    }
  }

  /** The series a write goes to, checked against the catalogue the first time; undefined when refused. */
  private resolve(method: keyof typeof METHOD_TYPE, name: string, labels: Labels): Series | undefined {
    // One node per label and value, in the order the labels are given: no key is built per write.
    let node = this.resolved[method].get(name);
    for (const label in labels) {
      if (node === undefined) break;
      node = node.children?.get(label)?.get(labels[label]);
    }
    return node?.series ?? this.resolveFirst(method, name, labels);
  }

  private resolveFirst(method: keyof typeof METHOD_TYPE, name: string, labels: Labels): Series | undefined {
    for (const label in labels) {
      const value = labels[label];
      // A label value is one value: a NUL, which no exposition reader expects, is refused.
      if (typeof value === 'string' && value.includes('\u0000')) {
        return this.refuse(name, `value of ${label}`, `${label} holds a NUL character`);
      }
    }
    const found = this.check(method, name, labels);
    if (!found) return undefined;
    const { metric } = found;
    let series: Series;
    if (method === 'count') {
      // Added up here and handed to prom-client when collected: its `inc` hashes the labels on
      // every call, several times per record.
      const counted = { labels: { ...labels }, pending: 0 };
      // The series exists from its first write, even of 0, as prom-client's own would.
      if (found.family.labels.length === 0) (metric as Counter).inc(0);
      else (metric as Counter).inc(labels, 0);
      let list = this.pendingCounts.get(found.family.name);
      if (!list) this.pendingCounts.set(found.family.name, (list = []));
      list.push(counted);
      series = (value) => (counted.pending += value);
    } else if (method === 'observe') {
      // prom-client's child binds the label values once; a family without labels is its own series.
      const bound =
        found.family.labels.length === 0 ? (metric as Histogram) : (metric as Histogram).labels(labels);
      series = (value) => bound.observe(value);
    } else {
      const bound = found.family.labels.length === 0 ? (metric as Gauge) : (metric as Gauge).labels(labels);
      series = (value) => bound.set(value);
    }
    let node = this.resolved[method].get(name);
    if (!node) this.resolved[method].set(name, (node = {}));
    for (const label in labels) {
      node.children ??= new Map();
      let byValue = node.children.get(label);
      if (!byValue) node.children.set(label, (byValue = new Map()));
      let next = byValue.get(labels[label]);
      if (!next) byValue.set(labels[label], (next = {}));
      node = next;
    }
    node.series = series;
    return series;
  }

  /**
   * The family a write goes to, or undefined when the catalogue refuses it. A counter may be named
   * without its `_total` (`outcomes` for `mw_enrich_outcomes_total`).
   */
  private check(method: keyof typeof METHOD_TYPE, name: string, labels: Labels): Registered | undefined {
    const found =
      this.families.get(`${METRIC_PREFIX}${name}`) ??
      (method === 'count' ? this.families.get(`${METRIC_PREFIX}${name}_total`) : undefined);
    if (!found) return this.refuse(name, 'name', 'not declared in the metric catalogue');
    const { family, values } = found;
    if (family.type !== METHOD_TYPE[method]) {
      return this.refuse(name, 'type', `a ${family.type}, written with ${method}()`);
    }
    const given = Object.keys(labels);
    if (given.length !== family.labels.length || !given.every((label) => family.labels.includes(label))) {
      return this.refuse(
        name,
        'labels',
        `labels {${given.sort().join(',')}}, declared {${[...family.labels].sort().join(',')}}`,
      );
    }
    for (const [label, allowed] of values) {
      if (!allowed.has(String(labels[label]))) {
        return this.refuse(
          name,
          `value of ${label}`,
          `${label}=${JSON.stringify(labels[label])} is not declared`,
        );
      }
    }
    return found;
  }

  private refuse(name: string, what: string, problem: string): undefined {
    const message = `metric ${METRIC_PREFIX}${name} refused: ${problem}`;
    if (this.strict) throw new Error(message);
    const key = `${name}\u0000${what}`;
    if (this.logged.has(key)) return undefined;
    this.logged.add(key);
    this.warn(
      { metric: `${METRIC_PREFIX}${name}`, problem },
      'metric refused (see src/runtime/metric-catalog.ts)',
    );
    return undefined;
  }
}

/** A resolved series, or the way to it: by the next label's name, then its value. */
interface SeriesNode {
  series?: Series;
  children?: Map<string, Map<unknown, SeriesNode>>;
}

/** Every combination of the closed label values. */
function combinations(
  labels: readonly string[],
  values: ReadonlyMap<string, ReadonlySet<string>>,
): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const label of labels) {
    out = out.flatMap((partial) => [...(values.get(label) ?? [])].map((v) => ({ ...partial, [label]: v })));
  }
  return out;
}
