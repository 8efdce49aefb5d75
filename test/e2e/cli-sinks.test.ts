/**
 * Sinks that cannot write, with the CLI as a child process: standard output into a reader that went
 * away (EPIPE), into `head -1`, into /dev/full (ENOSPC), closed before the start; a file sink on
 * /dev/full. A failed write stops the job as an infrastructure failure: exit 1, the summary on
 * standard error, nothing committed past what was written, and no uncaught exception.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { BIN, ensureBuilt, logLines, parseSummaryLine, REPO_ROOT } from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertValidOutput,
  inputLines,
  jobConfig,
  jobPaths,
  readLines,
  startApi,
  tempDir,
  type Json,
} from '../helpers/job-harness.js';
import type { MisbehavingApi } from '../helpers/misbehaving-api.js';

before(() => ensureBuilt());

/** Enough output (about 1 MB) that it cannot all sit in a pipe's buffer before the reader leaves. */
const EVENTS = 200;
const CONTENT = 'x'.repeat(4096);

const edit = (revId: number) =>
  pageChangeEvent({
    meta: { request_id: `sinks-${revId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

async function apiWithEvents(t: TestContext): Promise<{ api: MisbehavingApi; events: Json[] }> {
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
  return { api, events };
}

/** Input file and config (debug logs, so that commits show) with the given sink bindings. */
async function prepare(t: TestContext, api: MisbehavingApi, events: Json[], overrides: Json) {
  const dir = await tempDir(t, 'cli-sinks-');
  const paths = jobPaths(dir);
  await writeFile(
    paths.input,
    inputLines(events)
      .map((l) => `${l}\n`)
      .join(''),
  );
  const config = join(dir, 'config.yaml');
  const document = jobConfig(paths, api.url, { runtime: { log_level: 'debug' }, ...overrides });
  await writeFile(config, JSON.stringify(document, null, 2));
  return { dir, paths, config };
}

const toStdout = { stream_manager: { sink: { connector: 'stdout', options: undefined } } };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `script` in bash with $NODE, $BIN and $CONFIG set; `exec` in the script makes the CLI the
 * process whose exit code is returned. Killed by its pid when the test ends, if still running.
 */
async function runBash(t: TestContext, script: string, env: Record<string, string>): Promise<Exit> {
  const child = spawn('bash', ['-c', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE: process.execPath, BIN, ...env },
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stderr };
}

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
      const { api, events } = await apiWithEvents(t);
      const { config, paths } = await prepare(t, api, events, toStdout);
      const child = spawn(process.execPath, [BIN, 'page-content-change', '--config', config], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      t.after(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      let received = '';
      child.stdout.setEncoding('utf8');
      // Read the first chunk, then close the reading end of the pipe.
      const [first] = (await once(child.stdout, 'data')) as [string];
      received += first;
      child.stdout.destroy();
      const [code] = (await once(child, 'close')) as [number | null];

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
      const { api, events } = await apiWithEvents(t);
      const { dir, config } = await prepare(t, api, events, toStdout);
      const headOut = join(dir, 'head.out');
      const exitFile = join(dir, 'exit');
      const run = await runBash(
        t,
        '"$NODE" "$BIN" page-content-change --config "$CONFIG" | head -1 > "$HEAD_OUT"; echo "${PIPESTATUS[0]}" > "$EXIT_FILE"',
        { CONFIG: config, HEAD_OUT: headOut, EXIT_FILE: exitFile },
      );
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
      const { api, events } = await apiWithEvents(t);
      const { config, paths } = await prepare(t, api, events, toStdout);
      const run = await runBash(t, 'exec "$NODE" "$BIN" page-content-change --config "$CONFIG" > /dev/full', {
        CONFIG: config,
      });
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
      const { api, events } = await apiWithEvents(t);
      const { config, paths } = await prepare(t, api, events, toStdout);
      const run = await runBash(t, 'exec "$NODE" "$BIN" page-content-change --config "$CONFIG" >&-', {
        CONFIG: config,
      });
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
    const { api, events } = await apiWithEvents(t);
    const { config } = await prepare(t, api, events, toStdout);
    const run = await runBash(t, 'exec "$NODE" "$BIN" page-content-change --config "$CONFIG" > /dev/null', {
      CONFIG: config,
    });
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
      const { api, events } = await apiWithEvents(t);
      const { config, paths } = await prepare(t, api, events, {
        stream_manager: { sink: { options: { path: '/dev/full' } } },
      });
      const run = await runBash(t, 'exec "$NODE" "$BIN" page-content-change --config "$CONFIG"', {
        CONFIG: config,
      });
      assert.equal(run.code, 1, run.stderr);
      assertNoCrash(run.stderr);
      const counts = assertFailureSummary(run.stderr, /ENOSPC/);
      assert.equal(counts.enriched, 0);
      assert.equal(lastCommitted(run.stderr, paths.input), -1, 'no position committed');
    },
  );
});
