import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_INPUT_SCHEMA_URI_LENGTH,
  normaliseSchemaUri,
  parseInputSchemaUri,
} from '../../../src/core/schema-uri.js';

const HOSTILE: ReadonlyArray<[string, unknown]> = [
  ['percent-encoded dot segments', '%2e%2e'],
  ['percent-encoded dots inside a title', '/mediawiki/page/change/%2e%2e/%2e%2e/etc/passwd/1.2.0'],
  ['upper-case percent-encoded dots and slash', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd'],
  ['percent-encoded version', '/mediawiki/page/change/1%2e2%2e0'],
  ['backslashes', '..\\..\\etc\\passwd'],
  ['backslash in a title', '/mediawiki\\page/change/1.2.0'],
  ['dot-dot segments', '/mediawiki/page/change/../../../../etc/passwd'],
  ['dot-dot before a version', '/mediawiki/page/change/../../../../etc/1.2.0'],
  ['dot segment', '/mediawiki/./page/change/1.2.0'],
  ['a device', '/dev/zero'],
  ['standard input', '/dev/stdin'],
  ['a file URL', 'file:///etc/passwd'],
  ['a file URL of the repository form', 'file:///srv/jsonschema/mediawiki/page/change/1.2.0'],
  ['another scheme', 'ftp://schema.example.org/jsonschema/mediawiki/page/change/1.2.0'],
  ['a path with a query', '/admin/delete-everything?confirm=yes'],
  ['a version with a query', '/mediawiki/page/change/1.2.0?confirm=yes'],
  ['a version with a fragment', '/mediawiki/page/change/1.2.0#x'],
  ['a base with a query', 'https://h.example/jsonschema?x=/jsonschema/mediawiki/page/change/1.2.0'],
  ['a base with a user', 'https://user@h.example/jsonschema/mediawiki/page/change/1.2.0'],
  ['a base with dot-dot segments', 'https://h.example/a/../jsonschema/mediawiki/page/change/1.2.0'],
  ['a NUL byte', '/mediawiki/page/change/1.2.0\u0000'],
  ['a NUL byte in a title', '/mediawiki/page\u0000/change/1.2.0'],
  ['a newline at the end', '/mediawiki/page/change/1.2.0\n'],
  ['a leading space', ' /mediawiki/page/change/1.2.0'],
  ['a tab in a title', '/mediawiki/pa\tge/change/1.2.0'],
  ['one-dot leaders instead of dots', '/mediawiki/page/change/\u2024\u2024/1.2.0'],
  ['one-dot leaders in the version', '/mediawiki/page/change/1\u20242\u20240'],
  ['fullwidth solidus', '/mediawiki\uff0fpage/change/1.2.0'],
  ['non-ASCII letters', '/mediawiki/pagé/change/1.2.0'],
  ['upper-case title', '/MediaWiki/page/change/1.2.0'],
  ['latest', '/mediawiki/page/change/latest'],
  ['bare latest', 'latest'],
  ['no leading slash', 'mediawiki/page/change/1.2.0'],
  ['a double slash at the start', '//mediawiki/page/change/1.2.0'],
  ['an empty segment', '/mediawiki//page/change/1.2.0'],
  ['a trailing slash', '/mediawiki/page/change/1.2.0/'],
  ['a file name extension', '/mediawiki/page/change/1.2.0.yaml'],
  ['two version numbers', '/mediawiki/page/change/1.2'],
  ['four version numbers', '/mediawiki/page/change/1.2.0.0'],
  ['a leading zero', '/mediawiki/page/change/01.2.0'],
  ['a pre-release', '/mediawiki/page/change/1.2.0-rc1'],
  ['no title', '/1.2.0'],
  ['the empty string', ''],
  ['only a slash', '/'],
  ['a very long title', `${'/a'.repeat(MAX_INPUT_SCHEMA_URI_LENGTH)}/1.0.0`],
  ['a megabyte of dots', '.'.repeat(1 << 20)],
  ['a number', 42],
  ['null', null],
  ['an object', { uri: '/mediawiki/page/change/1.2.0' }],
];

describe('parseInputSchemaUri', () => {
  for (const [name, value] of HOSTILE) {
    it(`refuses ${name}`, () => {
      assert.equal(parseInputSchemaUri(value), undefined);
    });
  }

  it('accepts the repository form', () => {
    assert.deepEqual(parseInputSchemaUri('/mediawiki/page/change/1.2.0'), {
      uri: '/mediawiki/page/change/1.2.0',
      title: 'mediawiki/page/change',
      version: '1.2.0',
    });
    assert.deepEqual(parseInputSchemaUri('/error/2.1.0'), {
      uri: '/error/2.1.0',
      title: 'error',
      version: '2.1.0',
    });
    assert.deepEqual(parseInputSchemaUri('/analytics/mediawiki/client/metrics_event/10.0.11'), {
      uri: '/analytics/mediawiki/client/metrics_event/10.0.11',
      title: 'analytics/mediawiki/client/metrics_event',
      version: '10.0.11',
    });
    assert.equal(
      parseInputSchemaUri('/development/my-schema_x/0.0.0')?.uri,
      '/development/my-schema_x/0.0.0',
    );
  });

  it('reads a title that spells a system path as a title, looked up below the repositories only', () => {
    assert.deepEqual(parseInputSchemaUri('/dev/zero/1.0.0'), {
      uri: '/dev/zero/1.0.0',
      title: 'dev/zero',
      version: '1.0.0',
    });
  });

  it('keeps only the part after a repository base, so the base cannot choose where to look', () => {
    for (const value of [
      'https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/change/1.1.0',
      'http://schema.discovery.wmnet:8190/repositories/primary/jsonschema/mediawiki/page/change/1.1.0',
      'https://evil.example/x/jsonschema/mediawiki/page/change/1.1.0',
      'HTTPS://127.0.0.1:9/jsonschema/mediawiki/page/change/1.1.0',
    ]) {
      assert.deepEqual(parseInputSchemaUri(value), {
        uri: '/mediawiki/page/change/1.1.0',
        title: 'mediawiki/page/change',
        version: '1.1.0',
      });
    }
  });

  it('accepts up to the length bound and no further', () => {
    const uri = (length: number) => `/${'a'.repeat(length - '/'.length - '/1.0.0'.length)}/1.0.0`;
    assert.equal(
      parseInputSchemaUri(uri(MAX_INPUT_SCHEMA_URI_LENGTH))?.uri.length,
      MAX_INPUT_SCHEMA_URI_LENGTH,
    );
    assert.equal(parseInputSchemaUri(uri(MAX_INPUT_SCHEMA_URI_LENGTH + 1)), undefined);
  });
});

describe('normaliseSchemaUri (configured URIs)', () => {
  it('keeps configured forms: latest, no leading slash, aliases', () => {
    assert.equal(normaliseSchemaUri('/mediawiki/page/change/latest'), '/mediawiki/page/change/latest');
    assert.equal(normaliseSchemaUri('error/2.1.0'), '/error/2.1.0');
    assert.equal(normaliseSchemaUri('/test/event/latest.json'), '/test/event/latest.json');
  });

  it('refuses dot segments, hidden names, empty segments and odd characters', () => {
    for (const value of [
      '',
      '/',
      'latest',
      '/mediawiki/page/change/..',
      '/mediawiki/../../etc/passwd',
      '/mediawiki/./change/1.2.0',
      '/mediawiki/.hidden/1.2.0',
      '/mediawiki//change/1.2.0',
      '/mediawiki/page/change/1.2.0/',
      '/mediawiki/page/change/%2e%2e',
      '/mediawiki\\..\\..\\etc/passwd',
      '/mediawiki/page/change/1.2.0?x',
      '/mediawiki/page/change/1.2.0\u0000',
      `/a/${'b'.repeat(2000)}`,
    ]) {
      assert.equal(normaliseSchemaUri(value), undefined, JSON.stringify(value));
    }
  });

  it('accepts everything parseInputSchemaUri gives', () => {
    const parsed = parseInputSchemaUri('https://h.example/jsonschema/mediawiki/page/change/1.1.0');
    assert.equal(normaliseSchemaUri(parsed!.uri), '/mediawiki/page/change/1.1.0');
  });
});
