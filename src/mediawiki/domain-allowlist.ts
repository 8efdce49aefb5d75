import { ConfigError } from '../core/errors.js';

/**
 * Which `meta.domain` values may choose a wiki. The domain picks the request's target (endpoint
 * template or Host header), so without this check any input could make the service call any host.
 *
 * Patterns: an exact name (`mediawiki.org`) or `*.` followed by a name (`*.wikipedia.org`), where `*`
 * stands for one or more whole labels (`en.wikipedia.org`, `en.m.wikipedia.org`) but not for none.
 * Matching ignores case and a trailing dot.
 */
export type DomainAllowlist = (domain: string) => boolean;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function normalise(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function isHostName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

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

/** Throws a `ConfigError` naming `key` for a pattern that is not a host name (with an optional `*.`). */
export function compileDomainAllowlist(patterns: readonly string[], key = 'allowedDomains'): DomainAllowlist {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of patterns) {
    const pattern = normalise(raw);
    const wildcard = pattern.startsWith('*.');
    const name = wildcard ? pattern.slice(2) : pattern;
    if (!isHostName(name)) throw new ConfigError(key, `invalid domain pattern ${JSON.stringify(raw)}`);
    if (wildcard) suffixes.push(`.${name}`);
    else exact.add(name);
  }
  return (domain: string): boolean => {
    const name = normalise(domain);
    if (!isHostName(name)) return false;
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };
}
