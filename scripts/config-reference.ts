/** Writes README's configuration tables from the declarations (`npm run docs:config`). */
import { readFile, writeFile } from 'node:fs/promises';
import { withConfigReference } from '../src/runtime/config-reference.js';

const path = new URL('../README.md', import.meta.url);
const { text, missing } = withConfigReference(await readFile(path, 'utf8'));
if (missing.length > 0) {
  process.stderr.write(`README has no marker for: ${missing.join(', ')}\n`);
  process.exit(1);
}
await writeFile(path, text);
