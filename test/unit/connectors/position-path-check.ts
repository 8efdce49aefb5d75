/**
 * Child process of file-source-position.test.ts, run as an unprivileged user when the tests run as
 * root (for whom folder permissions do not apply): checks a position file path and prints the
 * configuration error, or "ok".
 *
 *     node --import tsx position-path-check.ts <key> <path>
 */
import { checkPositionPath } from '../../../src/connectors/file/path-checks.js';

const [key, path] = process.argv.slice(2);
try {
  await checkPositionPath(key!, path!);
  process.stdout.write('ok\n');
} catch (err) {
  process.stdout.write(`${(err as Error).message}\n`);
}
