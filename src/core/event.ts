import { EnrichmentError } from './errors.js';
import { isPlainObject, type JsonSchema } from './json-schema.js';
import { setOwn } from './own-key.js';

export interface ProjectionResult<T = unknown> {
  value: T;
  /** Dotted paths of the fields the schema does not know, in input order (`revision.new_field`). */
  dropped: string[];
}

export interface Projection {
  project(value: unknown): ProjectionResult;
}

// (value, path of value, dropped paths so far) → projected value
type Projector = (value: unknown, path: string, dropped: string[]) => unknown;

const keep: Projector = (value) => value;

/**
 * Compiles `schema` into a walker that keeps only the fields the schema knows: through `properties`
 * recursively; an `additionalProperties` schema (a map such as `revision.content_slots`) projects each
 * value; `additionalProperties: false` drops the rest, anything else keeps it. An object is built
 * anew only when something below it is dropped; everything else is shared with the input, which is
 * never mutated (so a value with nothing to drop is returned as it is). Values of the wrong type are
 * left as they are, for the validator.
 */
export function compileProjection(schema: JsonSchema): Projection {
  const root = compile(schema);
  return {
    project(value) {
      const dropped: string[] = [];
      return { value: root(value, '', dropped), dropped };
    },
  };
}

function compile(schema: JsonSchema): Projector {
  if (typeof schema !== 'object') return keep;
  const props = schema.properties;
  const extra = schema.additionalProperties;
  const objectLike = isPlainObject(props) || isPlainObject(extra) || extra === false;
  if (objectLike) return compileObject(isPlainObject(props) ? props : {}, extra);
  if (isPlainObject(schema.items)) {
    const item = compile(schema.items);
    if (item === keep) return keep;
    return (value, path, dropped) =>
      Array.isArray(value) ? value.map((v) => item(v, `${path}[]`, dropped)) : value;
  }
  return keep;
}

function compileObject(props: Record<string, JsonSchema>, extra: JsonSchema | undefined): Projector {
  const known = new Map<string, Projector>();
  for (const [name, sub] of Object.entries(props)) known.set(name, compile(sub));
  const other: Projector | 'drop' = extra === false ? 'drop' : isPlainObject(extra) ? compile(extra) : keep;

  return (value, path, dropped) => {
    if (!isPlainObject(value)) return value;
    // Built only from the first key that changes: an object with nothing to drop below it is the
    // input's own, so the common event (every field known) is not copied field by field.
    let out: Record<string, unknown> | undefined;
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const projector = known.get(key) ?? other;
      if (projector === 'drop') {
        dropped.push(path === '' ? key : `${path}.${key}`);
        out ??= copyOf(value, keys, i);
        continue;
      }
      const given = value[key];
      const projected =
        projector === keep ? given : projector(given, path === '' ? key : `${path}.${key}`, dropped);
      if (out) setOwn(out, key, projected);
      else if (projected !== given) setOwn((out = copyOf(value, keys, i)), key, projected);
    }
    return out ?? value;
  };
}

/** A new object with the first `count` keys of `value`. */
function copyOf(
  value: Record<string, unknown>,
  keys: readonly string[],
  count: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) setOwn(out, keys[i]!, value[keys[i]!]);
  return out;
}

export interface SinkEventOptions {
  projection: Projection;
  /** The pinned sink schema, e.g. `/mediawiki/page/change/1.2.0`. */
  schemaUri: string;
  stream: string;
  now: Date;
  id: string;
}

/**
 * Output normalisation as WMF's eventutilities applies it before producing: `$schema` := the pinned
 * sink schema, `meta.stream` := the output stream, `meta.id` := a new id, `meta.dt` := ingestion time;
 * `dt`, `meta.domain`, `meta.uri`, `meta.request_id` are kept; then projected onto the sink schema.
 */
export function toSinkEvent(
  event: unknown,
  options: SinkEventOptions,
): { event: Record<string, unknown>; dropped: string[] } {
  if (!isPlainObject(event)) throw new EnrichmentError('InvalidEventError', 'event is not a JSON object');
  const { value, dropped } = options.projection.project(event);
  // The projection shares what it did not change with the input, which is not to be mutated.
  const out = value === event ? { ...event } : (value as Record<string, unknown>);
  out.$schema = options.schemaUri;
  const meta = isPlainObject(out.meta) ? (out.meta === event.meta ? { ...out.meta } : out.meta) : {};
  meta.stream = options.stream;
  meta.id = options.id;
  meta.dt = options.now.toISOString();
  out.meta = meta;
  return { event: out, dropped };
}

export interface EventKey {
  wiki_id: string;
  page_id: number;
}

/** The Kafka message key of page events: `(wiki_id, page.page_id)`, or undefined when either is absent. */
export function eventKey(event: unknown): EventKey | undefined {
  if (!isPlainObject(event) || !isPlainObject(event.page)) return undefined;
  const wikiId = event.wiki_id;
  const pageId = event.page.page_id;
  if (typeof wikiId !== 'string' || wikiId.length === 0 || !Number.isSafeInteger(pageId)) return undefined;
  return { wiki_id: wikiId, page_id: pageId as number };
}

/** Exactly `{"wiki_id":"enwiki","page_id":123}`, the key WMF's producers write. */
export function serialiseKey(key: EventKey): string {
  return `{"wiki_id":${JSON.stringify(key.wiki_id)},"page_id":${key.page_id}}`;
}
