/**
 * The books of a Kafka end-to-end run: the input, output and error topics read back with kcat, and
 * what they must show: every input's outcome (none lost, repeats counted), the content the API
 * served, and each page's revisions in order.
 */
import assert from 'node:assert/strict';
import type { Input, Json } from './kafka-e2e-inputs.js';
import { contentOf, messageKey } from './kafka-e2e-inputs.js';
import { kcatConsume, type KcatRecord } from './kcat.js';

export type Isolation = 'read_committed' | 'read_uncommitted';

export interface InputRecord extends KcatRecord {
  readonly input: Input;
}

/** The input topic read back: where each input landed (partition, offset), by id. */
export async function readInputs(
  bootstrap: string,
  topic: string,
  inputs: readonly Input[],
): Promise<Map<string, InputRecord>> {
  const byValue = new Map(inputs.map((i) => [i.value, i]));
  const out = new Map<string, InputRecord>();
  for (const record of await kcatConsume(bootstrap, topic)) {
    const input = byValue.get(record.value);
    assert.ok(input, `unexpected record in the input topic: ${record.value.slice(0, 200)}`);
    out.set(input.id, { ...record, input });
  }
  assert.equal(out.size, inputs.length, 'every input is in the input topic once');
  return out;
}

export interface OutcomeRecord extends KcatRecord {
  readonly event: Json;
  /**
   * The id of the input it came from: `meta.request_id` of an output or of an error event's
   * `raw_event`, or the marker of a line that is not an event.
   */
  readonly id: string;
}

/** The records of an output or error topic, `id` taken from each event by `idOf`. */
async function readOutcomes(
  bootstrap: string,
  topic: string,
  isolation: Isolation | undefined,
  idOf: (event: Json) => string,
): Promise<OutcomeRecord[]> {
  return (await kcatConsume(bootstrap, topic, isolation ? { isolation } : {})).map((r) => {
    const event = JSON.parse(r.value) as Json;
    return { ...r, event, id: idOf(event) };
  });
}

export function readOutputs(
  bootstrap: string,
  topic: string,
  isolation?: Isolation,
): Promise<OutcomeRecord[]> {
  return readOutcomes(bootstrap, topic, isolation, (event) => String((event.meta as Json).request_id));
}

/** Error events; `id` is found in `raw_event` (the input as a string). */
export function readErrors(
  bootstrap: string,
  topic: string,
  isolation?: Isolation,
): Promise<OutcomeRecord[]> {
  return readOutcomes(bootstrap, topic, isolation, (event) => {
    const raw = String(event.raw_event);
    try {
      return String(((JSON.parse(raw) as Json).meta as Json).request_id);
    } catch {
      return /\be2e-[\w-]+/.exec(raw)?.[0] ?? raw;
    }
  });
}

export interface Accounting {
  /** Ids of inputs without any outcome. */
  readonly lost: string[];
  /** Outcomes beyond the first, summed over inputs. */
  readonly duplicates: number;
  /** Inputs with more than one outcome. */
  readonly duplicatedInputs: number;
  /** Outcomes whose id is no input's. */
  readonly unknown: string[];
}

/** The books of a run in which every input has exactly one outcome. */
export const EXACTLY_ONE_EACH: Accounting = { lost: [], duplicates: 0, duplicatedInputs: 0, unknown: [] };

/** Every input should have an outcome in the output or error topic; counts what is missing or repeated. */
export function account(
  inputs: readonly Input[],
  outputs: readonly { id: string }[],
  errors: readonly { id: string }[],
): Accounting {
  const counts = new Map<string, number>(inputs.map((i) => [i.id, 0]));
  const unknown: string[] = [];
  for (const { id } of [...outputs, ...errors]) {
    const n = counts.get(id);
    if (n === undefined) unknown.push(id);
    else counts.set(id, n + 1);
  }
  let duplicates = 0;
  let duplicatedInputs = 0;
  const lost: string[] = [];
  for (const [id, n] of counts) {
    if (n === 0) lost.push(id);
    if (n > 1) {
      duplicates += n - 1;
      duplicatedInputs++;
    }
  }
  return { lost, duplicates, duplicatedInputs, unknown };
}

/** At least once: no input without an outcome, no outcome of an unknown input (repeats are allowed). */
export function assertNoneLost(books: Accounting): void {
  assert.deepEqual(books.lost, [], 'every input has an outcome');
  assert.deepEqual(books.unknown, []);
}

/** Every output carries the content the API serves for its revision. */
export function assertContents(outputs: readonly OutcomeRecord[]): void {
  for (const o of outputs) {
    const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
    assert.equal(revision.content_slots.main.content_body, contentOf(revision.rev_id));
  }
}

/**
 * The outputs are those of `expected`, one each, and each carries its input's revision, the
 * content the API serves for it, and its page's key (taken from the event).
 */
export function assertOutputsOf(
  outputs: readonly OutcomeRecord[],
  expected: readonly Pick<Input, 'id' | 'pageId' | 'revId'>[],
  message?: string,
): void {
  assert.deepEqual(outputs.map((o) => o.id).sort(), expected.map((e) => e.id).sort(), message);
  const byId = new Map(expected.map((e) => [e.id, e]));
  for (const o of outputs) {
    const input = byId.get(o.id)!;
    const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
    assert.equal(revision.rev_id, input.revId);
    assert.equal(revision.content_slots.main.content_body, contentOf(input.revId));
    assert.equal(o.key, messageKey(input.pageId), 'the output key is {"wiki_id":…,"page_id":…} of the event');
  }
}

/** The error events are MissingRevisionErrors, one for each input whose revision is `missing`. */
export function assertMissingRevisionErrors(
  errors: readonly OutcomeRecord[],
  inputs: readonly Input[],
  missing: ReadonlySet<number>,
): void {
  assert.deepEqual(
    new Set(errors.map((e) => e.id)),
    new Set(inputs.filter((i) => missing.has(i.revId)).map((i) => i.id)),
  );
  assert.ok(errors.every((e) => e.event.error_type === 'MissingRevisionError'));
}

const inTopicOrder = (records: readonly OutcomeRecord[]) =>
  [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);

/** Per output partition, the revision ids of each page in offset order must be increasing. */
export function assertPerPageOrder(outputs: readonly OutcomeRecord[]): void {
  const last = new Map<string, number>();
  for (const o of inTopicOrder(outputs)) {
    const page = `${o.partition}/${String((o.event.page as Json).page_id)}`;
    const rev = Number((o.event.revision as Json).rev_id);
    const before = last.get(page);
    assert.ok(before === undefined || rev >= before, `page ${page}: revision ${rev} after ${before}`);
    last.set(page, rev);
  }
}

/**
 * Like assertPerPageOrder, but allows what at-least-once redelivery does after a crash: a page's
 * sequence may start over from an earlier revision (the replay), and then runs in order again. What
 * must never happen is an output of a later revision followed by an earlier one that was not yet
 * output for that page (an out-of-order first delivery).
 */
export function assertFirstDeliveriesInPageOrder(outputs: readonly OutcomeRecord[]): void {
  const seen = new Set<string>();
  const lastFirst = new Map<string, number>();
  for (const o of inTopicOrder(outputs)) {
    if (seen.has(o.id)) continue;
    seen.add(o.id);
    const page = String((o.event.page as Json).page_id);
    const rev = Number((o.event.revision as Json).rev_id);
    const before = lastFirst.get(page);
    assert.ok(
      before === undefined || rev > before,
      `page ${page}: first output of revision ${rev} after the first output of ${before}`,
    );
    lastFirst.set(page, rev);
  }
}

/** Revision ids of the outputs with this key, in topic order (the page's outputs, as written). */
export function revisionsOfKey(outputs: readonly OutcomeRecord[], key: string): unknown[] {
  return inTopicOrder(outputs.filter((o) => o.key === key)).map((o) => (o.event.revision as Json).rev_id);
}
