import type { Metrics } from './metrics.js';

/** The subset of a logger the reporter writes to. */
export interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/** Distinct field paths named in logs, per metric, before the reporter stops naming new ones. */
export const MAX_NAMED_DROPPED_FIELDS = 100;

/**
 * Counts fields dropped by a schema projection, and names each distinct field once in a warning.
 * The field names come from input events, so they never become metric labels (one series per name
 * would let any producer grow `/metrics` without bound); and the set of names logged is bounded.
 */
export class DroppedFieldReporter {
  private readonly named = new Map<string, Set<string>>();
  private readonly saturated = new Set<string>();

  constructor(
    private readonly metrics: Metrics,
    private readonly logger: WarnLogger,
    private readonly maxNamed = MAX_NAMED_DROPPED_FIELDS,
  ) {}

  report(metric: string, paths: readonly string[], context: Readonly<Record<string, unknown>> = {}): void {
    if (paths.length === 0) return;
    this.metrics.count(metric, undefined, paths.length);
    if (this.saturated.has(metric)) return;
    let named = this.named.get(metric);
    if (named === undefined) {
      named = new Set();
      this.named.set(metric, named);
    }
    for (const path of paths) {
      if (named.has(path)) continue;
      if (named.size >= this.maxNamed) {
        this.saturated.add(metric);
        this.named.delete(metric);
        this.logger.warn(
          { metric, named: this.maxNamed },
          'more distinct dropped fields than are named in logs; later ones are only counted',
        );
        return;
      }
      named.add(path);
      this.logger.warn(
        { ...context, metric, field: path.slice(0, 200) },
        'field dropped by the schema projection',
      );
    }
  }
}
