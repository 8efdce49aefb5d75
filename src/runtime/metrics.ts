import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventName, Labels, Metrics } from '../core/metrics.js';
import { EventJournal } from './event-journal.js';

const PREFIX = 'mw_enrich_';

/**
 * Backs the `Metrics` interface with prom-client. Metrics are created on first use, so inner layers
 * name what they count without a central list; label names are fixed by the first use of a name.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  /** The latest notable events, for the status page. */
  readonly journal = new EventJournal();
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly gauges = new Map<string, Gauge>();

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  count(name: string, labels: Labels = {}, value = 1): void {
    let metric = this.counters.get(name);
    if (!metric) {
      metric = new Counter({
        // Prometheus counters end in `_total`; a name that already says so gets it once.
        name: `${PREFIX}${name.replace(/_total$/, '')}_total`,
        help: name.replaceAll('_', ' '),
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      this.counters.set(name, metric);
    }
    metric.inc(labels, value);
  }

  observe(name: string, value: number, labels: Labels = {}): void {
    let metric = this.histograms.get(name);
    if (!metric) {
      const buckets = name.endsWith('_seconds')
        ? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
        : [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1e4, 1e5, 1e6, 1e7];
      metric = new Histogram({
        name: `${PREFIX}${name}`,
        help: name.replaceAll('_', ' '),
        labelNames: Object.keys(labels),
        buckets,
        registers: [this.registry],
      });
      this.histograms.set(name, metric);
    }
    metric.observe(labels, value);
  }

  event(name: EventName, fields: Labels): void {
    this.journal.record(name, fields);
  }

  gauge(name: string, value: number, labels: Labels = {}): void {
    let metric = this.gauges.get(name);
    if (!metric) {
      metric = new Gauge({
        name: `${PREFIX}${name}`,
        help: name.replaceAll('_', ' '),
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      this.gauges.set(name, metric);
    }
    metric.set(labels, value);
  }
}
