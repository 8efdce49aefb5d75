import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { buildErrorEvent } from '../../../src/core/error-event.js';
import { EnrichmentError } from '../../../src/core/errors.js';
import { Validator, type Validate } from '../../../src/core/validator.js';
import { pageChangeEvent } from '../../helpers/events.js';
import { sharedSchemaRepository } from '../../helpers/schemas.js';

let validate: Validate;
before(async () => {
  validate = await new Validator(sharedSchemaRepository()).forSchema('/error/2.1.0');
});

const base = {
  jobName: 'mw-page-content-change-enrich',
  errorStream: 'mw-page-content-change-enrich.error',
  now: new Date('2024-05-01T12:00:09Z'),
  id: '00000000-0000-4000-8000-0000000000e1',
};

describe('buildErrorEvent', () => {
  it('fills every field from an EnrichmentError and a parsed page change', () => {
    const input = pageChangeEvent();
    const rawEvent = JSON.stringify(input);
    const error = new EnrichmentError('MissingRevisionError', 'revision 2 of enwiki is missing', {
      details: { rev_id: 2 },
    });
    const event = buildErrorEvent({ ...base, error, rawEvent, parsed: input });
    const { stack, ...rest } = event;
    assert.deepEqual(rest, {
      $schema: '/error/2.1.0',
      meta: {
        stream: 'mw-page-content-change-enrich.error',
        id: '00000000-0000-4000-8000-0000000000e1',
        dt: '2024-05-01T12:00:09.000Z',
        domain: 'en.wikipedia.org',
      },
      dt: '2024-05-01T12:00:09.000Z',
      emitter_id: 'mw-page-content-change-enrich',
      message: 'revision 2 of enwiki is missing',
      error_type: 'MissingRevisionError',
      raw_event: rawEvent,
      errored_stream_name: 'mediawiki.page_change.v1',
      errored_schema_uri: '/mediawiki/page/change/1.2.0',
    });
    assert.match(stack ?? '', /^MissingRevisionError: revision 2 of enwiki is missing\n\s+at /);
    assert.deepEqual(validate(event), { valid: true });
  });

  it('parses rawEvent when no parsed value is given, and prefers the given one', () => {
    const rawEvent = JSON.stringify({
      $schema: '/raw/1.0.0',
      meta: { stream: 'raw.stream', domain: 'raw.example.org' },
    });
    const fromRaw = buildErrorEvent({ ...base, error: new Error('x'), rawEvent });
    assert.equal(fromRaw.errored_schema_uri, '/raw/1.0.0');
    assert.equal(fromRaw.errored_stream_name, 'raw.stream');
    assert.equal(fromRaw.meta.domain, 'raw.example.org');
    const fromParsed = buildErrorEvent({
      ...base,
      error: new Error('x'),
      rawEvent,
      parsed: { meta: { stream: 'parsed.stream' } },
    });
    assert.equal(fromParsed.errored_stream_name, 'parsed.stream');
    assert.equal(fromParsed.errored_schema_uri, undefined);
    assert.equal(fromParsed.meta.domain, undefined);
  });

  it('names the error type and keeps the causes in the stack', () => {
    const socket = new TypeError('socket hang up');
    const wrapped = new EnrichmentError('ConnectionError', 'request to en.wikipedia.org failed', {
      cause: socket,
    });
    const event = buildErrorEvent({ ...base, error: wrapped, rawEvent: '{}' });
    assert.equal(event.error_type, 'ConnectionError');
    assert.match(
      event.stack ?? '',
      /^ConnectionError: request to en\.wikipedia\.org failed\n[\s\S]*\nCaused by: TypeError: socket hang up\n/,
    );
    assert.equal(
      buildErrorEvent({ ...base, error: new RangeError('r'), rawEvent: '{}' }).error_type,
      'RangeError',
    );
    const thrownString = buildErrorEvent({ ...base, error: 'plain string', rawEvent: '{}' });
    assert.equal(thrownString.error_type, 'UnknownError');
    assert.equal(thrownString.message, 'plain string');
    assert.equal(thrownString.stack, undefined);
  });

  it('validates against error/2.1.0 for any input and any thrown value', () => {
    const raws = [
      'not json {',
      '',
      'null',
      '"a string"',
      '[1, 2, {"meta": {"stream": "s"}}]',
      '{"meta": "not an object", "$schema": 5}',
      '{"meta": {"domain": "", "stream": ""}, "$schema": ""}',
      '{"meta": {"domain": 5, "stream": ["a"]}, "$schema": {"x": 1}}',
      '{"meta": null}',
      JSON.stringify(pageChangeEvent()),
    ];
    const unprintable = {
      toString() {
        throw new Error('no');
      },
    };
    const errors: unknown[] = [
      new Error('boom'),
      new Error(''),
      new EnrichmentError('InvalidEventError', 'not JSON'),
      'thrown string',
      '',
      undefined,
      null,
      42,
      Object.create(null),
      unprintable,
    ];
    let checked = 0;
    for (const rawEvent of raws) {
      for (const error of errors) {
        const event = buildErrorEvent({ ...base, error, rawEvent });
        assert.deepEqual(validate(event), { valid: true }, `raw ${rawEvent} / error ${typeof error}`);
        assert.equal(event.raw_event, rawEvent);
        assert.ok(event.message.length > 0);
        checked++;
      }
    }
    assert.equal(checked, raws.length * errors.length);
  });

  it('sets optional fields only from non-empty strings', () => {
    const event = buildErrorEvent({
      ...base,
      error: new Error('e'),
      rawEvent: '{"meta": {"domain": "", "stream": ""}, "$schema": ""}',
    });
    assert.deepEqual(Object.keys(event).sort(), [
      '$schema',
      'dt',
      'emitter_id',
      'error_type',
      'message',
      'meta',
      'raw_event',
      'stack',
    ]);
    assert.deepEqual(Object.keys(event.meta).sort(), ['dt', 'id', 'stream']);
    assert.equal(buildErrorEvent({ ...base, error: new Error(''), rawEvent: 'x' }).message, 'Error');
    assert.equal(
      buildErrorEvent({ ...base, error: Object.create(null), rawEvent: 'x' }).message,
      'unknown error',
    );
  });
});
