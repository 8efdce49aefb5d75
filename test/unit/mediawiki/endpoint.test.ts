import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveWikiTarget } from '../../../src/mediawiki/endpoint.js';

describe('resolveWikiTarget', () => {
  it('puts the domain into a template with {domain}', () => {
    const target = resolveWikiTarget('https://{domain}/w/api.php', 'en.wikipedia.org', {});
    assert.equal(target.url, 'https://en.wikipedia.org/w/api.php');
    assert.equal(target.host, undefined);
  });

  it('sends a fixed endpoint the domain as Host', () => {
    const target = resolveWikiTarget('http://localhost:6500/w/api.php', 'de.wikipedia.org', {});
    assert.equal(target.url, 'http://localhost:6500/w/api.php');
    assert.equal(target.host, 'de.wikipedia.org');
  });

  it('applies http_client_routes and keeps the original host', () => {
    const routes = { 'https://en.wikipedia.org': 'http://127.0.0.1:6500' };
    const routed = resolveWikiTarget('https://{domain}/w/api.php', 'en.wikipedia.org', routes);
    assert.equal(routed.url, 'http://127.0.0.1:6500/w/api.php');
    assert.equal(routed.host, 'en.wikipedia.org');
    const other = resolveWikiTarget('https://{domain}/w/api.php', 'fr.wikipedia.org', routes);
    assert.equal(other.url, 'https://fr.wikipedia.org/w/api.php');
    assert.equal(other.host, undefined);
  });

  it('gives different wikis different batch keys, and the same wiki the same one', () => {
    const a = resolveWikiTarget('http://localhost:6500/w/api.php', 'en.wikipedia.org', {});
    const b = resolveWikiTarget('http://localhost:6500/w/api.php', 'de.wikipedia.org', {});
    const c = resolveWikiTarget('http://localhost:6500/w/api.php', 'en.wikipedia.org', {});
    assert.notEqual(a.key, b.key);
    assert.equal(a.key, c.key);
  });
});
