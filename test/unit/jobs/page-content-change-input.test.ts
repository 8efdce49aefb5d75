import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { HttpStatusError } from '../../../src/core/bounded-read.js';
import { EnrichmentError } from '../../../src/core/errors.js';
import { compileProjection } from '../../../src/core/event.js';
import { SchemaRepository } from '../../../src/core/schema-repository.js';
import { Validator } from '../../../src/core/validator.js';
import {
  checkInput,
  UnavailableSchemas,
  type CheckedInput,
  type InputSchemas,
} from '../../../src/jobs/page-content-change/input.js';
import { pageChangeEvent } from '../../helpers/events.js';
import { SHARED_SCHEMAS_DIR, SHARED_SCHEMAS_URI } from '../../helpers/schemas.js';

const MIRROR = 'https://schema.example.org/repo';

/** `checkInput` as one promise: what it throws at once rejects it. */
function checkedInput(event: Record<string, unknown>, schemas: InputSchemas): Promise<CheckedInput> {
  return Promise.resolve().then(() => checkInput(event, schemas));
}
const V130 = '/mediawiki/page/change/1.3.0';

/** `1.2.0` with a new optional field, as a newer producer would have it. */
async function schema130(): Promise<string> {
  const schema = parseYaml(
    await readFile(join(SHARED_SCHEMAS_DIR, 'mediawiki/page/change/1.2.0.yaml'), 'utf8'),
  ) as { $id: string; properties: Record<string, unknown> };
  schema.$id = V130;
  schema.properties.new_field = { type: 'string' };
  return JSON.stringify(schema);
}

/**
 * Input schemas over the shared checkout (1.0.0–1.2.0) and an http mirror whose answer to each
 * request `mirror` decides; a clock the test moves.
 */
async function setup(mirror: (url: string) => Promise<string>) {
  const requests: string[] = [];
  const fetchText = (url: string) => {
    requests.push(url);
    return mirror(url);
  };
  const validator = new Validator(
    new SchemaRepository({ baseUris: [SHARED_SCHEMAS_URI, MIRROR], fetchText }),
  );
  const pinnedSchema = await new SchemaRepository({ baseUris: [SHARED_SCHEMAS_URI] }).get(
    '/mediawiki/page/change/1.2.0',
  );
  const clock = { now: 0 };
  const logged: string[] = [];
  const schemas: InputSchemas = {
    validator,
    title: 'mediawiki/page/change',
    pinned: {
      uri: '/mediawiki/page/change/1.2.0',
      validate: await validator.forSchema('/mediawiki/page/change/1.2.0'),
      projection: compileProjection(pinnedSchema),
    },
    unknown: new Set(),
    unavailable: new UnavailableSchemas({
      retryAfterMs: 1_000,
      now: () => clock.now,
      onUnavailable: (uri, err) => logged.push(`${uri}: ${(err as Error).name}`),
    }),
  };
  return { schemas, requests, clock, logged };
}

const newer = () => pageChangeEvent({ $schema: V130, new_field: 'from a newer producer' });

describe('checkInput: $schema', () => {
  it('fails an input whose $schema is not of the repository form, asking no repository', async () => {
    const { schemas, requests } = await setup(() => assert.fail('asked'));
    for (const hostile of [
      '%2e%2e',
      '/mediawiki/page/change/%2e%2e/%2e%2e/etc/passwd',
      '..\\..\\etc\\passwd',
      '/mediawiki/page/change/../../../../etc/passwd',
      '/dev/stdin',
      'file:///etc/passwd',
      '/admin/delete-everything?confirm=yes',
      '/mediawiki/page/change/latest',
      '/mediawiki/page/change/1.2.0\u0000',
      `/${'a/'.repeat(100_000)}1.2.0`,
    ]) {
      await assert.rejects(
        checkedInput(pageChangeEvent({ $schema: hostile }), schemas),
        (e: unknown) => {
          assert.ok(e instanceof EnrichmentError);
          assert.equal(e.type, 'SchemaValidationError');
          assert.match(
            e.message,
            /^\$schema ".*"(?:… \(\d+ characters\))? is not of the form \/<title>\/<MAJOR>\.<MINOR>\.<PATCH>, optionally after an http\(s\) repository base ending in \/jsonschema$/,
          );
          assert.ok(e.message.length < 400, 'the message quotes a bounded part of the value');
          return true;
        },
        JSON.stringify(hostile).slice(0, 80),
      );
    }
    assert.deepEqual(requests, []);
    assert.equal(schemas.unknown.size, 0);
  });

  it('fails an input of another schema title', async () => {
    const { schemas } = await setup(() => assert.fail('asked'));
    await assert.rejects(checkedInput(pageChangeEvent({ $schema: '/error/2.1.0' }), schemas), {
      name: 'SchemaValidationError',
      message: '$schema /error/2.1.0 is not a mediawiki/page/change schema',
    });
  });

  it('validates against the version named after any repository base', async () => {
    const { schemas, requests } = await setup(() => assert.fail('asked'));
    const event = pageChangeEvent({
      $schema: 'https://evil.example/x/jsonschema/mediawiki/page/change/1.1.0',
    });
    const checked = await checkedInput(event, schemas);
    assert.deepEqual(checked.dropped, []);
    assert.equal(checked.event, event);
    assert.deepEqual(requests, [], '1.1.0 is in the file repository; the host in $schema is never asked');
  });
});

describe('checkInput: versions the repositories do not give', () => {
  it('remembers a version every repository says it does not have, and projects it', async () => {
    const { schemas, requests, clock } = await setup((url) => Promise.reject(new HttpStatusError(url, 404)));
    for (let i = 0; i < 3; i++) {
      const checked = await checkedInput(newer(), schemas);
      assert.deepEqual(checked.dropped, ['new_field']);
      clock.now += 60_000;
    }
    assert.deepEqual(requests, [`${MIRROR}${V130}.yaml`, `${MIRROR}${V130}.json`, `${MIRROR}${V130}`]);
    assert.deepEqual([...schemas.unknown], [V130]);
  });

  it('projects, does not remember, and tries again later a version whose schema failed to load', async () => {
    let up = false;
    const body = await schema130();
    const { schemas, requests, clock, logged } = await setup((url) => {
      if (!up) return Promise.reject(new HttpStatusError(url, 503));
      return url === `${MIRROR}${V130}.yaml`
        ? Promise.resolve(body)
        : Promise.reject(new HttpStatusError(url, 404));
    });

    assert.deepEqual((await checkedInput(newer(), schemas)).dropped, ['new_field']);
    assert.equal(requests.length, 3);
    assert.deepEqual(logged, [`${V130}: SchemaNotFoundError`]);
    assert.equal(schemas.unknown.size, 0, 'a failure that may pass is not remembered as unknown');

    // Within the interval: projected without asking again.
    clock.now += 999;
    assert.deepEqual((await checkedInput(newer(), schemas)).dropped, ['new_field']);
    assert.equal(requests.length, 3);

    // After it, once the mirror is back: validated against 1.3.0 itself, nothing dropped.
    up = true;
    clock.now += 1;
    const checked = await checkedInput(newer(), schemas);
    assert.deepEqual(checked.dropped, []);
    assert.equal(checked.event.new_field, 'from a newer producer');
    assert.equal(requests.length, 4);
    assert.deepEqual(logged, [`${V130}: SchemaNotFoundError`], 'logged once per failure');
    await assert.rejects(checkedInput({ ...newer(), new_field: 7 }, schemas), {
      name: 'SchemaValidationError',
      message: `invalid against ${V130}: /new_field must be string`,
    });
  });

  it('keeps at most 1,000 unknown versions, forgetting the oldest first', async () => {
    const { schemas } = await setup((url) => Promise.reject(new HttpStatusError(url, 404)));
    for (let minor = 0; minor <= 1_000; minor++) {
      await checkedInput(pageChangeEvent({ $schema: `/mediawiki/page/change/9.${minor}.0` }), schemas);
    }
    assert.equal(schemas.unknown.size, 1_000);
    assert.equal(schemas.unknown.has('/mediawiki/page/change/9.0.0'), false);
    assert.equal(schemas.unknown.has('/mediawiki/page/change/9.1000.0'), true);
  });
});
