import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { checkHttpRoutes, routeUrl } from '../../../src/core/http-routes.js';

const PROXY = 'http://127.0.0.1:6500';

describe('routeUrl', () => {
  it('replaces the matched prefix and keeps the original host for the Host header', () => {
    const routes = { 'https://meta.wikimedia.org': PROXY };
    assert.deepEqual(routeUrl('https://meta.wikimedia.org/w/api.php?action=streamconfigs&x=1', routes), {
      url: `${PROXY}/w/api.php?action=streamconfigs&x=1`,
      host: 'meta.wikimedia.org',
    });
    assert.deepEqual(routeUrl('https://en.wikipedia.org/w/api.php', routes), {
      url: 'https://en.wikipedia.org/w/api.php',
    });
  });

  it('compares scheme and host without case and without a trailing dot, on either side', () => {
    const routes = { 'https://en.wikipedia.org': PROXY };
    for (const url of [
      'https://EN.Wikipedia.ORG/w/api.php',
      'HTTPS://en.wikipedia.org/w/api.php',
      'https://en.wikipedia.org./w/api.php',
    ]) {
      assert.equal(routeUrl(url, routes).url, `${PROXY}/w/api.php`, url);
    }
    assert.equal(routeUrl('http://localhost./x', { 'HTTP://LOCALHOST': PROXY }).url, `${PROXY}/x`);
    assert.equal(routeUrl('http://LOCALHOST/x', { 'http://localhost.': PROXY }).url, `${PROXY}/x`);
  });

  it('never glues the rest of a longer host onto the target (the trailing-dot crash of the issue)', () => {
    const routes = { 'https://en.wikipedia.org': 'http://127.0.0.1:18083' };
    assert.equal(
      routeUrl('https://en.wikipedia.org./w/api.php', routes).url,
      'http://127.0.0.1:18083/w/api.php',
    );
    for (const url of [
      'https://en.wikipedia.org.evil.com/w/api.php',
      'https://en.wikipedia.orgx/w/api.php',
      'https://en.wikipedia.org:8443/w/api.php',
      'http://en.wikipedia.org/w/api.php',
    ]) {
      assert.deepEqual(routeUrl(url, routes), { url }, url);
    }
    assert.equal(
      routeUrl('https://en.wikipedia.org:443/w/api.php', routes).url,
      'http://127.0.0.1:18083/w/api.php',
    );
  });

  it('matches a path prefix only on a segment boundary, and the longest one wins', () => {
    const routes = {
      'https://schema.wikimedia.org': 'http://127.0.0.1:1',
      'https://schema.wikimedia.org/repositories': 'http://127.0.0.1:2/repos/',
      'https://schema.wikimedia.org/repositories/secondary/': 'http://127.0.0.1:3',
    };
    const cases: Array<[string, string]> = [
      [
        'https://schema.wikimedia.org/repositories/primary/jsonschema/x',
        'http://127.0.0.1:2/repos/primary/jsonschema/x',
      ],
      ['https://schema.wikimedia.org/repositories', 'http://127.0.0.1:2/repos'],
      ['https://schema.wikimedia.org/repositoriesX/y', 'http://127.0.0.1:1/repositoriesX/y'],
      ['https://schema.wikimedia.org/repositories/secondary/y', 'http://127.0.0.1:3/y'],
      ['https://schema.wikimedia.org/repositories/secondaryX', 'http://127.0.0.1:2/repos/secondaryX'],
      ['https://schema.wikimedia.org/', 'http://127.0.0.1:1/'],
    ];
    for (const [url, routed] of cases) assert.equal(routeUrl(url, routes).url, routed, url);
  });

  it('routes IPv6 literals by their bracketed form and port', () => {
    const routes = { 'http://[::1]:8080': PROXY };
    assert.deepEqual(routeUrl('http://[::1]:8080/a', routes), { url: `${PROXY}/a`, host: '[::1]:8080' });
    assert.deepEqual(routeUrl('http://[::1]:8081/a', routes), { url: 'http://[::1]:8081/a' });
  });

  it('ignores routes that do not parse, and URLs that do not', () => {
    const routes = { 'en.wikipedia.org': PROXY, 'https://en.wikipedia.org': 'localhost:6500' };
    assert.deepEqual(routeUrl('https://en.wikipedia.org/w/api.php', routes), {
      url: 'https://en.wikipedia.org/w/api.php',
    });
    assert.deepEqual(routeUrl('not a url', { 'https://x.org': PROXY }), { url: 'not a url' });
  });
});

describe('checkHttpRoutes', () => {
  it('accepts http(s) prefixes and targets with paths', () => {
    checkHttpRoutes({ 'https://meta.wikimedia.org': PROXY, 'https://schema.wikimedia.org/r/': `${PROXY}/r` });
  });

  it('refuses a prefix or target that is not a plain http(s) URL, naming the key', () => {
    const refused: Array<Record<string, string>> = [
      { 'meta.wikimedia.org': PROXY },
      { 'https://en.wikipedia.org': 'localhost:6500' },
      { 'ftp://en.wikipedia.org': PROXY },
      { 'https://en.wikipedia.org/?x=1': PROXY },
      { 'https://en.wikipedia.org#a': PROXY },
      { 'https://user:pw@en.wikipedia.org': PROXY },
      { 'https://en.wikipedia.org': 'http://user@127.0.0.1' },
    ];
    for (const routes of refused) {
      assert.throws(
        () => checkHttpRoutes(routes, 'stream_manager.http_client_routes'),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.key === `stream_manager.http_client_routes.${Object.keys(routes)[0]}`,
        JSON.stringify(routes),
      );
    }
  });
});
