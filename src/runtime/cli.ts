import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { findJob, JOBS } from '../jobs/registry.js';
import { checkJobFromFiles, formatSummary, printableConfig, runJobFromFiles } from './main.js';

const VERSION = '0.1.0';

/** Folds a description onto lines of at most `width` characters, each indented by `indent`. */
function fold(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${indent}${l}`));
}

/** The usage text; its list of jobs comes from the registry. */
export function usage(): string {
  const nameWidth = Math.max(...JOBS.map((job) => job.name.length)) + 3;
  const jobs = JOBS.map(
    (job) =>
      `  ${job.name.padEnd(nameWidth)}${fold(job.description, 100 - nameWidth, ' '.repeat(nameWidth + 2)).join('\n')}`,
  );
  return `Usage: mw-enrich <job> --config FILE [--config FILE ...]

Jobs:
${jobs.join('\n')}

Options:
  -c, --config FILE     YAML or JSON config; repeat to layer files (later ones override earlier ones)
      --check           load the config, the stream configs and the schemas, check the file paths,
                        connect to nothing else; exit 0 or 2
      --print-config    print the resolved config (defaults filled in, secrets masked) and exit
  -h, --help            show this help
  -v, --version         show the version

Exit codes: 0 done (finite input read, or stopped by SIGINT/SIGTERM after draining),
            1 stopped by a failure (see the logs), 2 bad command line or configuration.
Logs are JSON (ECS) on standard error; events may go to standard output (connector: stdout).`;
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        help: { type: 'boolean', short: 'h' },
        check: { type: 'boolean' },
        'print-config': { type: 'boolean' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage()}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [name, ...extra] = positionals;
  const job = name === undefined ? undefined : findJob(name);
  if (job === undefined || extra.length > 0) {
    const problem = name === undefined ? 'a job is required' : `unknown job: ${positionals.join(' ')}`;
    process.stderr.write(`${problem}\n\n${usage()}\n`);
    return 2;
  }
  try {
    if (values['print-config']) {
      process.stdout.write(await printableConfig(job, values.config ?? []));
      return 0;
    }
    if (values.check) {
      await checkJobFromFiles(job, values.config ?? []);
      process.stderr.write('configuration ok\n');
      return 0;
    }
    const { summary, exitCode } = await runJobFromFiles(job, values.config ?? []);
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
