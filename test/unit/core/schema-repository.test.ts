import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { HttpStatusError } from '../../../src/core/bounded-read.js';
import { ConfigError } from '../../../src/core/errors.js';
import { SchemaNotFoundError, SchemaRepository, prepareForAjv } from '../../../src/core/schema-repository.js';
import { createFetchText } from '../../../src/runtime/fetch-text.js';
import { SHARED_SCHEMAS_DIR, SHARED_SCHEMAS_URI, sharedSchemaRepository } from '../../helpers/schemas.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A schema repository in a temporary directory: relative path → file content. */
async function tempRepo(files: Record<string, string>): Promise<{ dir: string; uri: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'schema-repo-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return { dir, uri: pathToFileURL(dir).href };
}

/** Counts `$id` keys anywhere below the root object, data included. */
function nestedIds(value: unknown, isRoot = true): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = !isRoot && Object.hasOwn(value, '$id') ? 1 : 0;
  for (const child of Object.values(value)) n += nestedIds(child, false);
  return n;
}

const TEST_EVENT_YAML = `title: test/event
$id: /test/event/1.0.0
$schema: 'https://json-schema.org/draft-07/schema#'
type: object
properties:
  $schema: {type: string}
  name: {type: string}
`;

describe('SchemaRepository', () => {
  it('reads a YAML schema from the shared checkout and prepares it for ajv', async () => {
    const raw = parseYaml(
      await readFile(join(SHARED_SCHEMAS_DIR, 'mediawiki/page/change/1.2.0.yaml'), 'utf8'),
    );
    // 14 `$id`s in the file: the root's and 13 inlined fragments', some of them the same `$id`.
    assert.equal(nestedIds(raw), 13);

    const schema = await sharedSchemaRepository().get('/mediawiki/page/change/1.2.0');
    assert.equal(schema.$id, '/mediawiki/page/change/1.2.0');
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(nestedIds(schema), 0);
    const revision = schema.properties?.revision as Record<string, unknown>;
    assert.equal(revision.$schema, undefined);
    assert.equal(revision.title, 'fragment/mediawiki/state/entity/revision');
    // `properties.$schema` declares the event field; it is not a keyword and must survive.
    assert.deepEqual(Object.keys(schema.properties?.$schema as object).sort(), ['description', 'type']);
    assert.ok(Object.isFrozen(schema) && Object.isFrozen(revision));
  });

  it('accepts a URI without the leading slash and `latest`', async () => {
    const repo = sharedSchemaRepository();
    assert.equal((await repo.get('error/2.1.0')).$id, '/error/2.1.0');
    assert.equal((await repo.get('/mediawiki/page/change/latest')).$id, '/mediawiki/page/change/1.2.0');
  });

  it('reads a JSON schema', async () => {
    const { uri } = await tempRepo({
      'test/event/1.0.0.json': JSON.stringify({ $id: '/test/event/1.0.0', type: 'object', properties: {} }),
    });
    const schema = await new SchemaRepository({ baseUris: [uri] }).get('/test/event/1.0.0');
    assert.deepEqual(schema, { $id: '/test/event/1.0.0', type: 'object', properties: {} });
  });

  it('follows a bare file that names its sibling (a materialised symlink)', async () => {
    const { uri } = await tempRepo({
      'test/event/1.0.0.yaml': TEST_EVENT_YAML,
      'test/event/latest': '1.0.0.yaml\n',
      'test/event/alias': 'latest.json',
      'test/event/latest.json': '1.0.0.yaml',
    });
    const repo = new SchemaRepository({ baseUris: [uri] });
    const latest = await repo.get('/test/event/latest');
    assert.equal(latest.$id, '/test/event/1.0.0');
    assert.deepEqual(Object.keys(latest.properties ?? {}), ['$schema', 'name']);
    // Two hops: alias → latest.json → 1.0.0.yaml.
    assert.equal((await repo.get('/test/event/alias')).$id, '/test/event/1.0.0');
  });

  it('parses a bare file that holds the schema itself', async () => {
    const { uri } = await tempRepo({ 'test/event/2.0.0': TEST_EVENT_YAML.replace('1.0.0', '2.0.0') });
    const schema = await new SchemaRepository({ baseUris: [uri] }).get('/test/event/2.0.0');
    assert.equal(schema.$id, '/test/event/2.0.0');
  });

  it('tries the bases in order, the first that has the schema wins', async () => {
    const first = await tempRepo({ 'only/first/1.0.0.yaml': '$id: /only/first/1.0.0\ntitle: first' });
    const second = await tempRepo({
      'only/first/1.0.0.yaml': '$id: /only/first/1.0.0\ntitle: second',
      'only/second/1.0.0.yaml': '$id: /only/second/1.0.0\ntitle: second',
    });
    const repo = new SchemaRepository({ baseUris: [first.uri + '/', second.uri] });
    assert.equal((await repo.get('/only/first/1.0.0')).title, 'first');
    assert.equal((await repo.get('/only/second/1.0.0')).title, 'second');
  });

  it('names the URI and every place tried when nothing is found', async () => {
    const other = await tempRepo({});
    const repo = new SchemaRepository({ baseUris: [SHARED_SCHEMAS_URI, other.uri] });
    const err = await repo.get('/no/such/1.0.0').then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SchemaNotFoundError);
    assert.equal(err.schemaUri, '/no/such/1.0.0');
    assert.deepEqual(
      err.tried.map((t) => t.replace(/:[^:]*$/, '')),
      [SHARED_SCHEMAS_URI, other.uri].flatMap((base) => [
        `${base}/no/such/1.0.0.yaml`,
        `${base}/no/such/1.0.0.json`,
        `${base}/no/such/1.0.0`,
      ]),
    );
    assert.ok(err.tried.every((t) => t.endsWith(': ENOENT')));
    assert.match(err.message, /^schema \/no\/such\/1\.0\.0 not found; tried:/);
    assert.ok(err.message.includes(`${other.uri}/no/such/1.0.0.json: ENOENT`));
  });

  it('reads an http base through the injected fetchText, once per URI', async () => {
    const calls: string[] = [];
    const fetchText = async (url: string): Promise<string> => {
      calls.push(url);
      await new Promise((resolve) => setImmediate(resolve));
      if (url === 'https://schema.example.org/repo/test/event/1.0.0.yaml') return TEST_EVENT_YAML;
      throw new Error('HTTP 404');
    };
    const repo = new SchemaRepository({ baseUris: ['https://schema.example.org/repo'], fetchText });
    const results = await Promise.all([repo.get('/test/event/1.0.0'), repo.get('test/event/1.0.0')]);
    const again = await repo.get('/test/event/1.0.0');
    assert.deepEqual(calls, ['https://schema.example.org/repo/test/event/1.0.0.yaml']);
    assert.equal(results[0], results[1]);
    assert.equal(results[0], again);
    assert.equal(again.$id, '/test/event/1.0.0');
  });

  it('does not cache failures', async () => {
    let available = false;
    const calls: string[] = [];
    const fetchText = async (url: string): Promise<string> => {
      calls.push(url);
      if (available && url.endsWith('.json')) return JSON.stringify({ $id: '/test/event/1.0.0' });
      throw new Error('HTTP 503');
    };
    const repo = new SchemaRepository({ baseUris: ['http://127.0.0.1:9/s'], fetchText });
    await assert.rejects(repo.get('/test/event/1.0.0'), (e: unknown) => {
      assert.ok(e instanceof SchemaNotFoundError);
      assert.deepEqual(e.tried, [
        'http://127.0.0.1:9/s/test/event/1.0.0.yaml: HTTP 503',
        'http://127.0.0.1:9/s/test/event/1.0.0.json: HTTP 503',
        'http://127.0.0.1:9/s/test/event/1.0.0: HTTP 503',
      ]);
      return true;
    });
    available = true;
    assert.equal((await repo.get('/test/event/1.0.0')).$id, '/test/event/1.0.0');
    assert.equal(calls.length, 5);
  });

  it('rejects an http base without fetchText at lookup time', async () => {
    const repo = new SchemaRepository({ baseUris: ['https://schema.example.org/repo'] });
    await assert.rejects(
      repo.get('/test/event/1.0.0'),
      (e: unknown) => e instanceof ConfigError && e.key === 'schema_uris',
    );
  });

  it('refuses bad base URIs and path traversal', async () => {
    assert.throws(() => new SchemaRepository({ baseUris: [] }), ConfigError);
    assert.throws(
      () => new SchemaRepository({ baseUris: ['/srv/schemas'] }),
      /must be a file:\/\/ or http\(s\):\/\/ URI/,
    );
    const repo = sharedSchemaRepository();
    await assert.rejects(repo.get('/mediawiki/../../../etc/passwd'), /invalid schema URI/);
    await assert.rejects(repo.get(''), /invalid schema URI/);
  });

  it('rejects a file that is not a schema object', async () => {
    const { uri } = await tempRepo({ 'bad/list/1.0.0.yaml': '- a\n- b\n', 'bad/yaml/1.0.0.yaml': 'a: [\n' });
    const repo = new SchemaRepository({ baseUris: [uri] });
    await assert.rejects(repo.get('/bad/list/1.0.0'), /bad\/list\/1\.0\.0\.yaml: not a JSON schema object/);
    await assert.rejects(repo.get('/bad/yaml/1.0.0'), /bad\/yaml\/1\.0\.0\.yaml: not YAML or JSON/);
  });
});

describe('prepareForAjv', () => {
  it('strips nested $id and $schema keywords only, not fields of those names or data', () => {
    const schema = prepareForAjv({
      $id: '/root/1.0.0',
      $schema: 'https://json-schema.org/draft-07/schema#',
      properties: {
        $id: { type: 'string' },
        child: { $id: '/child/1.0.0', $schema: 'https://json-schema.org/draft-07/schema#', type: 'object' },
        list: { type: 'array', items: { $id: '/item/1.0.0', type: 'string' } },
        map: { additionalProperties: { $id: '/value/1.0.0', type: 'string' } },
      },
      anyOf: [{ $id: '/any/1.0.0' }],
      examples: [{ $id: 'kept, this is data' }],
    });
    assert.deepEqual(schema, {
      $id: '/root/1.0.0',
      $schema: 'http://json-schema.org/draft-07/schema#',
      properties: {
        $id: { type: 'string' },
        child: { type: 'object' },
        list: { type: 'array', items: { type: 'string' } },
        map: { additionalProperties: { type: 'string' } },
      },
      anyOf: [{}],
      examples: [{ $id: 'kept, this is data' }],
    });
  });
});

/** Every request path (with its query) an http schema repository on 127.0.0.1 was asked, in order. */
async function recordingSchemaServer(
  t: TestContext,
  files: Record<string, string>,
): Promise<{ base: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? 'not found');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}/repositories/primary/jsonschema`, requests };
}

describe('SchemaRepository confinement', () => {
  it('follows a symlink inside the repository, refuses one pointing out of it', async () => {
    const outside = await tempRepo({ 'secret.yaml': TEST_EVENT_YAML.replace('1.0.0', '6.6.6') });
    const { dir, uri } = await tempRepo({ 'test/event/1.0.0.yaml': TEST_EVENT_YAML });
    await symlink('1.0.0.yaml', join(dir, 'test/event/latest'));
    await symlink(join(outside.dir, 'secret.yaml'), join(dir, 'test/event/6.6.6.yaml'));
    await symlink('/etc/passwd', join(dir, 'test/event/6.6.7'));
    await symlink(outside.dir, join(dir, 'escape'));
    const repo = new SchemaRepository({ baseUris: [uri] });

    assert.equal((await repo.get('/test/event/latest')).$id, '/test/event/1.0.0');
    for (const [schemaUri, refused] of [
      ['/test/event/6.6.6', `${uri}/test/event/6.6.6.yaml`],
      ['/test/event/6.6.7', `${uri}/test/event/6.6.7`],
      ['/escape/secret', `${uri}/escape/secret.yaml`],
    ] as const) {
      const err = await repo.get(schemaUri).then(
        () => assert.fail(`${schemaUri} was read`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SchemaNotFoundError);
      const attempt = err.attempts.find((a) => a.url === refused);
      assert.equal(attempt?.outcome, 'refused', `${schemaUri}: ${err.message}`);
      assert.match(attempt.detail, /resolves to .*, outside /);
      assert.equal(err.definite, true, 'a refusal is an answer for good');
    }
  });

  it('refuses a FIFO inside the repository without waiting for a writer', { timeout: 20_000 }, async () => {
    const { dir, uri } = await tempRepo({ 'test/event/README': 'x' });
    await promisify(execFile)('mkfifo', [join(dir, 'test/event/1.0.0.yaml')]);
    const err = await new SchemaRepository({ baseUris: [uri] }).get('/test/event/1.0.0').then(
      () => assert.fail('a FIFO was read'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SchemaNotFoundError);
    assert.deepEqual(err.attempts[0], {
      url: `${uri}/test/event/1.0.0.yaml`,
      outcome: 'refused',
      detail: `${join(dir, 'test/event/1.0.0.yaml')} is not a regular file`,
    });
  });

  it(
    'refuses a character device inside the repository (/dev/zero under a base of /)',
    { timeout: 20_000 },
    async () => {
      const err = await new SchemaRepository({ baseUris: ['file:///'] }).get('/dev/zero').then(
        () => assert.fail('/dev/zero was read'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SchemaNotFoundError);
      assert.deepEqual(
        err.attempts.map((a) => [a.outcome, a.detail]),
        [
          ['missing', 'ENOENT'],
          ['missing', 'ENOENT'],
          ['refused', '/dev/zero is not a regular file'],
        ],
      );
    },
  );

  it('reads a file of exactly the bound, refuses a larger one without reading it', async () => {
    const fits = `# ${'x'.repeat(1000)}\n${TEST_EVENT_YAML}`;
    const { dir, uri } = await tempRepo({ 'test/event/1.0.0.yaml': fits });
    await writeFile(join(dir, 'test/event/2.0.0.yaml'), `${fits}#`);
    // 64 GiB, sparse: reading it would not finish, and no buffer could hold it.
    await writeFile(join(dir, 'test/event/3.0.0.yaml'), '');
    await truncate(join(dir, 'test/event/3.0.0.yaml'), 64 * 1024 ** 3);
    const repo = new SchemaRepository({ baseUris: [uri], maxSchemaBytes: Buffer.byteLength(fits) });

    assert.equal((await repo.get('/test/event/1.0.0')).$id, '/test/event/1.0.0');
    for (const version of ['2.0.0', '3.0.0']) {
      await assert.rejects(repo.get(`/test/event/${version}`), (e: unknown) => {
        assert.ok(e instanceof SchemaNotFoundError);
        assert.equal(e.attempts[0]?.outcome, 'refused');
        assert.equal(
          e.attempts[0]?.detail,
          `${join(dir, `test/event/${version}.yaml`)} is larger than ${Buffer.byteLength(fits)} bytes`,
        );
        return true;
      });
    }
  });

  it('tells a definite "not there" from a failure that may pass', async () => {
    const { uri } = await tempRepo({});
    const answers: Record<string, () => Promise<string>> = {
      '404': () => Promise.reject(new HttpStatusError('u', 404)),
      '410': () => Promise.reject(new HttpStatusError('u', 410)),
      '503': () => Promise.reject(new HttpStatusError('u', 503)),
      network: () =>
        Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    };
    const definite = async (answer: string) => {
      const repo = new SchemaRepository({
        baseUris: [uri, 'https://schema.example.org/r'],
        fetchText: answers[answer],
      });
      return repo.get('/test/event/1.0.0').then(
        () => assert.fail('found'),
        (e: unknown) => (e as SchemaNotFoundError).definite,
      );
    };
    assert.equal(await definite('404'), true);
    assert.equal(await definite('410'), true);
    assert.equal(await definite('503'), false);
    assert.equal(await definite('network'), false);
  });

  it('asks an http repository only for URLs below its base, whatever is looked up', async (t) => {
    const server = await recordingSchemaServer(t, {
      '/repositories/primary/jsonschema/test/event/1.0.0.yaml': TEST_EVENT_YAML,
      '/repositories/primary/jsonschema/test/event/latest': '1.0.0.yaml\n',
      '/admin/delete-everything?confirm=yes': 'deleted',
    });
    const repo = new SchemaRepository({
      baseUris: [server.base],
      fetchText: createFetchText({}, 'schema-repository-test'),
    });
    for (const hostile of [
      '/admin/delete-everything?confirm=yes',
      '/test/event/%2e%2e/%2e%2e/%2e%2e/admin/delete-everything',
      '/test/event/..\\..\\..\\admin',
      '/test/../../../admin/x',
      '/test/event/1.0.0#x',
      'http://127.0.0.1/admin/x',
      '/test/event/\u0000',
    ]) {
      await assert.rejects(repo.get(hostile), /invalid schema URI/, hostile);
    }
    assert.equal((await repo.get('/test/event/latest')).$id, '/test/event/1.0.0');
    await assert.rejects(repo.get('/test/event/9.9.9'), SchemaNotFoundError);
    assert.deepEqual(server.requests, [
      '/repositories/primary/jsonschema/test/event/latest.yaml',
      '/repositories/primary/jsonschema/test/event/latest.json',
      '/repositories/primary/jsonschema/test/event/latest',
      '/repositories/primary/jsonschema/test/event/1.0.0.yaml',
      '/repositories/primary/jsonschema/test/event/9.9.9.yaml',
      '/repositories/primary/jsonschema/test/event/9.9.9.json',
      '/repositories/primary/jsonschema/test/event/9.9.9',
    ]);
  });

  it('refuses an http base with a query, fragment or user at construction', () => {
    for (const base of ['https://h.example/r?x=1', 'https://h.example/r#x', 'https://u:p@h.example/r']) {
      assert.throws(() => new SchemaRepository({ baseUris: [base] }), ConfigError, base);
    }
  });
});
