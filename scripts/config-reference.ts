/** Writes README's configuration tables and its table of metrics from the declarations (`npm run docs:config`). */
import { readFile, writeFile } from 'node:fs/promises';
import { withConfigReference } from '../src/runtime/config-reference.js';
import { withMetricReference } from '../src/runtime/metric-reference.js';

const path = new URL('../README.md', import.meta.url);
const { text, missing } = withConfigReference(await readFile(path, 'utf8'));
const metrics = withMetricReference(text);
if (!metrics.found) missing.push('metrics:families');
if (missing.length > 0) {
  process.stderr.write(`README has no marker for: ${missing.join(', ')}\n`);
  process.exit(1);
}
await writeFile(path, metrics.text);
