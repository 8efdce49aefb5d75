import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { DEFAULT_ALLOWED_DOMAINS, compileDomainAllowlist } from '../../../src/mediawiki/domain-allowlist.js';

describe('compileDomainAllowlist', () => {
  it('matches one or more labels for *. and exact names, ignoring case', () => {
    const allowed = compileDomainAllowlist(['*.wikipedia.org', 'test.example']);
    assert.deepEqual(
      ['en.wikipedia.org', 'EN.Wikipedia.ORG', 'en.m.wikipedia.org', 'test.example'].map(allowed),
      [true, true, true, true],
    );
    assert.deepEqual(
      ['wikipedia.org', 'enwikipedia.org', 'wikipedia.org.evil.com', 'x.test.example', 'evil.com', ''].map(
        allowed,
      ),
      [false, false, false, false, false, false],
    );
  });

  it('refuses anything that is not a host name', () => {
    const allowed = compileDomainAllowlist(['*.wikipedia.org']);
    for (const domain of [
      'evil.com/x.wikipedia.org',
      'evil.com#.wikipedia.org',
      'user@en.wikipedia.org',
      'en.wikipedia.org:8080',
      'en..wikipedia.org',
      'en wikipedia.org',
      // Not trimmed or repaired: only the canonical form of a name is compared.
      'en.wikipedia.org.',
      'en.wikipedia.org\n',
      ' en.wikipedia.org',
      'en.wikipedia.org\u00a0',
    ]) {
      assert.equal(allowed(domain), false, domain);
    }
  });

  it('admits the Wikimedia projects by default, bare, www and subdomains, and nothing else', () => {
    const allowed = compileDomainAllowlist(DEFAULT_ALLOWED_DOMAINS);
    for (const domain of [
      'en.wikipedia.org',
      'www.wikipedia.org',
      'wikipedia.org',
      'de.wiktionary.org',
      'en.wikibooks.org',
      'en.wikinews.org',
      'en.wikiquote.org',
      'fr.wikisource.org',
      'en.wikiversity.org',
      'en.wikivoyage.org',
      'commons.wikimedia.org',
      'meta.wikimedia.org',
      'www.wikidata.org',
      'test.wikidata.org',
      'www.mediawiki.org',
      'mediawiki.org',
      'www.wikifunctions.org',
    ]) {
      assert.equal(allowed(domain), true, domain);
    }
    for (const domain of [
      'canary',
      'localhost',
      '127.0.0.1',
      'example.org',
      'wikipedia.com',
      'en.wikipedia.org.evil.com',
    ]) {
      assert.equal(allowed(domain), false, domain);
    }
  });

  it('rejects a malformed pattern with a ConfigError naming the key', () => {
    assert.throws(
      () => compileDomainAllowlist(['*.wikipedia.org', 'http://x.org'], 'enrich.allowed_domains'),
      (error: unknown) => error instanceof ConfigError && error.key === 'enrich.allowed_domains',
    );
    assert.throws(() => compileDomainAllowlist(['*']), ConfigError);
    for (const pattern of ['wikipedia.org.', ' wikipedia.org', '*.wiki_pedia.org', '127.0.0.1', '*.']) {
      assert.throws(() => compileDomainAllowlist([pattern]), ConfigError, pattern);
    }
    assert.equal(compileDomainAllowlist(['*.WikiPedia.ORG'])('en.wikipedia.org'), true);
  });
});
