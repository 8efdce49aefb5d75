import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaNotFoundError, SchemaRepository } from '../../../src/core/schema-repository.js';
import { Validator } from '../../../src/core/validator.js';
import { pageChangeEvent } from '../../helpers/events.js';
import { SHARED_SCHEMAS_URI, sharedSchemaRepository } from '../../helpers/schemas.js';

class CountingRepository extends SchemaRepository {
  readonly lookups: string[] = [];
  override get(schemaUri: string) {
    this.lookups.push(schemaUri);
    return super.get(schemaUri);
  }
}

const PAGE_CHANGE_VERSIONS = ['1.0.0', '1.1.0', '1.2.0'];

describe('Validator', () => {
  const validator = new Validator(sharedSchemaRepository());
  const repository = sharedSchemaRepository();

  for (const version of PAGE_CHANGE_VERSIONS) {
    it(`accepts the examples of mediawiki/page/change/${version} and the fixture event`, async () => {
      const uri = `/mediawiki/page/change/${version}`;
      const validate = await validator.forSchema(uri);
      const examples = (await repository.get(uri)).examples as unknown[];
      assert.equal(examples.length, 1);
      assert.deepEqual(validate(examples[0]), { valid: true });
      assert.deepEqual(validate(pageChangeEvent({ $schema: uri })), { valid: true });
    });
  }

  it('accepts the example of error/2.1.0', async () => {
    const validate = await validator.forSchema('/error/2.1.0');
    const examples = (await repository.get('/error/2.1.0')).examples as unknown[];
    assert.deepEqual(validate(examples[0]), { valid: true });
  });

  it('compiles `latest` beside the version it points to', async () => {
    const pinned = await validator.forSchema('/mediawiki/page/change/1.2.0');
    const latest = await validator.forSchema('/mediawiki/page/change/latest');
    assert.deepEqual(latest(pageChangeEvent()), { valid: true });
    assert.deepEqual(latest({}), pinned({}));
  });

  it('names the instance path of what is wrong', async () => {
    const validate = await validator.forSchema('/mediawiki/page/change/1.2.0');
    const cases: [unknown, string][] = [
      [pageChangeEvent({ revision: { rev_id: '2' } }), '/revision/rev_id must be integer'],
      [pageChangeEvent({ meta: undefined }), "(root) must have required property 'meta'"],
      [pageChangeEvent({ new_field: 1 }), '(root) must NOT have additional properties (new_field)'],
      [
        pageChangeEvent({ revision: { content_slots: { main: { future: 1 } } } }),
        '/revision/content_slots/main must NOT have additional properties (future)',
      ],
      [pageChangeEvent({ dt: 'yesterday' }), '/dt must match format "date-time"'],
      [
        pageChangeEvent({ meta: { uri: 'not a uri reference' } }),
        '/meta/uri must match format "uri-reference"',
      ],
      [
        pageChangeEvent({ page_change_kind: 'merge' }),
        '/page_change_kind must be equal to one of the allowed values',
      ],
    ];
    for (const [event, message] of cases) assert.deepEqual(validate(event), { valid: false, message });
  });

  it('never throws for input that is not an event', async () => {
    const validate = await validator.forSchema('/mediawiki/page/change/1.2.0');
    for (const value of [undefined, null, 'text', 42, [], [pageChangeEvent()], Object.create(null)]) {
      const result = validate(value);
      assert.equal(result.valid, false);
    }
    assert.deepEqual(validate(null), { valid: false, message: '(root) must be object' });
  });

  it('compiles each schema once, sharing concurrent compiles', async () => {
    const counting = new CountingRepository({ baseUris: [SHARED_SCHEMAS_URI] });
    const fresh = new Validator(counting);
    const [a, b, c] = await Promise.all([
      fresh.forSchema('/error/2.1.0'),
      fresh.forSchema('/error/2.1.0'),
      fresh.forSchema('/error/2.1.0'),
    ]);
    assert.equal(a, b);
    assert.equal(a, c);
    assert.equal(await fresh.forSchema('/error/2.1.0'), a);
    assert.deepEqual(counting.lookups, ['/error/2.1.0']);
  });

  it('does not cache a schema that was not found', async () => {
    const counting = new CountingRepository({ baseUris: [SHARED_SCHEMAS_URI] });
    const fresh = new Validator(counting);
    await assert.rejects(fresh.forSchema('/no/such/1.0.0'), SchemaNotFoundError);
    await assert.rejects(fresh.forSchema('/no/such/1.0.0'), SchemaNotFoundError);
    assert.deepEqual(counting.lookups, ['/no/such/1.0.0', '/no/such/1.0.0']);
  });
});
