import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { METRIC_FAMILIES } from '../../../src/runtime/metric-catalog.js';
import { metricTable, withMetricReference } from '../../../src/runtime/metric-reference.js';

test("README's table of metrics is the catalogue's (npm run docs:config rewrites it)", async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const { text, found } = withMetricReference(readme);
  assert.ok(found, 'README has the metrics:families markers');
  assert.equal(text, readme, 'README differs from the catalogue: run npm run docs:config');
});

test('the table has one row per family, in catalogue order, with its type, labels and meaning', () => {
  const rows = metricTable().split('\n').slice(2);
  assert.deepEqual(
    rows.map((row) => /^\| `([a-z_]+)` \| (counter|gauge|histogram) \|/.exec(row)?.slice(1)),
    METRIC_FAMILIES.map((f) => [f.name, f.type]),
  );
  const outcomes = rows.find((row) => row.startsWith('| `mw_enrich_outcomes_total`'))!;
  assert.match(
    outcomes,
    /`outcome` \(enriched, passed, dropped, failed\), `page_change_kind` \(create, edit,/,
  );
  const latency = rows.find((row) => row.startsWith('| `mw_enrich_event_latency_seconds`'))!;
  assert.match(latency, /Buckets: 0\.1, 0\.25, .*, 86400\. \|$/);
});

test('a README without the markers is left as it is, and says so', () => {
  assert.deepEqual(withMetricReference('# no table here\n'), { text: '# no table here\n', found: false });
});
