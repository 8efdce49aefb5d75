/**
 * Configuration mistakes are found before anything is opened for writing: exit 2, a message that
 * names the config key as the operator wrote it, and the output files of an earlier run untouched.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { ensureBuilt, runCli } from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { jobConfig, jobPaths, tempDir, type JobPaths, type Json } from '../helpers/job-harness.js';

before(() => ensureBuilt());

const EARLIER_OUTPUT = "an earlier run's output\n";
const EARLIER_ERRORS = "an earlier run's error events\n";

/** A run folder with an input and the files an earlier run left behind; returns a config writer. */
async function prepare(t: TestContext) {
  const dir = await tempDir(t, 'cli-config-');
  const paths = jobPaths(dir);
  const input = `${JSON.stringify(pageChangeEvent())}\n`;
  await writeFile(paths.input, input);
  await mkdir(join(dir, 'out'), { recursive: true });
  await writeFile(paths.output, EARLIER_OUTPUT);
  await writeFile(paths.errors, EARLIER_ERRORS);
  return {
    dir,
    paths,
    input,
    async run(overrides: (paths: JobPaths) => Json) {
      const config = join(dir, 'config.json');
      // The endpoint is never called: every case fails before the first record.
      await writeFile(
        config,
        JSON.stringify(jobConfig(paths, 'http://127.0.0.1:9/w/api.php', overrides(paths))),
      );
      return runCli(t, ['page-content-change', '--config', config]);
    },
    async assertUntouched() {
      assert.equal(await readFile(paths.input, 'utf8'), input, 'the input is untouched');
      assert.equal(await readFile(paths.output, 'utf8'), EARLIER_OUTPUT, 'the output file is untouched');
      assert.equal(await readFile(paths.errors, 'utf8'), EARLIER_ERRORS, 'the error file is untouched');
    },
  };
}

function assertConfigError(run: { code: number | null; stderr: string }, key: string, message: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  const line = run.stderr.split('\n').find((l) => l.startsWith('configuration error: '));
  assert.ok(line, `a configuration error line:\n${run.stderr}`);
  assert.ok(line.startsWith(`configuration error: ${key}: `), `names ${key}: ${line}`);
  assert.match(line, message);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

const setRun = (section: string, values: Json) => () => ({ [section]: values });

describe('configuration mistakes: exit 2 naming the key, before any file is written', () => {
  const cases: Array<{
    name: string;
    overrides: (paths: JobPaths, dir: string) => Json | Promise<Json>;
    key: string;
    message: RegExp;
  }> = [
    {
      name: 'a user_agent with CR/LF',
      overrides: setRun('enrich', { user_agent: 'bot/1.0 (ops@example.org)\r\nX-Injected: 1' }),
      key: 'enrich.user_agent',
      message: /printable ASCII; found "\\r" at position 25/,
    },
    {
      name: 'a user_agent with non-ASCII characters',
      overrides: setRun('enrich', { user_agent: 'bøt/1.0 (ops@example.org)' }),
      key: 'enrich.user_agent',
      message: /printable ASCII; found "ø"/,
    },
    {
      name: 'a route target that is not a URL',
      overrides: () => ({
        stream_manager: { http_client_routes: { 'https://en.wikipedia.org': 'localhost:6500' } },
      }),
      key: 'stream_manager.http_client_routes.https://en.wikipedia.org',
      message: /route target "localhost:6500" must be an http:\/\/ or https:\/\/ URL/,
    },
    {
      name: 'a route prefix with a query',
      overrides: () => ({
        stream_manager: { http_client_routes: { 'https://en.wikipedia.org/?x=1': 'http://127.0.0.1:6500' } },
      }),
      key: 'stream_manager.http_client_routes.https://en.wikipedia.org/?x=1',
      message: /route prefix "https:\/\/en\.wikipedia\.org\/\?x=1" must not have a query/,
    },
    {
      name: 'a source path that is a directory',
      overrides: (_p, dir) => ({ stream_manager: { source: { options: { path: dir } } } }),
      key: 'stream_manager.source.options.path',
      message: /is a directory/,
    },
    {
      name: 'a sink path that is a directory',
      overrides: (_p, dir) => ({ stream_manager: { sink: { options: { path: join(dir, 'out') } } } }),
      key: 'stream_manager.sink.options.path',
      message: /is a directory/,
    },
    {
      name: 'an error sink path under a file',
      overrides: (p) => ({
        stream_manager: { error_sink: { options: { path: join(p.input, 'errors.ndjson') } } },
      }),
      key: 'stream_manager.error_sink.options.path',
      message: /is not a directory/,
    },
    {
      name: 'the sink writing over the source',
      overrides: (p) => ({ stream_manager: { sink: { options: { path: p.input } } } }),
      key: 'stream_manager.sink.options.path',
      message: /is the same file as stream_manager\.source\.options\.path/,
    },
    {
      name: 'the sink reaching the source through a symlink',
      overrides: async (p, dir) => {
        await symlink(p.input, join(dir, 'link.ndjson'));
        return { stream_manager: { sink: { options: { path: join(dir, 'link.ndjson') } } } };
      },
      key: 'stream_manager.sink.options.path',
      message: /is the same file as stream_manager\.source\.options\.path/,
    },
    {
      name: 'the error sink and the sink in one file, spelled differently',
      overrides: (_p, dir) => ({
        stream_manager: {
          error_sink: { options: { path: join(dir, 'out', '..', 'out', '.', 'page-content-change.ndjson') } },
        },
      }),
      key: 'stream_manager.error_sink.options.path',
      message: /is the same file as stream_manager\.sink\.options\.path/,
    },
    {
      name: 'two sinks in one file that does not exist yet',
      overrides: (_p, dir) => ({
        stream_manager: {
          sink: { options: { path: join(dir, 'new', 'both.ndjson') } },
          error_sink: { options: { path: join(dir, 'new', '..', 'new', 'both.ndjson') } },
        },
      }),
      key: 'stream_manager.error_sink.options.path',
      message: /is the same file as stream_manager\.sink\.options\.path/,
    },
    {
      name: "a connect timeout over the fetcher's bound",
      overrides: setRun('enrich', { connect_timeout_ms: 4_000_000 }),
      key: 'enrich.connect_timeout_ms',
      message: /must be <= 3600000/,
    },
    {
      name: "a retry delay over the fetcher's bound",
      overrides: setRun('enrich', { retry: { initial_delay_ms: 4_000_000 } }),
      key: 'enrich.retry.initial_delay_ms',
      message: /must be <= 3600000/,
    },
    {
      name: 'an allowed domain that is not a host name',
      overrides: setRun('enrich', { allowed_domains: ['en.wikipedia.org', 'bad domain'] }),
      key: 'enrich.allowed_domains',
      message: /bad domain/,
    },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      const run = await prepare(t);
      const overrides = await c.overrides(run.paths, run.dir);
      const result = await run.run(() => overrides);
      assertConfigError(result, c.key, c.message);
      await run.assertUntouched();
    });
  }

  test('a metrics port in use', async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    t.after(() => taken.close());
    const port = (taken.address() as { port: number }).port;
    const run = await prepare(t);
    const result = await run.run(() => ({ runtime: { metrics_port: port } }));
    assertConfigError(result, 'runtime.metrics_port', /cannot listen: .*EADDRINUSE/);
    await run.assertUntouched();
  });
});
