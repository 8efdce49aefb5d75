/**
 * Sinks that cannot write, with the CLI as a child process: standard output into a reader that went
 * away (EPIPE), into `head -1`, into /dev/full (ENOSPC), closed before the start; a file sink on
 * /dev/full. A failed write stops the job as an infrastructure failure: exit 1, the summary on
 * standard error, nothing committed past what was written, and no uncaught exception.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import {
  ensureBuilt,
  logLines,
  pageContentChange,
  parseSummaryLine,
  runCli,
  spawnCli,
  viaShell,
  writeCliJob,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { assertValidOutput, readLines, startApi, type Json } from '../helpers/job-harness.js';

before(() => ensureBuilt());

/** Enough output (about 1 MB) that it cannot all sit in a pipe's buffer before the reader leaves. */
const EVENTS = 200;
const CONTENT = 'x'.repeat(4096);

const edit = (revId: number) =>
  pageChangeEvent({
    meta: { request_id: `sinks-${revId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

/**
 * The test API with EVENTS revisions, and the input file of their edits with a config (debug logs,
 * so that commits show) with the given sink bindings.
 */
async function prepare(t: TestContext, overrides: Json) {
  const api = await startApi(t);
  const events: Json[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const revId = 1000 + i;
    api.addRevision({
      revId,
      pageId: 1,
      title: 'Main_Page',
      slots: { main: { content: `${revId} ${CONTENT}` } },
    });
    events.push(edit(revId));
  }
  const files = await writeCliJob(
    t,
    events,
    api.url,
    { runtime: { log_level: 'debug' }, ...overrides },
    'cli-sinks-',
  );
  return { api, ...files };
}

const toStdout = { stream_manager: { sink: { connector: 'stdout', options: undefined } } };

/**
 * Standard error holds only the JSON logs, the summary line and, for a configuration error, its
 * one-line message: an uncaught exception would add its stack trace there.
 */
function assertNoCrash(stderr: string): void {
  for (const line of stderr.split('\n')) {
    if (
      line === '' ||
      line.startsWith('{') ||
      line.startsWith('summary: ') ||
      line.startsWith('configuration error: ')
    )
      continue;
    assert.fail(`unexpected line on stderr (a crash?): ${line}\n--- stderr ---\n${stderr}`);
  }
}

/** The summary line's counts; the run stopped as a failure, having read at least one record. */
function assertFailureSummary(stderr: string, cause: RegExp): Record<string, number> {
  const summary = parseSummaryLine(stderr);
  assert.ok(summary, `a summary line on stderr:\n${stderr}`);
  const failure = logLines(stderr).find(
    (l) => l.message === 'pipeline failure; stopping without committing past it',
  );
  assert.ok(failure, 'the failure is logged');
  assert.match(JSON.stringify(failure), cause);
  return summary.counts;
}

/** The highest position of the input file that was committed (-1: none), from the debug logs. */
function lastCommitted(stderr: string, input: string): number {
  const positions = logLines(stderr)
    .filter((l) => l.message === 'committed')
    .map((l) => (l.positions as Record<string, number>)[input] ?? -1);
  return Math.max(-1, ...positions);
}

describe('mw-enrich with a sink that cannot write', () => {
  test(
    'stdout into a reader that goes away (EPIPE): exit 1, the summary, nothing committed past what was written',
    { timeout: 120_000 },
    async (t) => {
      const { config, paths } = await prepare(t, toStdout);
      const cli = spawnCli(t, pageContentChange(config));
      // Read the first chunk, then close the reading end of the pipe.
      const [received] = (await once(cli.child.stdout!, 'data')) as [string];
      cli.child.stdout!.destroy();
      const { code } = await cli.exited;
      const stderr = cli.stderr();

      assert.equal(code, 1, stderr);
      assertNoCrash(stderr);
      const counts = assertFailureSummary(stderr, /EPIPE/);
      assert.equal(counts.records! > counts.enriched!, true, 'the run stopped before the end');
      assert.ok(counts.enriched! < EVENTS);
      assert.ok(received.length > 0);
      await assertValidOutput(JSON.parse(received.split('\n')[0]!));
      // Positions are line numbers: the committed position never passes the outputs written.
      assert.ok(
        lastCommitted(stderr, paths.input) <= counts.enriched!,
        `committed ${lastCommitted(stderr, paths.input)}`,
      );
      assert.equal(existsSync(paths.errors), true, 'the error sink was closed');
    },
  );

  test(
    'stdout into `head -1`: exit 1 and the summary, no stack trace, no hang',
    { timeout: 120_000 },
    async (t) => {
      const { dir, config } = await prepare(t, toStdout);
      const headOut = join(dir, 'head.out');
      const exitFile = join(dir, 'exit');
      const run = await runCli(t, pageContentChange(config), {
        via: viaShell('"$@" | head -1 > "$HEAD_OUT"; echo "${PIPESTATUS[0]}" > "$EXIT_FILE"'),
        env: { HEAD_OUT: headOut, EXIT_FILE: exitFile },
      });
      assert.equal(run.code, 0, 'bash itself');
      assert.equal((await readFile(exitFile, 'utf8')).trim(), '1', run.stderr);
      assertNoCrash(run.stderr);
      const counts = assertFailureSummary(run.stderr, /EPIPE/);
      assert.ok(counts.enriched! < EVENTS);
      const head = await readLines(headOut);
      assert.equal(head.length, 1);
      const first = JSON.parse(head[0]!) as Json;
      await assertValidOutput(first);
      assert.equal((first.revision as Json).rev_id, 1000);
    },
  );

  test(
    'stdout into /dev/full (ENOSPC): exit 1 and the summary, nothing committed',
    { timeout: 120_000 },
    async (t) => {
      const { config, paths } = await prepare(t, toStdout);
      const run = await runCli(t, pageContentChange(config), { via: viaShell('exec "$@" > /dev/full') });
      assert.equal(run.code, 1, run.stderr);
      assertNoCrash(run.stderr);
      const counts = assertFailureSummary(run.stderr, /ENOSPC/);
      assert.equal(counts.enriched, 0, 'no output was written');
      assert.ok(counts.records! > 0);
      assert.equal(lastCommitted(run.stderr, paths.input), -1, 'no position committed');
    },
  );

  test(
    'stdout closed before the start: exit 2 naming stream_manager.sink.connector, no record read',
    { timeout: 120_000 },
    async (t) => {
      const { api, config, paths } = await prepare(t, toStdout);
      const run = await runCli(t, pageContentChange(config), { via: viaShell('exec "$@" >&-') });
      assert.equal(run.code, 2, run.stderr);
      assertNoCrash(run.stderr);
      assert.match(
        run.stderr,
        /^configuration error: stream_manager\.sink\.connector: connector stdout, but standard output was closed when the process started/m,
      );
      assert.equal(parseSummaryLine(run.stderr), undefined, 'no run, no summary');
      assert.equal(api.requests.length, 0, 'no record was read');
      assert.equal(existsSync(paths.errors), false, 'nothing was opened for writing');
    },
  );

  test('stdout into /dev/null on purpose is a normal run', { timeout: 120_000 }, async (t) => {
    const { config } = await prepare(t, toStdout);
    const run = await runCli(t, pageContentChange(config), { via: viaShell('exec "$@" > /dev/null') });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      parseSummaryLine(run.stderr)?.line,
      `summary: records=${EVENTS} enriched=${EVENTS} passed=0 dropped=0 failed=0 unfinished=0`,
    );
  });

  test(
    'a file sink on /dev/full: exit 1 and the summary, nothing committed, no stack trace',
    { timeout: 120_000 },
    async (t) => {
      const { config, paths } = await prepare(t, {
        stream_manager: { sink: { options: { path: '/dev/full' } } },
      });
      const run = await runCli(t, pageContentChange(config), { stdout: 'ignore' });
      assert.equal(run.code, 1, run.stderr);
      assertNoCrash(run.stderr);
      const counts = assertFailureSummary(run.stderr, /ENOSPC/);
      assert.equal(counts.enriched, 0);
      assert.equal(lastCommitted(run.stderr, paths.input), -1, 'no position committed');
    },
  );
});
