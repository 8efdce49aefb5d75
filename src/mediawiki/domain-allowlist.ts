import { boundedMemo } from '../core/bounded-memo.js';
import { ConfigError } from '../core/errors.js';
import { canonicalWikiDomain } from './wiki-domain.js';

/**
 * Which `meta.domain` values may choose a wiki. The domain picks the request's target (endpoint
 * template or Host header), so without this check any input could make the service call any host.
 *
 * Patterns: an exact name (`mediawiki.org`) or `*.` followed by a name (`*.wikipedia.org`), where `*`
 * stands for one or more whole labels (`en.wikipedia.org`, `en.m.wikipedia.org`) but not for none.
 * Both patterns and domains are compared in their canonical form (`canonicalWikiDomain`): case does
 * not matter, and a domain that is not a plain host name (a trailing dot or space, a port) matches
 * nothing.
 */
export type DomainAllowlist = (domain: string) => boolean;

const PROJECTS = [
  'wikipedia.org',
  'wiktionary.org',
  'wikibooks.org',
  'wikinews.org',
  'wikiquote.org',
  'wikisource.org',
  'wikiversity.org',
  'wikivoyage.org',
  'wikimedia.org',
  'wikidata.org',
  'mediawiki.org',
  'wikifunctions.org',
];

/** The Wikimedia projects: every subdomain, the bare name and (implied by `*.`) www. */
export const DEFAULT_ALLOWED_DOMAINS: readonly string[] = Object.freeze(
  PROJECTS.flatMap((p) => [p, `*.${p}`]),
);

const MAX_REMEMBERED_ANSWERS = 4096;

/** Throws a `ConfigError` naming `key` for a pattern that is not a plain host name (with an optional `*.`). */
export function compileDomainAllowlist(patterns: readonly string[], key = 'allowedDomains'): DomainAllowlist {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of patterns) {
    const wildcard = raw.startsWith('*.');
    const name = canonicalWikiDomain(wildcard ? raw.slice(2) : raw);
    if (name === undefined) {
      throw new ConfigError(
        key,
        `invalid domain pattern ${JSON.stringify(raw)}: not a plain host name (with an optional "*.")`,
      );
    }
    if (wildcard) suffixes.push(`.${name}`);
    else exact.add(name);
  }
  const allows = (domain: string): boolean => {
    const name = canonicalWikiDomain(domain);
    if (name === undefined) return false;
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };
  // Asked for every event, about few names: answers are remembered.
  return boundedMemo(allows, MAX_REMEMBERED_ANSWERS);
}
