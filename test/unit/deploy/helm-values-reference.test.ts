import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  CHART_DIR,
  chartSchemaAndValues,
  valueRows,
  valuesTable,
  withValuesTable,
} from '../../../scripts/helm-values-reference.js';

test("the chart README's table of values is the schema's (npm run docs:config rewrites it)", async () => {
  const readme = await readFile(`${CHART_DIR}README.md`, 'utf8');
  const { schema, values } = await chartSchemaAndValues();
  const text = withValuesTable(readme, valuesTable(valueRows(schema, values)));
  assert.ok(text !== undefined, 'the chart README has no helm:values markers');
  assert.equal(text, readme, 'the chart README differs from values.schema.json: run npm run docs:config');
});

test('every value has a meaning and a type, and the required ones have no default', async () => {
  const { schema, values } = await chartSchemaAndValues();
  const rows = valueRows(schema, values);
  assert.ok(rows.length > 40, `only ${rows.length} rows`);
  for (const row of rows) {
    assert.notEqual(row.meaning, '', `${row.key} has no description`);
    assert.notEqual(row.type, '', `${row.key} has no type`);
  }
  assert.deepEqual(
    rows.filter((r) => r.default === 'required').map((r) => r.key),
    ['job', 'config'],
  );
  // Nested groups are listed by their keys, with values.yaml's defaults.
  assert.deepEqual(
    rows.filter((r) => r.key.startsWith('metrics.')),
    [
      {
        key: 'metrics.port',
        type: 'integer',
        default: '`9464`',
        meaning: rows.find((r) => r.key === 'metrics.port')!.meaning,
      },
      {
        key: 'metrics.scrapeAnnotations',
        type: 'boolean',
        default: '`true`',
        meaning: rows.find((r) => r.key === 'metrics.scrapeAnnotations')!.meaning,
      },
    ],
  );
});

test("the chart's appVersion is the service's version (the image's default tag)", async () => {
  const chart = parse(await readFile(`${CHART_DIR}Chart.yaml`, 'utf8')) as { appVersion: string };
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(chart.appVersion, pkg.version);
});
