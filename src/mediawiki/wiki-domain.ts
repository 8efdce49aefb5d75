import { domainToASCII } from 'node:url';
import { boundedMemo } from '../core/bounded-memo.js';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A last label the WHATWG URL parser reads as a number, which makes the whole name an IPv4 address. */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/;

/**
 * The one form of a wiki name (`meta.domain`) that the allowlist, the endpoint template, the `Host`
 * header and `http_client_routes` all see, so that none of them can read a name differently from
 * the others. Returns the name lower-cased, or undefined when it is not a plain DNS host name.
 *
 * A plain host name is ASCII letters, digits and hyphens in dot-separated labels of 1 to 63
 * characters (no hyphen at either end), at most 253 characters in all. Nothing is trimmed or
 * repaired: whitespace, a trailing dot, a port, userinfo, brackets, `_` or non-ASCII letters make the
 * input something else. Unicode names are refused rather than converted: every wiki's name in the
 * events is already ASCII, and a punycode (`xn--`) name is accepted when it decodes.
 *
 * Names whose last label is numeric (`127.0.0.1`, `2130706433`, `0x7f.1`) are refused: the URL
 * parser reads them as IPv4 addresses, so they name no wiki but a machine, and no top-level domain
 * is numeric.
 */
export function canonicalWikiDomain(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 253) return undefined;
  // Every event names its wiki, and a stream has few: the answer is remembered.
  return canonicalName(raw);
}

const canonicalName = boundedMemo(canonicalise, 4096);

function canonicalise(raw: string): string | undefined {
  // Checked before lower-casing: toLowerCase maps some non-ASCII letters (the Kelvin sign) to ASCII.
  if (!/^[A-Za-z0-9.-]+$/.test(raw)) return undefined;
  const name = raw.toLowerCase();
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) return undefined;
  // The URL parser has the last word on a name (it rejects an `xn--` label that does not decode).
  if (domainToASCII(name) !== name) return undefined;
  return name;
}
