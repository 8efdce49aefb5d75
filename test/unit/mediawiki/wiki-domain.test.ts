import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDomainAllowlist } from '../../../src/mediawiki/domain-allowlist.js';
import { resolveWikiTarget } from '../../../src/mediawiki/endpoint.js';
import { canonicalWikiDomain } from '../../../src/mediawiki/wiki-domain.js';

/** Labels of 63, joined by dots, cut to `length` characters (never ending in a dot or a hyphen). */
function nameOfLength(length: number): string {
  const name = Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.');
  return name.slice(0, length);
}

describe('canonicalWikiDomain', () => {
  it('returns a plain host name lower-cased', () => {
    const cases: Array<[string, string]> = [
      ['en.wikipedia.org', 'en.wikipedia.org'],
      ['EN.Wikipedia.ORG', 'en.wikipedia.org'],
      ['localhost', 'localhost'],
      ['LOCALHOST', 'localhost'],
      ['canary', 'canary'],
      ['zh-min-nan.wikipedia.org', 'zh-min-nan.wikipedia.org'],
      ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
      ['XN--BCHER-KVA.DE', 'xn--bcher-kva.de'],
      ['a.b1', 'a.b1'],
      [`${'a'.repeat(63)}.org`, `${'a'.repeat(63)}.org`],
    ];
    for (const [raw, canonical] of cases) assert.equal(canonicalWikiDomain(raw), canonical, raw);
    assert.equal(nameOfLength(253).length, 253);
    assert.equal(canonicalWikiDomain(nameOfLength(253)), nameOfLength(253));
  });

  it('refuses every name of the issue that passed the trimming allowlist', () => {
    for (const raw of [
      'en.wikipedia.org\n',
      'en.wikipedia.org\r\n',
      'en.wikipedia.org\u2028',
      'en.wikipedia.org\u3000',
      'en.wikipedia.org\ufeff',
      '\ufeffen.wikipedia.org',
      ' en.wikipedia.org',
      'en.wikipedia.org ',
      '\u00a0en.wikipedia.org',
      'en.wikipedia.org\u00a0',
      '\ten.wikipedia.org',
      'en.wikipedia.org.',
      'localhost.',
      'LOCALHOST.',
    ]) {
      assert.equal(canonicalWikiDomain(raw), undefined, JSON.stringify(raw));
    }
  });

  it('refuses IP addresses, in every form the URL parser reads as one', () => {
    for (const raw of [
      '127.0.0.1',
      '10.0.0.1',
      '2130706433',
      '0x7f.1',
      '0x7f000001',
      '1.2.3.999',
      '[::1]',
      '::1',
    ]) {
      assert.equal(canonicalWikiDomain(raw), undefined, raw);
    }
  });

  it('refuses what is more or other than a host name', () => {
    for (const raw of [
      '',
      nameOfLength(254),
      `${'a'.repeat(64)}.org`,
      'en_gb.wikipedia.org',
      '_dmarc.wikipedia.org',
      '-en.wikipedia.org',
      'en-.wikipedia.org',
      'en..wikipedia.org',
      '.en.wikipedia.org',
      'en.wikipedia.org:443',
      'user@en.wikipedia.org',
      'en.wikipedia.org/w/api.php',
      'evil.com#.wikipedia.org',
      'en.wikipedia.org%0a',
      'bücher.de',
      'xn--a.org',
      'xn--zz.org',
      // The Kelvin sign lower-cases to an ASCII k: it must not become a valid name by doing so.
      'en.wi\u212Aipedia.org',
      'en.wıkipedia.org',
      '*.wikipedia.org',
    ]) {
      assert.equal(canonicalWikiDomain(raw), undefined, JSON.stringify(raw));
    }
    for (const value of [undefined, null, 42, ['en.wikipedia.org'], { domain: 'en.wikipedia.org' }]) {
      assert.equal(canonicalWikiDomain(value), undefined, JSON.stringify(value));
    }
  });

  it('is what the allowlist compares: canonical names by their canonical form, nothing else', () => {
    const allowed = compileDomainAllowlist(['*.wikipedia.org', 'localhost']);
    assert.deepEqual(
      [
        'EN.WIKIPEDIA.ORG',
        'LOCALHOST',
        'localhost',
        'en.wikipedia.org\n',
        'en.wikipedia.org.',
        'localhost.',
      ].map(allowed),
      [true, true, true, false, false, false],
    );
  });

  it('is the only form the endpoint accepts, so template, routes and Host see the same name', () => {
    const routes = { 'https://en.wikipedia.org': 'http://127.0.0.1:18083' };
    const target = resolveWikiTarget('https://{domain}/w/api.php', 'en.wikipedia.org', routes);
    assert.equal(target.url, 'http://127.0.0.1:18083/w/api.php');
    assert.equal(target.host, 'en.wikipedia.org');
    for (const domain of ['en.wikipedia.org.', 'EN.wikipedia.org', 'en.wikipedia.org\n']) {
      assert.throws(() => resolveWikiTarget('https://{domain}/w/api.php', domain, routes), TypeError, domain);
    }
  });
});
