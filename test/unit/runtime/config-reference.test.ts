import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { configReferenceBlocks, withConfigReference } from '../../../src/runtime/config-reference.js';

test("README's configuration tables are the declarations' (npm run docs:config rewrites them)", async () => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const { text, missing } = withConfigReference(readme);
  assert.deepEqual(missing, [], 'every declared section has its place in README');
  assert.equal(text, readme, 'README differs from the declarations: run npm run docs:config');
});

test('every option of every declared section has a row with a description', () => {
  for (const [name, table] of Object.entries(configReferenceBlocks())) {
    for (const row of table.split('\n').slice(2)) {
      assert.match(row, /^\| `[a-z_.]+` \| .+ \| .+\S \|$/, `${name}: ${row}`);
    }
  }
});
