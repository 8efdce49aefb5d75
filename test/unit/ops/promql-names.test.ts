/**
 * The PromQL tokenizer that the dashboard and rule checks rely on: it must find every metric a
 * query names (and nothing else) in the shapes dashboards and rules use.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { references } from './promql-names.js';

const names = (expr: string) => references(expr).selectors.map((s) => s.name);

describe('promql-names', () => {
  it('finds the metric names of aggregations, functions, binary operators and histograms', () => {
    const expr = `histogram_quantile(0.99, sum by (le, outcome) (rate(mw_enrich_processing_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))
      / on (job) group_left ()
      sum without (instance) (increase(a_total[5m] offset 6d23h)) > bool 1e-3
      and count(b) by (topic) unless absent(c{x!="y, z}"})`;
    assert.deepEqual(names(expr), ['mw_enrich_processing_duration_seconds_bucket', 'a_total', 'b', 'c']);
    assert.deepEqual(references(expr).groupingLabels, ['le', 'outcome', 'job', 'instance', 'topic']);
  });

  it('reads label matchers with every operator, escaped quotes and Grafana variables', () => {
    const { selectors } = references(
      `m{job=~"$job",instance=~"\${instance}", outcome!="a\\"b", k!~'x|y', __name__="ignored_here"}`,
    );
    assert.deepEqual(selectors, [
      {
        name: 'm',
        matchers: [
          { label: 'job', op: '=~', value: '$job' },
          { label: 'instance', op: '=~', value: '${instance}' },
          { label: 'outcome', op: '!=', value: 'a"b' },
          { label: 'k', op: '!~', value: 'x|y' },
          { label: '__name__', op: '=', value: 'ignored_here' },
        ],
      },
    ]);
  });

  it('takes the name of a selector without a bare name from __name__', () => {
    assert.deepEqual(references('rate({__name__="x_total", job="j"}[1m])').selectors, [
      { name: 'x_total', matchers: [{ label: 'job', op: '=', value: 'j' }] },
    ]);
  });

  it('recording rule names with colons, subqueries and comments', () => {
    assert.deepEqual(
      names('max_over_time(mw_enrich:enriched_ratio:rate5m[1h:5m]) # not_a_metric\n < vector(0.99)'),
      ['mw_enrich:enriched_ratio:rate5m'],
    );
  });

  it('refuses unknown functions, unbalanced strings and stray characters instead of skipping them', () => {
    assert.throws(() => references('rates(x[5m])'), /unknown function rates/);
    assert.throws(() => references('x{a="b}'), /unterminated string/);
    assert.throws(() => references('x ; y'), /unexpected character ";"/);
    assert.throws(() => references('x{a b}'), /expected a label matcher/);
  });
});
