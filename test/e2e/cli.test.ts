/**
 * The CLI as a child process (`node bin/mw-enrich.js`): a file run, help, configuration errors,
 * SIGTERM in the middle of a run, and the quick start on a file (`npm run demo:file`; the one on a
 * real wiki, `npm run demo`, is quickstart-wiki.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  ensureBuilt,
  logLines,
  pageContentChange,
  parseSummaryLine,
  REPO_ROOT,
  runCli,
  runCommand,
  spawnCli,
  writeCliJob,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { readLines, startApi, tempDir, type Json } from '../helpers/job-harness.js';
import { waitUntil } from '../helpers/wait.js';

before(() => ensureBuilt());

const edit = (revId: number, pageId = 1, overrides: Json = {}) =>
  pageChangeEvent({
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    meta: { request_id: `cli-${revId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    ...overrides,
  });

/** The positions of `partition` the job committed, in order, from its debug log (`committed`). */
function committedPositions(stderr: string, partition: string): number[] {
  return logLines(stderr)
    .filter((l) => l.message === 'committed')
    .map((l) => (l.positions as Record<string, number>)[partition])
    .filter((p) => p !== undefined);
}

describe('mw-enrich page-content-change', () => {
  test('a file of events in: outputs and error events out, the summary on stderr, exit 0', async (t) => {
    const api = await startApi(t);
    for (const revId of [11, 12, 13])
      api.addRevision({ revId, pageId: 1, title: 'Page_1', slots: { main: { content: `text ${revId}` } } });
    const input = [
      edit(11),
      edit(12),
      'not an event',
      pageChangeEvent({
        page_change_kind: 'delete',
        changelog_kind: 'delete',
        page: { page_id: 2 },
        revision: { rev_id: 20 },
      }),
      pageChangeEvent({ meta: { domain: 'canary' } }),
      edit(13),
    ];
    // The base config points at an API that fails everything; a second --config overrides it.
    const wrong = await startApi(t, { fallback: { kind: 'status', status: 404 } });
    const { dir, paths, config } = await writeCliJob(t, input, wrong.url, {
      runtime: { log_level: 'info' },
    });
    const local = join(dir, 'local.yaml');
    await writeFile(local, `enrich:\n  mediawiki_api_endpoint_template: ${api.url}\n`);

    const run = await runCli(t, pageContentChange(config, local));

    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '', 'events go to the files, logs to stderr');
    assert.equal(
      parseSummaryLine(run.stderr)?.line,
      'summary: records=6 enriched=3 passed=1 dropped=1 failed=1 unfinished=0 errors: InvalidEventError=1',
    );
    assert.ok(
      logLines(run.stderr).some((l) => l.message === 'started' && l['log.level'] === 'info'),
      'ECS JSON logs on stderr',
    );
    const outputs = (await readLines(paths.output)).map((l) => JSON.parse(l) as Json);
    assert.deepEqual(
      outputs.map((o) => `${String((o.revision as Json).rev_id)} ${String(o.page_change_kind)}`).sort(),
      ['11 edit', '12 edit', '13 edit', '20 delete'],
    );
    assert.deepEqual(
      outputs
        .filter((o) => (o.page as Json).page_id === 1)
        .map((o) => (o.revision as { content_slots: { main: Json } }).content_slots.main.content_body),
      ['text 11', 'text 12', 'text 13'],
    );
    assert.deepEqual(
      outputs.filter((o) => (o.page as Json).page_id === 2).map((o) => o.page_change_kind),
      ['delete'],
    );
    const errors = (await readLines(paths.errors)).map((l) => JSON.parse(l) as Json);
    assert.deepEqual(
      errors.map((e) => [e.error_type, e.raw_event]),
      [['InvalidEventError', 'not an event']],
    );
    assert.deepEqual(api.requestedRevIds().sort(), [11, 12, 13]);
    assert.equal(wrong.requests.length, 0, 'the later --config won');
  });

  test('--help lists the job and the options, exit 0', async (t) => {
    const run = await runCli(t, ['--help']);
    assert.equal(run.code, 0);
    for (const expected of ['page-content-change', '--config FILE', '--help', '--version', 'Exit codes']) {
      assert.ok(run.stdout.includes(expected), `--help mentions ${expected}:\n${run.stdout}`);
    }
  });

  test('a wrong value (enrich.batch_size: 51) → exit 2 and a message naming the key', async (t) => {
    const api = await startApi(t);
    const { config, paths } = await writeCliJob(t, [edit(1)], api.url, {
      enrich: { batch_size: 51 },
    });
    const run = await runCli(t, pageContentChange(config));
    assert.equal(run.code, 2);
    assert.equal(api.requests.length, 0, 'a bad configuration makes no request');
    assert.match(run.stderr, /configuration error: enrich\.batch_size: must be <= 50/);
    assert.equal(parseSummaryLine(run.stderr), undefined, 'no run, no summary');
    assert.equal(existsSync(paths.output), false, 'nothing was written');
  });

  test('an unknown key → exit 2 and a message naming it', async (t) => {
    const api = await startApi(t);
    const { config } = await writeCliJob(t, [edit(1)], api.url, {
      enrich: { batch_sise: 10 },
    });
    const run = await runCli(t, pageContentChange(config));
    assert.equal(run.code, 2);
    assert.equal(api.requests.length, 0, 'a bad configuration makes no request');
    assert.match(run.stderr, /configuration error: enrich\.batch_sise: unknown key/);
  });

  test('an unknown key leaves the output of an earlier run as it was', async (t) => {
    const api = await startApi(t);
    const { config, paths } = await writeCliJob(t, [edit(1)], api.url, { enrich: { batch_sise: 10 } });
    await mkdir(dirname(paths.output), { recursive: true });
    await writeFile(paths.output, 'earlier output\n');
    const run = await runCli(t, pageContentChange(config));
    assert.equal(run.code, 2);
    assert.deepEqual(
      await readLines(paths.output),
      ['earlier output'],
      'a typo must not truncate the output',
    );
    assert.equal(existsSync(paths.errors), false, 'no error sink file was created');
  });

  test('a missing config file → exit 2 and a message naming it', async (t) => {
    const dir = await tempDir(t, 'cli-');
    const missing = join(dir, 'does-not-exist.yaml');
    const run = await runCli(t, pageContentChange(missing));
    assert.equal(run.code, 2);
    assert.ok(run.stderr.includes(`--config: cannot read ${missing}`), run.stderr);
  });

  // A process that does not stop on SIGTERM fails the test instead of hanging the suite.
  test(
    'SIGTERM in the middle of a run: drains, commits exactly what was done, exit 0',
    { timeout: 120_000 },
    async (t) => {
      const TOTAL = 3000;
      const api = await startApi(t, { fallback: { kind: 'serve', delayMs: 50 } });
      const events: Json[] = [];
      for (let i = 0; i < TOTAL; i++) {
        const revId = 100_000 + i;
        api.addRevision({
          revId,
          pageId: i % 30,
          title: `Page_${i % 30}`,
          slots: { main: { content: `text ${revId}` } },
        });
        events.push(edit(revId, i % 30));
      }
      // Debug logs carry every commit's positions; a small window keeps the drain short.
      const { paths, config } = await writeCliJob(t, events, api.url, {
        enrich: { batch_size: 5, batch_linger_ms: 2 },
        runtime: { log_level: 'debug', max_in_flight: 200, commit_interval_ms: 100 },
      });
      const cli = spawnCli(t, pageContentChange(config));
      // Signal once a few hundred outputs are out: the run is well under way and far from done.
      await waitUntil('300 outputs', async () => (await readLines(paths.output)).length >= 300, {
        timeoutMs: 100_000,
        intervalMs: 20,
        watch: [cli],
      });
      const { code, signal } = await cli.stop();
      assert.equal(signal, null);
      assert.equal(code, 0, cli.stderr());

      const summary = parseSummaryLine(cli.stderr());
      assert.ok(summary, `summary line on stderr:\n${cli.stderr().slice(-2000)}`);
      const n = summary.counts.records!;
      assert.ok(n >= 300 && n < TOTAL, `stopped in the middle: ${n} of ${TOTAL} read`);
      assert.deepEqual(
        {
          enriched: summary.counts.enriched,
          failed: summary.counts.failed,
          unfinished: summary.counts.unfinished,
        },
        { enriched: n, failed: 0, unfinished: 0 },
      );

      // Every record read has its output once: exactly the first n inputs, no duplicate, no gap.
      const outputs = (await readLines(paths.output)).map((l) => JSON.parse(l) as Json);
      const revIds = outputs.map((o) => (o.revision as Json).rev_id as number).sort((a, b) => a - b);
      assert.equal(new Set(revIds).size, revIds.length, 'no duplicates');
      assert.deepEqual(
        revIds,
        events.slice(0, n).map((e) => (e.revision as Json).rev_id),
      );
      assert.deepEqual(await readLines(paths.errors), []);

      // The committed position (next line to read) is n: everything before it is done.
      const commits = committedPositions(cli.stderr(), paths.input);
      assert.ok(commits.length > 1, 'commits are logged');
      assert.equal(commits.at(-1), n);
      assert.ok(logLines(cli.stderr()).some((l) => l.message === 'stopping: draining records in flight'));
    },
  );

  test(
    'SIGTERM while a request hangs: the drain times out, the commit stops before the stuck record, exit 0',
    { timeout: 120_000 },
    async (t) => {
      const TOTAL = 2000;
      const STUCK_LINE = 50;
      const revOf = (line: number) => 100_000 + line;
      const pageOf = (line: number) => line % 10;
      // The revision of line 50 never gets an answer; it is on page 0, so page 0's later events wait
      // behind it, and the window (100) fills with them long before the input ends.
      const api = await startApi(t, {
        fallback: (request) =>
          request.revIds.includes(revOf(STUCK_LINE)) ? { kind: 'hang' } : { kind: 'serve' },
      });
      const events: Json[] = [];
      for (let line = 0; line < TOTAL; line++) {
        const page = pageOf(line);
        api.addRevision({
          revId: revOf(line),
          pageId: page,
          title: `Page_${page}`,
          slots: { main: { content: `text ${revOf(line)}` } },
        });
        events.push(edit(revOf(line), page));
      }
      const { paths, config } = await writeCliJob(t, events, api.url, {
        enrich: { batch_size: 1, batch_linger_ms: 0, request_timeout: 600 },
        runtime: { log_level: 'debug', max_in_flight: 100, drain_timeout_ms: 300 },
      });
      const cli = spawnCli(t, pageContentChange(config));
      // Signal once the stuck request is out and the outputs stopped growing (the window is full).
      let count = -1;
      await waitUntil(
        'the stuck request, and the outputs to stop growing',
        async () => {
          const seen = count;
          count = (await readLines(paths.output)).length;
          return api.requestedRevIds().includes(revOf(STUCK_LINE)) && count === seen;
        },
        { timeoutMs: 100_000, intervalMs: 300, watch: [cli] },
      );
      const { code, signal } = await cli.stop();
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, cli.stderr());

      const summary = parseSummaryLine(cli.stderr())!;
      const read = summary.counts.records!;
      assert.ok(read > STUCK_LINE && read < TOTAL, `${read} of ${TOTAL} read`);
      // Unfinished: the stuck line and page 0's later lines read so far. Everything else is out once.
      const lines = [...Array(read).keys()];
      const stuck = lines.filter((line) => line >= STUCK_LINE && pageOf(line) === 0);
      assert.deepEqual(
        {
          enriched: summary.counts.enriched,
          failed: summary.counts.failed,
          unfinished: summary.counts.unfinished,
        },
        { enriched: read - stuck.length, failed: 0, unfinished: stuck.length },
      );
      const outputs = (await readLines(paths.output)).map(
        (l) => (JSON.parse(l) as { revision: Json }).revision.rev_id,
      );
      assert.deepEqual(
        [...outputs].sort(),
        lines
          .filter((line) => !stuck.includes(line))
          .map(revOf)
          .sort(),
      );
      // Committed: the next line to read is the stuck one; it and all after it are read again on restart.
      assert.equal(committedPositions(cli.stderr(), paths.input).at(-1), STUCK_LINE);
    },
  );

  test('quick start on a file: npm run demo:file exits 0 and prints the summary', async (t) => {
    // The demo runs setup, which installs dependencies (npm ci) when it has not run yet: doing that
    // under a running test would replace the node_modules the tests are using.
    const stamp = join(REPO_ROOT, 'node_modules', '.setup-stamp');
    if (
      !existsSync(stamp) ||
      statSync(join(REPO_ROOT, 'package-lock.json')).mtimeMs > statSync(stamp).mtimeMs
    ) {
      t.skip('scripts/setup.sh has not run on this checkout (npm test runs it first)');
      return;
    }
    const { code, stdout, stderr } = await runCommand(t, ['npm', 'run', '--silent', 'demo:file']);
    const output = `${stdout}\n${stderr}`;
    assert.equal(code, 0, output);
    // The counts README's quick start shows.
    assert.equal(
      parseSummaryLine(output)?.line,
      'summary: records=12 enriched=6 passed=3 dropped=1 failed=2 unfinished=0 errors: InvalidEventError=1 DomainNotAllowedError=1',
    );
    assert.match(
      output,
      /outputs: 9 in out\/page-content-change\.ndjson, error events: 2 in out\/errors\.ndjson/,
    );
  });
});
