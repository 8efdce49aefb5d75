import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { EnrichmentError } from '../../../src/core/errors.js';
import {
  compileProjection,
  eventKey,
  serialiseKey,
  toSinkEvent,
  type Projection,
} from '../../../src/core/event.js';
import type { JsonSchemaObject } from '../../../src/core/json-schema.js';
import { Validator } from '../../../src/core/validator.js';
import { pageChangeEvent } from '../../helpers/events.js';
import { sharedSchemaRepository } from '../../helpers/schemas.js';

const repository = sharedSchemaRepository();
let v120: Projection;
let v100: Projection;
before(async () => {
  v120 = compileProjection(await repository.get('/mediawiki/page/change/1.2.0'));
  v100 = compileProjection(await repository.get('/mediawiki/page/change/1.0.0'));
});

describe('compileProjection', () => {
  it('drops the fields the schema does not know and lists their paths in input order', () => {
    const input = pageChangeEvent({
      meta: { future_meta: 'meta is an open object' },
      revision: {
        content_slots: {
          main: { content_body: 'text', future: true },
          mediainfo: { slot_role: 'mediainfo', content_model: 'wikibase-mediainfo', x: { y: 1 } },
        },
        new_field: 'r',
      },
      new_top: { a: 1 },
    });
    const snapshot = structuredClone(input);

    const { value, dropped } = v120.project(input);

    assert.deepEqual(dropped, [
      'revision.content_slots.main.future',
      'revision.content_slots.mediainfo.x',
      'revision.new_field',
      'new_top',
    ]);
    assert.deepEqual(
      value,
      pageChangeEvent({
        meta: { future_meta: 'meta is an open object' },
        revision: {
          content_slots: {
            main: { content_body: 'text' },
            mediainfo: { slot_role: 'mediainfo', content_model: 'wikibase-mediainfo' },
          },
        },
      }),
    );
    assert.deepEqual(input, snapshot, 'input not mutated');
    const out = value as Record<string, Record<string, unknown>>;
    assert.notEqual(out, input);
    assert.notEqual(out.revision, input.revision);
  });

  it('drops fields of a newer version when projecting onto an older one', () => {
    const link = { page_id: 7, page_title: 'Target', namespace_id: 0, is_redirect: false };
    const input = pageChangeEvent({ page: { is_redirect: true, redirect_page_link: link } });
    assert.deepEqual(v120.project(input).dropped, []);
    const { value, dropped } = v100.project(input);
    assert.deepEqual(dropped, ['page.redirect_page_link']);
    assert.deepEqual((value as { page: unknown }).page, {
      page_id: 1,
      page_title: 'Main_Page',
      namespace_id: 0,
      is_redirect: true,
    });
  });

  it('leaves values of the wrong type for the validator', () => {
    assert.deepEqual(v120.project('text'), { value: 'text', dropped: [] });
    assert.deepEqual(v120.project(null), { value: null, dropped: [] });
    const { value, dropped } = v120.project({ revision: 'not an object', page: [1, 2], extra: 1 });
    assert.deepEqual(value, { revision: 'not an object', page: [1, 2] });
    assert.deepEqual(dropped, ['extra']);
  });

  it('keeps `__proto__` keys as data, never as a prototype', () => {
    const input = JSON.parse(
      '{"meta": {"stream": "s", "__proto__": {"polluted": true}}, "__proto__": {"polluted": true}}',
    );
    const { value, dropped } = v120.project(input);
    const out = value as { meta: Record<string, unknown> };
    assert.deepEqual(dropped, ['__proto__']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(Object.getPrototypeOf(out.meta), Object.prototype);
    assert.deepEqual(Object.keys(out.meta), ['stream', '__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('projects array items and schema-valued additionalProperties', () => {
    const schema: JsonSchemaObject = {
      type: 'object',
      additionalProperties: false,
      properties: {
        list: {
          type: 'array',
          items: { type: 'object', additionalProperties: false, properties: { a: {} } },
        },
        map: {
          type: 'object',
          additionalProperties: { type: 'object', additionalProperties: false, properties: { k: {} } },
        },
        open: { type: 'object' },
      },
    };
    const { value, dropped } = compileProjection(schema).project({
      list: [{ a: 1, b: 2 }, { a: 3 }],
      map: { x: { k: 1, z: 2 } },
      open: { anything: { goes: 1 } },
    });
    assert.deepEqual(value, {
      list: [{ a: 1 }, { a: 3 }],
      map: { x: { k: 1 } },
      open: { anything: { goes: 1 } },
    });
    assert.deepEqual(dropped, ['list[].b', 'map.x.z']);
  });

  it('shares what has nothing to drop below it and copies only the objects on the way to a drop', () => {
    type Event = { page: object; meta: object; revision: { content_slots: object } };
    const input = pageChangeEvent({ revision: { surprise: 1 } }) as unknown as Event;
    const snapshot = structuredClone(input);
    const { value, dropped } = v120.project(input) as { value: Event; dropped: string[] };
    assert.deepEqual(dropped, ['revision.surprise']);
    assert.deepEqual(input, snapshot, 'input not mutated');
    assert.notEqual(value, input);
    assert.notEqual(value.revision, input.revision);
    assert.equal(value.page, input.page, 'page: nothing dropped, shared');
    assert.equal(value.meta, input.meta);
    assert.equal(value.revision.content_slots, input.revision.content_slots);
    assert.deepEqual(Object.keys(value), Object.keys(input), 'key order kept');
    assert.deepEqual(
      Object.keys(value.revision),
      Object.keys(snapshot.revision).filter((k) => k !== 'surprise'),
    );

    const known = pageChangeEvent();
    const projected = v120.project(known);
    assert.equal(projected.value, known, 'an event with every field known is returned as it is');
    assert.deepEqual(projected.dropped, []);
  });
});

describe('toSinkEvent', () => {
  const now = new Date('2024-05-01T12:00:05.123Z');
  const options = () => ({
    projection: v120,
    schemaUri: '/mediawiki/page/change/1.2.0',
    stream: 'mediawiki.page_content_change.v1',
    now,
    id: '00000000-0000-4000-8000-00000000000a',
  });

  it('normalises $schema and meta, keeps dt, domain, uri and request_id, and validates', async () => {
    const input = pageChangeEvent({ $schema: '/mediawiki/page/change/1.1.0' });
    const snapshot = structuredClone(input);
    const { event, dropped } = toSinkEvent(input, options());
    assert.deepEqual(dropped, []);
    assert.deepEqual(
      event,
      pageChangeEvent({
        meta: {
          stream: 'mediawiki.page_content_change.v1',
          id: '00000000-0000-4000-8000-00000000000a',
          dt: '2024-05-01T12:00:05.123Z',
        },
      }),
    );
    assert.equal(event.dt, '2024-05-01T12:00:00Z');
    assert.deepEqual(input, snapshot, 'input not mutated');
    const validate = await new Validator(repository).forSchema('/mediawiki/page/change/1.2.0');
    assert.deepEqual(validate(event), { valid: true });
  });

  it('counts dropped fields and builds meta when the input has none', () => {
    const { event, dropped } = toSinkEvent(pageChangeEvent({ meta: undefined, surprise: 1 }), options());
    assert.deepEqual(dropped, ['surprise']);
    assert.deepEqual(event.meta, {
      stream: 'mediawiki.page_content_change.v1',
      id: '00000000-0000-4000-8000-00000000000a',
      dt: '2024-05-01T12:00:05.123Z',
    });
  });

  it('does not touch the input when every field is known (the projection shares it)', () => {
    const input = pageChangeEvent();
    const snapshot = structuredClone(input);
    const { event } = toSinkEvent(input, options());
    assert.deepEqual(input, snapshot);
    assert.notEqual(event, input);
    assert.notEqual(event.meta, input.meta);
    assert.equal(event.page, input.page);
  });

  it('does not touch the input when the schema describes no fields', () => {
    const input = { meta: { stream: 'in', domain: 'd' }, x: 1 };
    const { event } = toSinkEvent(input, { ...options(), projection: compileProjection(true) });
    assert.deepEqual(input, { meta: { stream: 'in', domain: 'd' }, x: 1 });
    assert.deepEqual(event, {
      meta: {
        stream: 'mediawiki.page_content_change.v1',
        domain: 'd',
        id: '00000000-0000-4000-8000-00000000000a',
        dt: '2024-05-01T12:00:05.123Z',
      },
      x: 1,
      $schema: '/mediawiki/page/change/1.2.0',
    });
  });

  it('refuses an input that is not an object', () => {
    for (const input of [null, [], 'x']) {
      assert.throws(
        () => toSinkEvent(input, options()),
        (e: unknown) => e instanceof EnrichmentError && e.type === 'InvalidEventError',
      );
    }
  });
});

describe('eventKey and serialiseKey', () => {
  it('gives the WMF message key, fields in that order', () => {
    const key = eventKey(pageChangeEvent({ wiki_id: 'enwiki', page: { page_id: 123 } }));
    assert.deepEqual(key, { wiki_id: 'enwiki', page_id: 123 });
    assert.equal(serialiseKey(key!), '{"wiki_id":"enwiki","page_id":123}');
    assert.equal(
      serialiseKey({ page_id: 5, wiki_id: 'x"\u00e9' } as never),
      '{"wiki_id":"x\\"\u00e9","page_id":5}',
    );
  });

  it('is undefined when wiki_id or page.page_id is missing or of the wrong type', () => {
    for (const event of [
      null,
      'x',
      pageChangeEvent({ wiki_id: undefined }),
      pageChangeEvent({ wiki_id: '' }),
      pageChangeEvent({ page: undefined }),
      pageChangeEvent({ page: { page_id: '1' } }),
      pageChangeEvent({ page: { page_id: 1.5 } }),
    ]) {
      assert.equal(eventKey(event), undefined);
    }
  });
});
