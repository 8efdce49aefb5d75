/**
 * The Grafana dashboard and the alert rules against the metric catalogue: every query names series
 * the service exports (or a recording rule, a prom-client default metric, `up`) with labels they
 * have; every panel has a title and the dashboard's Prometheus datasource and filters by the `job` and
 * `instance` variables; every family in the catalogue is on the dashboard.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { METRIC_FAMILIES } from '../../../src/runtime/metric-catalog.js';
import {
  allPanels,
  knownSeries,
  problemsOf,
  readDashboard,
  readRules,
  type Dashboard,
  type DashboardVariable,
  type Rule,
  type Series,
} from './ops-files.js';
import { references } from './promql-names.js';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** `label_values(<selector>, <label>)`: Grafana's variable query, not PromQL. */
function variableQuery(v: DashboardVariable): { expr: string; label: string } {
  const text = typeof v.query === 'string' ? v.query : v.query.query;
  const match = /^label_values\((.*),\s*(\w+)\s*\)$/.exec(text);
  assert.ok(match, `variable ${v.name}: ${text} is label_values(selector, label)`);
  return { expr: match[1]!, label: match[2]! };
}

/** Every PromQL expression of the dashboard, with where it is. */
function dashboardExpressions(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of allPanels(d)) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  }
  for (const v of d.templating.list.filter((v) => v.type === 'query')) {
    out.push({ where: `variable ${v.name}`, expr: variableQuery(v).expr });
  }
  return out;
}

describe('Grafana dashboard and alert rules against the metric catalogue', () => {
  let dashboard: Dashboard;
  let rules: Rule[];
  let known: Map<string, Series>;
  before(async () => {
    dashboard = await readDashboard();
    rules = await readRules();
    known = await knownSeries(rules);
  });

  it('every dashboard query names known series, with labels they have', () => {
    const expressions = dashboardExpressions(dashboard);
    assert.ok(expressions.length >= 40, `the dashboard's queries: ${expressions.length}`);
    const problems = expressions.flatMap(({ where, expr }) =>
      problemsOf(expr, known).map((p) => `${where}: ${p}`),
    );
    assert.deepEqual(problems, []);
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const { expr, label } = variableQuery(v);
      const name = references(expr).selectors[0]!.name;
      assert.ok(known.get(name)?.labels.has(label), `variable ${v.name}: ${name} has the label ${label}`);
    }
  });

  it('every rule expression names known series, with labels they have', () => {
    assert.ok(rules.length >= 10, `rules: ${rules.length}`);
    const problems = rules.flatMap((r) =>
      problemsOf(r.expr, known).map((p) => `${r.alert ?? r.record}: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

  it('every panel has a title; every panel but a row has the Prometheus datasource variable and queries', () => {
    const panels = allPanels(dashboard);
    assert.ok(panels.length >= 25, `panels: ${panels.length}`);
    for (const p of panels) {
      assert.ok(p.title && p.title.trim().length > 0, `panel ${p.id} has a title`);
      // A row only groups panels: it has no queries of its own.
      if (p.type === 'row') continue;
      assert.deepEqual(p.datasource, DATASOURCE, `panel "${p.title}" datasource`);
      assert.ok((p.targets ?? []).length > 0, `panel "${p.title}" has queries`);
      const refIds = p.targets!.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `panel "${p.title}": refIds are distinct`);
      for (const t of p.targets!) {
        assert.deepEqual(t.datasource, DATASOURCE, `panel "${p.title}" ${t.refId} datasource`);
        assert.ok(t.expr.trim().length > 0, `panel "${p.title}" ${t.refId} has an expression`);
      }
    }
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are distinct');
  });

  it('panels lie inside the 24 columns and do not overlap', () => {
    const boxes = allPanels(dashboard).map((p) => ({ title: p.title, ...p.gridPos }));
    for (const b of boxes) assert.ok(b.x >= 0 && b.w > 0 && b.x + b.w <= 24 && b.h > 0, `"${b.title}" fits`);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        assert.ok(apart, `"${a.title}" and "${b.title}" overlap`);
      }
    }
  });

  it('has a Prometheus datasource variable and job/instance variables on it, and every query filters by them', () => {
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assert.deepEqual([...byName.keys()].sort(), ['datasource', 'instance', 'job'], 'the dashboard variables');
    assert.equal(byName.get('datasource')!.type, 'datasource');
    assert.equal(byName.get('datasource')!.query, 'prometheus');
    for (const name of ['job', 'instance']) {
      assert.equal(byName.get(name)!.type, 'query');
      assert.deepEqual(byName.get(name)!.datasource, DATASOURCE);
    }
    assert.equal(variableQuery(byName.get('instance')!).expr, 'mw_enrich_ready{job=~"$job"}');

    // Recording rules are per job already (and the objective is one number for all).
    const unfiltered: string[] = [];
    for (const p of allPanels(dashboard)) {
      for (const t of p.targets ?? []) {
        for (const s of references(t.expr).selectors) {
          const series = known.get(s.name);
          // An unknown name is the first test's failure.
          if (!series) continue;
          const has = (label: string, value: string) =>
            s.matchers.some((m) => m.label === label && m.op === '=~' && m.value === value);
          if (series.source === 'a recording rule') {
            if (series.labels.has('job') && !series.labels.has('instance') && !has('job', '$job'))
              unfiltered.push(`panel "${p.title}" ${t.refId}: ${s.name} without job=~"$job"`);
            continue;
          }
          if (!has('job', '$job') || !has('instance', '$instance'))
            unfiltered.push(
              `panel "${p.title}" ${t.refId}: ${s.name} without job=~"$job" and instance=~"$instance"`,
            );
        }
      }
    }
    assert.deepEqual(unfiltered, []);
  });

  it('shows every family of the metric catalogue, and the SLI with its objective', () => {
    const shown = new Set(
      dashboardExpressions(dashboard).flatMap(({ expr }) => references(expr).selectors.map((s) => s.name)),
    );
    const missing = METRIC_FAMILIES.filter(
      (f) => ![f.name, `${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].some((n) => shown.has(n)),
    ).map((f) => f.name);
    assert.deepEqual(missing, [], 'families not on the dashboard');
    const sli = allPanels(dashboard).find((p) => p.title?.includes('SLI'));
    assert.ok(sli, 'an SLI panel');
    const names = sli.targets!.flatMap((t) => references(t.expr).selectors.map((s) => s.name));
    assert.ok(names.includes('mw_enrich:enriched_ratio:rate5m'), 'the SLI panel shows the recording rule');
    assert.ok(names.includes('mw_enrich:enriched_ratio:objective'), 'the SLI panel shows the objective');
  });
});
