/**
 * Schema URIs as the event schema repositories lay them out: `/<title>/<MAJOR>.<MINOR>.<PATCH>`,
 * e.g. `/mediawiki/page/change/1.2.0`. Everything here is pure string checking; nothing is opened.
 */

/** Longest `$schema` accepted from an input. Real ones, with a repository base, are under 120. */
export const MAX_INPUT_SCHEMA_URI_LENGTH = 512;

/** The form an input's `$schema` must have, for messages. */
export const INPUT_SCHEMA_URI_FORM =
  '/<title>/<MAJOR>.<MINOR>.<PATCH>, optionally after an http(s) repository base ending in /jsonschema';

export interface InputSchemaUri {
  /** `/mediawiki/page/change/1.2.0`: what the configured repositories are asked for. */
  uri: string;
  /** `mediawiki/page/change`. */
  title: string;
  /** `1.2.0`. */
  version: string;
}

// Title segments are what the repositories use (`mediawiki/page/change`, `error`,
// `analytics/mediawiki/client/metrics_event`): no dots, so no `.`/`..` segment and no file name
// extension can be spelled; no `%`, `\`, `?`, `#` or anything outside ASCII letters and digits.
const TITLE = '[a-z0-9_-]+(?:/[a-z0-9_-]+)*';
const NUMBER = '(?:0|[1-9][0-9]{0,8})';
const RELATIVE = new RegExp(`^/(${TITLE})/(${NUMBER}\\.${NUMBER}\\.${NUMBER})$`);

// `https://schema.wikimedia.org/repositories/primary/jsonschema` as producers write it. Only the part
// after `/jsonschema` is used: the schema is looked up in the configured repositories, so the host and
// path of an input's `$schema` are never contacted and need only look like a repository base.
const REPOSITORY_BASE =
  /^https?:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9_~-][a-z0-9._~-]*)*?\/jsonschema(?=\/)/i;

/**
 * An input's `$schema` → the repository-relative URI it names, or undefined when it is not exactly
 * of the repository form. `latest` is refused: an input names the version it was written against.
 */
export function parseInputSchemaUri(value: unknown): InputSchemaUri | undefined {
  if (typeof value !== 'string' || value.length > MAX_INPUT_SCHEMA_URI_LENGTH) return undefined;
  const base = REPOSITORY_BASE.exec(value);
  const relative = base ? value.slice(base[0].length) : value;
  const match = RELATIVE.exec(relative);
  if (!match) return undefined;
  return { uri: relative, title: match[1]!, version: match[2]! };
}

// A configured schema URI (`/mediawiki/page/change/latest`, `error/2.1.0`): trusted, but still only
// plain segments, none starting with a dot, so that it cannot climb out of a repository either.
const CONFIGURED_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const MAX_CONFIGURED_URI_LENGTH = 1024;

/**
 * A schema URI from the configuration or from `parseInputSchemaUri` → `/title/version`; undefined
 * when it has fewer than two segments or a segment that is empty or starts with a dot.
 */
export function normaliseSchemaUri(value: string): string | undefined {
  if (value.length > MAX_CONFIGURED_URI_LENGTH) return undefined;
  const uri = value.startsWith('/') ? value : `/${value}`;
  const segments = uri.slice(1).split('/');
  if (segments.length < 2 || !segments.every((s) => CONFIGURED_SEGMENT.test(s))) return undefined;
  return uri;
}
