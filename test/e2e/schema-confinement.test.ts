/**
 * Whatever `$schema` an input carries, the built CLI opens no file outside its schema repository
 * (apart from what the same run with only good inputs opens: node, the config, input and output) and
 * asks no URL outside an http repository's base. Files are watched with strace, which must be
 * installed (scripts/setup.sh installs it): without it these tests fail rather than skip.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, open, readdir, readFile, symlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  ensureBuilt,
  pageContentChange,
  parseSummaryLine,
  REPO_ROOT,
  runCli,
  writeCliJob,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { readLines, startApi, tempDir, type Json } from '../helpers/job-harness.js';
import type { MisbehavingApi } from '../helpers/misbehaving-api.js';
import { SHARED_SCHEMAS_DIR } from '../helpers/schemas.js';

const TRACED =
  'open,openat,openat2,creat,stat,lstat,newfstatat,statx,access,faccessat,faccessat2,truncate,execve';

before(async () => {
  try {
    await promisify(execFile)('strace', ['-V']);
  } catch (err) {
    throw new Error(
      `strace is needed to watch which files the CLI opens; run scripts/setup.sh (${String(err)})`,
    );
  }
  await ensureBuilt();
});

const TITLE_DIR = 'mediawiki/page/change';

/** Good `$schema` values: known versions, a base in front, a version no repository has. */
const GOOD_SCHEMAS = [
  '/mediawiki/page/change/1.2.0',
  '/mediawiki/page/change/1.1.0',
  'https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/change/1.0.0',
  '/mediawiki/page/change/1.9.0',
];

/** Of the repository form, naming versions that are traps in the repository (see `trappedRepository`). */
const TRAP_SCHEMAS = ['6.6.6', '6.6.7', '6.6.8', '6.6.9', '6.7.0'].map((v) => `/mediawiki/page/change/${v}`);

/** Not of the repository form, or not a page/change schema: each input fails. */
const HOSTILE_SCHEMAS = [
  '%2e%2e',
  '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
  '/mediawiki/page/change/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  `/mediawiki/page/change/${'%2e%2e/'.repeat(16)}etc/passwd`,
  `/mediawiki/page/change/${'%2E%2E%2F'.repeat(16)}etc/passwd`,
  `/mediawiki/page/change/${'%2e%2e/'.repeat(16)}dev/zero`,
  `/mediawiki/page/change/${'%2e%2e/'.repeat(16)}dev/stdin`,
  `/mediawiki/page/change/${'..%5c'.repeat(16)}etc/passwd`,
  '/mediawiki/page/change/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd%00/1.0.0',
  '..\\..\\..\\..\\etc\\passwd',
  '/mediawiki\\..\\..\\..\\..\\etc\\passwd',
  '/mediawiki/page/change/../../../../etc/passwd',
  '/mediawiki/page/change/../../../../../../../../etc/passwd',
  '../../../../../../../../etc/passwd',
  '/etc/passwd',
  '/dev/zero',
  '/dev/stdin',
  '/dev/fd/0',
  '/proc/self/fd/0',
  '/proc/self/environ',
  'file:///etc/passwd',
  'file:///dev/zero',
  'file:///mediawiki/page/change/1.2.0',
  'https://evil.example/x/jsonschema/../../etc/passwd',
  'http://127.0.0.1:1/admin/delete-everything?confirm=yes',
  '/admin/delete-everything?confirm=yes',
  '/mediawiki/page/change/1.2.0?confirm=yes',
  '/mediawiki/page/change/1.2.0#x',
  '/mediawiki/page/change/latest',
  'latest',
  '/mediawiki/page/change/1.2.0\u0000',
  '/mediawiki/page/change/1.2.0\u0000../../../etc/passwd',
  '/mediawiki/page/change/\u2024\u2024/\u2024\u2024/1.2.0',
  '/mediawiki/page/change/1.2.0\n',
  '/mediawiki//page/change/1.2.0',
  '/mediawiki/page/change/1.2.0.yaml',
  '/mediawiki/page/change/1.2.0/',
  '/MEDIAWIKI/page/change/1.2.0',
  '~/.ssh/id_rsa',
  '/mediawiki/page/change/1.2',
  `/mediawiki/page/change/${'9'.repeat(600)}.0.0`,
  `${'/..'.repeat(300)}/etc/passwd`,
  '/dev/zero/1.0.0',
  '/etc/passwd/1.0.0',
  '/error/2.1.0',
];

const edit = (revId: number, $schema: string): Json =>
  pageChangeEvent({
    $schema,
    page: { page_id: revId, page_title: `Page_${revId}` },
    meta: { request_id: `confinement-${revId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

interface Inputs {
  events: Array<Json | string>;
  enrichedRevIds: number[];
  /** Inputs failing for their `$schema`. */
  failing: number;
}

/** Inputs that fail in both runs for reasons other than `$schema`, so both write error events. */
const OTHER_FAILURES = [
  'not an event',
  JSON.stringify(pageChangeEvent({ meta: { domain: 'evil.example' } })),
];

/** Five good inputs per good `$schema`; with `hostile`, also each trap and each hostile value. */
function inputs(api: MisbehavingApi, hostile: boolean): Inputs {
  const events: Array<Json | string> = [...OTHER_FAILURES];
  const enrichedRevIds: number[] = [];
  let revId = 1000;
  const add = ($schema: string, enriched: boolean) => {
    revId++;
    api.addRevision({
      revId,
      pageId: revId,
      title: `Page_${revId}`,
      slots: { main: { content: `text ${revId}` } },
    });
    events.push(edit(revId, $schema));
    if (enriched) enrichedRevIds.push(revId);
  };
  for (let i = 0; i < 5; i++) for (const schema of GOOD_SCHEMAS) add(schema, true);
  if (hostile) {
    for (const schema of TRAP_SCHEMAS) add(schema, true);
    for (const schema of HOSTILE_SCHEMAS) add(schema, false);
  }
  return { events, enrichedRevIds, failing: hostile ? HOSTILE_SCHEMAS.length : 0 };
}

/**
 * A copy of the shared repository, with traps named like versions: symlinks to `/etc/passwd`,
 * `/dev/zero`, `/dev/stdin` and to a schema outside the repository, and a FIFO.
 */
async function trappedRepository(t: TestContext): Promise<{ dir: string; outside: string }> {
  const root = await tempDir(t, 'schema-confinement-');
  const dir = join(root, 'repo', 'jsonschema');
  await cp(SHARED_SCHEMAS_DIR, dir, { recursive: true });
  const outside = join(root, 'outside');
  await mkdir(outside);
  await cp(join(dir, TITLE_DIR, '1.2.0.yaml'), join(outside, 'secret.yaml'));
  const change = join(dir, TITLE_DIR);
  await symlink('/etc/passwd', join(change, '6.6.6.yaml'));
  await symlink('/dev/zero', join(change, '6.6.7.yaml'));
  await promisify(execFile)('mkfifo', [join(change, '6.6.8.yaml')]);
  await symlink('/dev/stdin', join(change, '6.6.9'));
  await symlink(join(outside, 'secret.yaml'), join(change, '6.7.0.json'));
  return { dir, outside };
}

interface Run {
  dir: string;
  code: number | null;
  stderr: string;
  outputs: Json[];
  errors: Json[];
  /** Absolute paths the process and its threads opened, stat'ed or checked, each once. */
  paths: Set<string>;
}

/** Runs the CLI on `events` under strace, in a temp folder of its own. */
async function tracedRun(
  t: TestContext,
  events: Array<Json | string>,
  api: MisbehavingApi,
  overrides: Json,
): Promise<Run> {
  const { dir, paths, config } = await writeCliJob(t, events, api.url, overrides, 'schema-confinement-run-');
  const trace = join(dir, 'strace.txt');
  const { code, stderr } = await runCli(t, pageContentChange(config), {
    via: ['strace', '-f', '-qq', '-s', '65536', '-e', `trace=${TRACED}`, '-o', trace],
    stdout: 'ignore',
  });
  return {
    dir,
    code,
    stderr,
    outputs: (await readLines(paths.output)).map((l) => JSON.parse(l) as Json),
    errors: (await readLines(paths.errors)).map((l) => JSON.parse(l) as Json),
    paths: tracedPaths(await readFile(trace, 'utf8')),
  };
}

// `1234  openat(AT_FDCWD, "/path", O_RDONLY|O_CLOEXEC) = 3`, `1234  statx(AT_FDCWD, "/p", …`,
// `1234  open("/path", …`; a call split by another thread starts the same way and ends `<unfinished …>`.
const CALL = /^\d+\s+(\w+)\((?:(AT_FDCWD|-?\d+), )?"((?:[^"\\]|\\.)*)"/;

function tracedPaths(trace: string): Set<string> {
  const paths = new Set<string>();
  for (const line of trace.split('\n')) {
    const match = CALL.exec(line);
    if (!match) continue;
    const [, , dirfd, raw] = match;
    const path = unescapeStrace(raw!);
    if (path === '') continue; // fstat of an open descriptor: its path was recorded when it was opened
    if (isAbsolute(path)) paths.add(path);
    else if (dirfd === undefined || dirfd === 'AT_FDCWD') paths.add(resolve(REPO_ROOT, path));
    else paths.add(`<relative to fd ${dirfd}>/${path}`);
  }
  return paths;
}

function unescapeStrace(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' } as Record<string, string>)[e] ?? e;
  });
}

/** Every input accounted for: the good ones and the traps enriched, the hostile ones failed. */
function assertSummary(run: Run, inputs: Inputs): void {
  assert.deepEqual(parseSummaryLine(run.stderr)?.counts, {
    records: inputs.events.length,
    enriched: inputs.enrichedRevIds.length,
    passed: 0,
    dropped: 0,
    failed: inputs.failing + OTHER_FAILURES.length,
    unfinished: 0,
    InvalidEventError: 1,
    DomainNotAllowedError: 1,
    ...(inputs.failing > 0 ? { SchemaValidationError: inputs.failing } : {}),
  });
}

/** The same path for both runs: each run's own folder becomes `<run>`, process ids `<pid>`. */
function normalised(run: Run): Set<string> {
  return new Set(
    [...run.paths].map((p) =>
      (p.startsWith(run.dir) ? `<run>${p.slice(run.dir.length)}` : p).replace(
        /^\/proc\/\d+\//,
        '/proc/<pid>/',
      ),
    ),
  );
}

// glibc's malloc reads this when it makes an arena for a thread, at a moment thread timing decides.
const C_LIBRARY_NOISE = ['/sys/devices/system/cpu/online'];

const isUnder = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

describe('schema lookups stay inside the schema repositories', () => {
  test(
    'file repository: no file outside it is opened or stat-ed, whatever $schema says',
    { timeout: 300_000 },
    async (t) => {
      const { dir: repo, outside } = await trappedRepository(t);
      const overrides = { stream_manager: { schema_uris: [pathToFileURL(repo).href] } };

      const cleanApi = await startApi(t);
      const good = inputs(cleanApi, false);
      const clean = await tracedRun(t, good.events, cleanApi, overrides);
      assert.equal(clean.code, 0, clean.stderr);
      assertSummary(clean, good);

      const api = await startApi(t);
      const all = inputs(api, true);
      assert.ok(all.events.length >= 60, `${all.events.length} inputs`);
      const hostile = await tracedRun(t, all.events, api, overrides);
      assert.equal(hostile.code, 0, hostile.stderr);

      // Paths only the hostile run touched: all inside the repository, under the page/change title.
      const cleanPaths = normalised(clean);
      const onlyHostile = [...normalised(hostile)].filter((p) => !cleanPaths.has(p)).sort();
      const outsideRepo = onlyHostile.filter((p) => !isUnder(p, repo) && !C_LIBRARY_NOISE.includes(p));
      assert.deepEqual(outsideRepo, [], `opened only with hostile $schema values, outside ${repo}`);
      const inRepo = onlyHostile
        .filter((p) => isUnder(p, repo))
        .map((p) => relative(join(repo, TITLE_DIR), p));
      assert.ok(
        inRepo.every((p) => /^6\.[67]\.\d\.(yaml|json)$|^6\.[67]\.\d$|^1\.9\.0/.test(p)),
        inRepo.join('\n'),
      );
      // The traps were looked up and refused: the files behind them were never touched.
      for (const target of [
        '/etc/passwd',
        '/dev/zero',
        '/dev/stdin',
        '/proc/self/fd/0',
        join(outside, 'secret.yaml'),
      ]) {
        assert.ok(!hostile.paths.has(target), `${target} was opened or stat-ed`);
      }
      assert.ok(
        hostile.paths.has(join(repo, TITLE_DIR, '6.6.8.yaml')),
        'the FIFO was looked at (and refused)',
      );
      assertSummary(hostile, all);
      assert.deepEqual(
        hostile.outputs.map((o) => (o.revision as Json).rev_id).sort(),
        all.enrichedRevIds.sort(),
      );
      assert.deepEqual(
        hostile.errors
          .slice(OTHER_FAILURES.length)
          .map((e) => [e.error_type, (JSON.parse(e.raw_event as string) as Json).$schema]),
        HOSTILE_SCHEMAS.map((schema) => ['SchemaValidationError', schema]),
      );
      assert.deepEqual(api.requestedRevIds().sort(), all.enrichedRevIds.sort(), 'failed inputs ask no wiki');
    },
  );

  test(
    'http repository: only URLs below its base are asked, none with a query',
    { timeout: 300_000 },
    async (t) => {
      const server = await recordingRepository(t);
      const api = await startApi(t);
      const all = inputs(api, true);
      const run = await tracedRun(t, all.events, api, { stream_manager: { schema_uris: [server.base] } });
      assert.equal(run.code, 0, run.stderr);
      const basePath = new URL(server.base).pathname;
      assert.ok(server.requests.length > 0);
      for (const url of server.requests) {
        assert.ok(url.startsWith(`${basePath}/`), `${url} is outside ${basePath}/`);
        assert.doesNotMatch(url, /[?#%\\]|\/\.\.?(\/|$)/, url);
      }
      // Exactly the schemas of the configuration (the error stream's too) and of the good and trap versions.
      const asked = new Set(
        server.requests.map((u) => u.slice(basePath.length + 1).replace(/(\.yaml|\.json)$/, '')),
      );
      assert.deepEqual(
        [...asked].sort(),
        [
          'error/2.1.0',
          ...['1.0.0', '1.1.0', '1.2.0', '1.9.0', '6.6.6', '6.6.7', '6.6.8', '6.6.9', '6.7.0'].map(
            (v) => `${TITLE_DIR}/${v}`,
          ),
        ].sort(),
      );
      assertSummary(run, all);
      assert.deepEqual(api.requestedRevIds().sort(), all.enrichedRevIds.sort(), 'failed inputs ask no wiki');
    },
  );

  test(
    'stdin source: a $schema naming standard input swallows no input line',
    { timeout: 300_000 },
    async (t) => {
      const { dir: repo } = await trappedRepository(t);
      const api = await startApi(t);
      const stdinNames = [
        '/dev/stdin',
        `/mediawiki/page/change/${'%2e%2e/'.repeat(16)}dev/stdin`,
        '/mediawiki/page/change/6.6.9',
      ];
      const lines: string[] = [];
      for (let i = 0; i < 1_000; i++) {
        const revId = 5_000 + i;
        api.addRevision({
          revId,
          pageId: revId,
          title: `Page_${revId}`,
          slots: { main: { content: `text ${revId}` } },
        });
        lines.push(
          JSON.stringify(
            edit(revId, i % 10 === 0 ? stdinNames[(i / 10) % 3]! : '/mediawiki/page/change/1.2.0'),
          ),
        );
      }
      const { paths, config } = await writeCliJob(
        t,
        [],
        api.url,
        {
          stream_manager: {
            schema_uris: [pathToFileURL(repo).href],
            source: { connector: 'stdin', options: undefined },
          },
        },
        'schema-confinement-stdin-',
      );
      // A pipe, as in production: a second reader of the same pipe would take lines from the source.
      const { code, stderr } = await runCli(t, pageContentChange(config), {
        input: lines.map((l) => `${l}\n`).join(''),
        stdout: 'ignore',
      });
      assert.equal(code, 0, stderr);

      // 67 name /dev/stdin outright or through %2e%2e: they fail. 33 name the trap, a repository
      // symlink to /dev/stdin: refused like a missing version, so projected and enriched.
      assert.deepEqual(parseSummaryLine(stderr)?.counts, {
        records: 1_000,
        enriched: 933,
        passed: 0,
        dropped: 0,
        failed: 67,
        unfinished: 0,
        SchemaValidationError: 67,
      });
      const outputs = await readLines(paths.output);
      const errors = await readLines(paths.errors);
      assert.equal(outputs.length + errors.length, 1_000);
    },
  );
});

/** The shared repository served over http on 127.0.0.1, recording every request's path and query. */
async function recordingRepository(t: TestContext): Promise<{ base: string; requests: string[] }> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(SHARED_SCHEMAS_DIR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const handle = await open(path);
    files.set(
      `/repositories/primary/jsonschema/${relative(SHARED_SCHEMAS_DIR, path)}`,
      await handle.readFile(),
    );
    await handle.close();
  }
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body ?? 'not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/repositories/primary/jsonschema`,
    requests,
  };
}
