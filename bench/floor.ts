/**
 * The CPU floor: for the same input lines and the same Action API answers, only the work no
 * implementation can skip, in one process — JSON.parse of each input line, validation of the input,
 * JSON.parse of each answer (batches of `batchSize` revisions of one wiki, built before timing),
 * attaching each revision's content as the main slot's `content_body`, validation of the output, and
 * JSON.stringify of it. No I/O, no HTTP, no output normalisation, no metrics.
 */
import { answerBody } from './api-answer.js';

type Validate = (value: unknown) => { valid: boolean; message?: string };

interface Unit {
  /** The answer for these events' revisions; undefined for events passed through (deletes, hidden). */
  answer: string | undefined;
  indices: number[];
}

interface Facts {
  domain: string;
  revId: number;
  fetched: boolean;
}

function factsOf(line: string): Facts {
  const e = JSON.parse(line) as {
    page_change_kind: string;
    meta: { domain: string };
    revision: { rev_id: number; is_content_visible?: boolean };
  };
  const fetched = e.page_change_kind !== 'delete' && e.revision.is_content_visible !== false;
  return { domain: e.meta.domain, revId: e.revision.rev_id, fetched };
}

/** Groups events as a batching client would: per wiki, in order, `batchSize` revisions a request. */
function units(lines: readonly string[], batchSize: number, bytesFor: (revId: number) => number): Unit[] {
  const out: Unit[] = [];
  const passed: number[] = [];
  const open = new Map<string, number[]>();
  const close = (indices: number[], revIds: number[]) =>
    out.push({ answer: answerBody(revIds, bytesFor), indices });
  const revIdsOf = new Map<number, number>();
  lines.forEach((line, i) => {
    const f = factsOf(line);
    if (!f.fetched) return void passed.push(i);
    revIdsOf.set(i, f.revId);
    const batch = open.get(f.domain) ?? [];
    batch.push(i);
    open.set(f.domain, batch);
    if (batch.length === batchSize) {
      close(
        batch,
        batch.map((j) => revIdsOf.get(j)!),
      );
      open.delete(f.domain);
    }
  });
  for (const batch of open.values())
    close(
      batch,
      batch.map((j) => revIdsOf.get(j)!),
    );
  if (passed.length > 0) out.push({ answer: undefined, indices: passed });
  return out;
}

interface Answer {
  query: { pages: Array<{ revisions: Array<{ revid: number; slots: { main: { content: string } } }> }> };
}
interface Event {
  meta: { stream: string };
  revision: { rev_id: number; content_slots: { main: { content_body?: string } } };
}

function pass(lines: readonly string[], work: readonly Unit[], validate: Validate, limit = Infinity): number {
  let events = 0;
  let outBytes = 0;
  for (const unit of work) {
    let contents: Map<number, string> | undefined;
    if (unit.answer !== undefined) {
      contents = new Map();
      for (const page of (JSON.parse(unit.answer) as Answer).query.pages) {
        for (const r of page.revisions) contents.set(r.revid, r.slots.main.content);
      }
    }
    for (const i of unit.indices) {
      const event = JSON.parse(lines[i]!) as Event;
      if (!validate(event).valid) throw new Error(`floor: input ${i} is invalid`);
      if (contents) event.revision.content_slots.main.content_body = contents.get(event.revision.rev_id)!;
      event.meta.stream = 'mediawiki.page_content_change.v1';
      const result = validate(event);
      if (!result.valid) throw new Error(`floor: output ${i} is invalid: ${result.message ?? ''}`);
      outBytes += JSON.stringify(event).length;
      events++;
    }
    if (events >= limit) break;
  }
  if (outBytes === 0) throw new Error('floor: no output');
  return events;
}

export interface FloorResult {
  events: number;
  cpuMicrosPerEvent: number;
  seconds: number;
}

/**
 * CPU µs per event of the floor over `lines`, after a warm-up pass over the first 2,000 events (or
 * all, if fewer). Answers are built before the clock starts.
 */
export function measureFloor(
  lines: readonly string[],
  options: { batchSize: number; bytesFor: (revId: number) => number; validate: Validate },
): FloorResult {
  const work = units(lines, options.batchSize, options.bytesFor);
  pass(lines, work, options.validate, Math.min(2_000, lines.length));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const events = pass(lines, work, options.validate);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (events !== lines.length) throw new Error(`floor: ${events} of ${lines.length} events`);
  return { events, cpuMicrosPerEvent: (cpu.user + cpu.system) / events, seconds };
}
