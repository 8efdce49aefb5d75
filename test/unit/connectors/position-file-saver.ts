/**
 * Child process of position-file.test.ts: like a source that resumes, it loads the saved number and
 * saves ever larger ones after it, as fast as it can, printing each once its save has resolved,
 * until it is killed.
 *
 *     node --import tsx position-file-saver.ts <path> <padding bytes>
 */
import { PositionFile } from '../../../src/connectors/position-file.js';

const [path, padding] = process.argv.slice(2);
const pad = 'x'.repeat(Number(padding));
const positions = new PositionFile(path!, (value) => value as { n: number; pad: string });
for (let n = ((await positions.load())?.n ?? 0) + 1; ; n++) {
  await positions.save({ n, pad });
  process.stdout.write(`${n}\n`);
}
