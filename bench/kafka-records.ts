/**
 * Corpus lines (bench/corpus.ts) as Kafka records: keyed as WMF's producers key page events, and,
 * for the latency runs, with ids of their own that the output carries.
 */
import { serialiseKey } from '../src/core/event.js';

/** `{"wiki_id":…,"page_id":…}` of a corpus line, read from the text (its fields in the corpus's order). */
export function recordKey(line: string): string {
  const pageId = /"page":\{"page_id":(\d+)/.exec(line)?.[1];
  const wikiId = /"wiki_id":"([^"]+)"/.exec(line)?.[1];
  if (pageId === undefined || wikiId === undefined) throw new Error(`no key in ${line.slice(0, 200)}`);
  return serialiseKey({ wiki_id: wikiId, page_id: Number(pageId) });
}

/** A kcat input line: `key<TAB>event<NEWLINE>`. */
export function kcatLine(line: string): string {
  return `${recordKey(line)}\t${line}\n`;
}

/**
 * The i-th record of a latency run: corpus line i (cycling) whose meta.id and meta.request_id are
 * replaced by an id made of `tag` (one hex digit per run) and i.
 */
export function latencyRecords(lines: readonly string[], tag: string) {
  return (i: number) => {
    const line = lines[i % lines.length]!;
    const id = `${tag}0000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const value = line
      .replace(/"id":"[^"]*"/, `"id":"${id}"`)
      .replace(/"request_id":"[^"]*"/, `"request_id":"${id}"`);
    return { key: recordKey(line), value, id };
  };
}

const REQUEST_ID = Buffer.from('"request_id":"');

/** meta.request_id of a record's value: the service keeps it (meta.id it replaces). */
export function requestIdOf(value: Buffer): string | undefined {
  const at = value.indexOf(REQUEST_ID);
  if (at < 0) return undefined;
  const start = at + REQUEST_ID.length;
  return value.toString('latin1', start, value.indexOf(0x22, start));
}
