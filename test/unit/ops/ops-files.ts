/**
 * The operating files (alert rules, their tests, the Grafana dashboard) as the unit tests read them,
 * and the series names the service exports: the metric catalogue, prom-client's default metrics
 * under the same prefix, and Prometheus's own `up`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parse } from 'yaml';
import { METRIC_FAMILIES, METRIC_PREFIX } from '../../../src/runtime/metric-catalog.js';
import { references } from './promql-names.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy', 'prometheus');
export const RULES_FILE = join(PROMETHEUS_DIR, 'rules.yaml');
export const RULE_TEST_FILES = ['rules.test.yaml', 'rules-days.test.yaml'].map((f) =>
  join(PROMETHEUS_DIR, f),
);
export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy', 'grafana', 'mediawiki-event-enrichment.json');

/** Labels every scraped series gets from its target. */
export const TARGET_LABELS = ['job', 'instance'];

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export async function readRules(): Promise<Rule[]> {
  const doc = parse(await readFile(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export interface Series {
  /** Where the name comes from, for failure messages. */
  readonly source: string;
  /** Label names a selector of it may match on (target labels included). */
  readonly labels: ReadonlySet<string>;
}

/**
 * Every series name a query may use: each catalogue family (a histogram as its `_bucket`, `_sum` and
 * `_count`), prom-client's default metrics with the service prefix, `up`, and the recording rules
 * (labelled by their expressions' `by` clauses).
 */
export async function knownSeries(rules: readonly Rule[]): Promise<Map<string, Series>> {
  const known = new Map<string, Series>();
  const add = (name: string, type: string, labels: readonly string[], source: string) => {
    const all = [...labels, ...TARGET_LABELS];
    if (type !== 'histogram') {
      known.set(name, { source, labels: new Set(all) });
      return;
    }
    known.set(`${name}_bucket`, { source, labels: new Set([...all, 'le']) });
    known.set(`${name}_sum`, { source, labels: new Set(all) });
    known.set(`${name}_count`, { source, labels: new Set(all) });
  };
  for (const f of METRIC_FAMILIES) add(f.name, f.type, f.labels, 'the metric catalogue');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  for (const m of await registry.getMetricsAsJSON()) {
    const labels = new Set(m.values.flatMap((v) => Object.keys(v.labels)));
    labels.delete('le');
    add(m.name, String(m.type), [...labels], 'prom-client default metrics');
  }
  add('up', 'gauge', [], 'Prometheus');
  for (const rule of rules) {
    if (rule.record) add(rule.record, 'gauge', references(rule.expr).groupingLabels, 'a recording rule');
  }
  return known;
}

/** What is wrong with one expression's names and labels; empty when nothing. */
export function problemsOf(expr: string, known: ReadonlyMap<string, Series>): string[] {
  const problems: string[] = [];
  const { selectors, groupingLabels } = references(expr);
  const labelsInScope = new Set<string>(TARGET_LABELS);
  for (const s of selectors) {
    const series = known.get(s.name);
    if (!series) {
      problems.push(`${s.name} is no metric family, default metric, recording rule or up`);
      continue;
    }
    for (const l of series.labels) labelsInScope.add(l);
    for (const m of s.matchers) {
      if (!series.labels.has(m.label)) problems.push(`${s.name} (${series.source}) has no label ${m.label}`);
    }
  }
  for (const l of groupingLabels) {
    if (!labelsInScope.has(l))
      problems.push(`grouping label ${l} is on none of ${selectors.map((s) => s.name)}`);
  }
  return problems;
}

export interface DashboardTarget {
  readonly refId: string;
  readonly expr: string;
  readonly datasource?: { type: string; uid: string };
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title?: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: DashboardTarget[];
  readonly panels?: DashboardPanel[];
}

export interface DashboardVariable {
  readonly name: string;
  readonly type: string;
  readonly query: string | { query: string };
  readonly datasource?: { type: string; uid: string };
}

export interface Dashboard {
  readonly title: string;
  readonly uid: string;
  readonly panels: DashboardPanel[];
  readonly templating: { list: DashboardVariable[] };
}

export async function readDashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Panels, those inside collapsed rows included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}
