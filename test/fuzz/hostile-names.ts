/**
 * Hostile values for the two names an input chooses: `meta.domain` (which wiki is asked, hence
 * which host) and `$schema` (which schema is read, hence which file or URL). Each generated name
 * comes with what the test expects of it, decided here without the service's code: `refused` (the
 * input must end in an error event and cause no request), or `unsure` (no expectation beyond the
 * general properties).
 */
import fc from 'fast-check';
import { domainToASCII } from 'node:url';

/** The allowlist of the fuzz config, and wikis the generated events name. */
export const ALLOWED_DOMAINS = ['*.wikipedia.org', 'commons.wikimedia.org'];
export const GOOD_DOMAINS = ['en.wikipedia.org', 'de.wikipedia.org', 'commons.wikimedia.org'];

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The canonical (lower-case) name when `domain` is a plain DNS name inside the allowlist, `refused`
 * when it is not; `unsure` for punycode labels that decode (the service may take or refuse them).
 */
export function judgeDomain(
  domain: string,
): { verdict: 'allowed' | 'unsure'; canonical: string } | { verdict: 'refused' } {
  if (domain.length === 0 || domain.length > 253 || !/^[A-Za-z0-9.-]+$/.test(domain))
    return { verdict: 'refused' };
  const name = domain.toLowerCase();
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return { verdict: 'refused' };
  if (/^(?:[0-9]+|0x[0-9a-f]*)$/.test(labels[labels.length - 1]!)) return { verdict: 'refused' };
  const inList = (name.endsWith('.wikipedia.org') && labels.length >= 3) || name === 'commons.wikimedia.org';
  if (!inList) return { verdict: 'refused' };
  if (labels.some((l) => l.startsWith('xn--'))) {
    return domainToASCII(name) === name ? { verdict: 'unsure', canonical: name } : { verdict: 'refused' };
  }
  return { verdict: 'allowed', canonical: name };
}

/** Whether a `Host` header the API received is the canonical form of an allowed wiki. */
export function isCanonicalAllowedHost(host: string): boolean {
  const judged = judgeDomain(host);
  return judged.verdict !== 'refused' && judged.canonical === host;
}

const SPECIAL_DOMAINS = [
  '',
  'canary ',
  'Canary',
  '127.0.0.1',
  '[::1]',
  '::1',
  '0x7f.1',
  '2130706433',
  '169.254.169.254',
  'localhost',
  'LOCALHOST',
  'localhost.',
  'wikipedia.org',
  '.wikipedia.org',
  '*.wikipedia.org',
  'en..wikipedia.org',
  '-en.wikipedia.org',
  'en-.wikipedia.org',
  'en_x.wikipedia.org',
  'xn--.wikipedia.org',
  'xn--e1afmkfd.wikipedia.org',
  'en.wikipedia.org.evil.example',
  'evil.example/en.wikipedia.org',
  'evil.example#.wikipedia.org',
  'evil.example?.wikipedia.org',
  'evil.example\\.wikipedia.org',
  'en.wikipedia.org%2f..',
  'commons.wikimedia.org.',
  'wikimedia.org',
];

const AROUND = ['', ' ', '\t', '\n', '\r\n', '\r', '\u2028', '\u3000', '\ufeff', '\u00a0', '\u0000', '.'];
const BEFORE = [...AROUND, 'user@', 'user:pass@', 'http://', '//', '*.', 'evil.example/', 'a.'];
const AFTER = [
  ...AROUND,
  ':80',
  ':443',
  ':1',
  '/',
  '/w/api.php',
  '.evil.example',
  '%00',
  '#x',
  '?x',
  '..',
  '@evil.example',
];

/** Look-alikes of ASCII letters and of the dot. */
const HOMOGLYPHS: Record<string, string[]> = {
  a: ['\u0430', '\u00e0', '\uff41'],
  e: ['\u0435', '\u00e9'],
  i: ['\u0456', '\u0131'],
  o: ['\u043e', '\u03bf', '0'],
  p: ['\u0440'],
  k: ['\u212a'],
  '.': ['\u3002', '\uff0e', '\u2024'],
};

const homoglyphDomain = fc
  .record({ base: fc.constantFrom(...GOOD_DOMAINS), at: fc.nat(), pick: fc.nat() })
  .map(({ base, at, pick }) => {
    const positions = [...base].flatMap((c, i) => (HOMOGLYPHS[c] ? [i] : []));
    const i = positions[at % positions.length]!;
    const options = HOMOGLYPHS[base[i]!]!;
    return base.slice(0, i) + options[pick % options.length]! + base.slice(i + 1);
  });

/** A name of `length` characters in labels of at most 60, ending in `.wikipedia.org`. */
function longName(length: number): string {
  const suffix = '.wikipedia.org';
  const labels: string[] = [];
  for (let left = length - suffix.length; left > 0; left -= 61) labels.push('a'.repeat(Math.min(60, left)));
  return labels.join('.') + suffix;
}

export const hostileDomain: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...SPECIAL_DOMAINS),
  fc
    .tuple(fc.constantFrom(...BEFORE), fc.constantFrom(...GOOD_DOMAINS), fc.constantFrom(...AFTER))
    .map(([b, d, a]) => b + d + a),
  fc.mixedCase(fc.constantFrom(...GOOD_DOMAINS)),
  homoglyphDomain,
  // Around the 253-character limit of a DNS name, and over the 63-character limit of a label.
  fc.integer({ min: 240, max: 300 }).map(longName),
  fc.integer({ min: 60, max: 70 }).map((n) => `${'a'.repeat(n)}.wikipedia.org`),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
);

/** An origin the test's API listens on is substituted for this, so an SSRF would be seen arriving. */
export const API_ORIGIN_TOKEN = '{api_origin}';

const REFUSED_SCHEMAS = [
  '',
  ' ',
  '/dev/zero',
  '/dev/stdin',
  '/dev/urandom',
  '/proc/self/environ',
  '/../../../../../../dev/zero',
  '../../../../../../dev/zero',
  '/mediawiki/page/change/../../../../../../../dev/zero',
  '/mediawiki/page/change/%2e%2e/%2e%2e/%2e%2e/1.2.0',
  '%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/mediawiki/page/change/%2E%2E/1.2.0',
  '\\mediawiki\\page\\change\\1.2.0',
  '/mediawiki\\page\\change/1.2.0',
  '/mediawiki/page/change/..\\..\\..\\1.2.0',
  'file:///dev/zero',
  'file:///etc/passwd',
  `${API_ORIGIN_TOKEN}/mediawiki/page/change/1.2.0`,
  `${API_ORIGIN_TOKEN}/w/api.php?x=/mediawiki/page/change/1.2.0`,
  '//127.0.0.1/mediawiki/page/change/1.2.0',
  'http://[::1]/jsonschema/../mediawiki/page/change/1.2.0',
  '/mediawiki/page/change/1.2.0?x=1',
  '/mediawiki/page/change/1.2.0#frag',
  '/mediawiki/page/change/1.2.0\u0000',
  '/mediawiki/page/change/1.2.0\n',
  '/mediawiki/page/change/1.2.0\u2028',
  ' /mediawiki/page/change/1.2.0',
  '/mediawiki/page/change/1.2.0/',
  '/mediawiki/page/change/1.2.0.yaml',
  '/mediawiki/page/change/latest',
  '/mediawiki/page/change/1.2',
  '/MEDIAWIKI/page/change/1.2.0',
  '/mediawiki/page/change//1.2.0',
  '/error/2.1.0',
  '/mediawiki/page/change/99999999999.0.0',
  'x'.repeat(10_000),
];

/** Forms that are acceptable, or not clearly refused: a real repository base, other versions. */
const UNSURE_SCHEMAS = [
  '/mediawiki/page/change/1.1.0',
  '/mediawiki/page/change/1.0.0',
  '/mediawiki/page/change/1.99.0',
  '/mediawiki/page/change/0.0.0',
  'https://schema.wikimedia.org/repositories/primary/jsonschema/mediawiki/page/change/1.2.0',
  `${API_ORIGIN_TOKEN}/jsonschema/mediawiki/page/change/1.2.0`,
];

export const hostileSchema: fc.Arbitrary<{ value: string; refused: boolean }> = fc.oneof(
  { arbitrary: fc.constantFrom(...REFUSED_SCHEMAS).map((value) => ({ value, refused: true })), weight: 5 },
  { arbitrary: fc.constantFrom(...UNSURE_SCHEMAS).map((value) => ({ value, refused: false })), weight: 1 },
);
