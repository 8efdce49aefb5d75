import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The package's version from its package.json, read once at run time. This file is
 * `src/runtime/status/version.ts` and, compiled, `dist/runtime/status/version.js`: both three
 * folders below the package root, where npm always installs package.json.
 */
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const manifest = JSON.parse(
        readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
      ) as {
        version?: unknown;
      };
      cached = typeof manifest.version === 'string' ? manifest.version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
