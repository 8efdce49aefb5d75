import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { formatSummary, runPageContentChange } from './main.js';

const USAGE = `Usage: mw-enrich <job> --config FILE [--config FILE ...]

Jobs:
  page-content-change   mediawiki.page_change events in, mediawiki.page_content_change events out,
                        with each revision's content fetched from the MediaWiki Action API

Options:
  -c, --config FILE     YAML or JSON config; repeat to layer files (later ones override earlier ones)
  -h, --help            show this help
  -v, --version         show the version

Exit codes: 0 done (finite input read, or stopped by SIGINT/SIGTERM after draining),
            1 stopped by a failure (see the logs), 2 bad command line or configuration.
Logs are JSON (ECS) on standard error; events may go to standard output (connector: stdout).`;

const VERSION = '0.1.0';

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [job, ...extra] = positionals;
  if (job !== 'page-content-change' || extra.length > 0) {
    process.stderr.write(
      `${job === undefined ? 'a job is required' : `unknown job: ${[job, ...extra].join(' ')}`}\n\n${USAGE}\n`,
    );
    return 2;
  }
  try {
    const { summary, exitCode } = await runPageContentChange(values.config ?? []);
    process.stderr.write(`${formatSummary(summary)}\n`);
    return exitCode;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
