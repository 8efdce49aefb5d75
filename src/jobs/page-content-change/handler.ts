import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SinkRecord, SourceRecord } from '../../connectors/types.js';
import { DroppedFieldReporter } from '../../core/dropped-fields.js';
import { buildErrorEvent } from '../../core/error-event.js';
import { EnrichmentError, isEnrichmentError } from '../../core/errors.js';
import { eventKey, serialiseKey, toSinkEvent, type EventKey, type Projection } from '../../core/event.js';
import type { InputLimits } from '../../core/input-limits.js';
import { nestsDeeperThan } from '../../core/json-depth.js';
import { jsonBytesWithLiterals } from '../../core/json-literals.js';
import { isPlainObject } from '../../core/json-schema.js';
import type { Metrics } from '../../core/metrics.js';
import { rawEventHead } from '../../core/record-head.js';
import { firstInvalidUtf8Offset } from '../../core/utf8.js';
import type { Validate } from '../../core/validator.js';
import type { RevisionContent, RevisionFetcher } from '../../mediawiki/types.js';
import { canonicalWikiDomain } from '../../mediawiki/wiki-domain.js';
import { pageChangeKindOf, type Handled, type Outcome, type RecordHandler } from '../contract.js';
import { ENRICHED_KINDS, enrichEvent, markContentLiterals } from './enrich.js';
import { checkInput, metaOf, type InputSchemas } from './input.js';

export interface HandlerOptions {
  jobName: string;
  input: InputSchemas;
  output: { stream: string; schemaUri: string; projection: Projection; validate: Validate };
  errorStream: string;
  /** The pinned error schema, e.g. `/error/2.1.0`. */
  errorSchemaUri: string;
  fetcher: RevisionFetcher;
  isAllowedDomain: (domain: string) => boolean;
  /** Bounds checked before an input is parsed. */
  limits: InputLimits;
  /** `enrich.max_content_size`: larger revision content is an error event; undefined: no limit. */
  maxContentBytes?: number | undefined;
  metrics: Metrics;
  logger: Logger;
  now?: () => Date;
  newId?: () => string;
}

const CANARY_DOMAIN = 'canary';

/**
 * page_change → one outcome: canary → dropped; delete or hidden content → passed through; create,
 * edit, move, undelete, visibility_change → enriched with the revision's content; anything wrong
 * with the input or the wiki's answer → an error event. Only infrastructure failures reject.
 */
export class PageContentChangeHandler implements RecordHandler {
  private readonly now: () => Date;
  private readonly dropped: DroppedFieldReporter;
  private readonly tally = { hidden_slots: 0, input_fields_dropped: 0, output_fields_dropped: 0 };
  private readonly newId: () => string;

  constructor(private readonly options: HandlerOptions) {
    this.now = options.now ?? (() => new Date());
    this.dropped = new DroppedFieldReporter(options.metrics, options.logger);
    this.newId = options.newId ?? randomUUID;
  }

  handle(record: SourceRecord): Handled {
    const rejected = this.rejectBeforeParse(record);
    if (rejected) return { key: undefined, outcome: Promise.resolve(rejected) };
    const raw = record.value.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      const error = new EnrichmentError('InvalidEventError', `input is not JSON: ${(err as Error).message}`);
      return { key: undefined, outcome: Promise.resolve(this.failed(error, raw, undefined, undefined)) };
    }
    if (!isPlainObject(parsed)) {
      const error = new EnrichmentError('InvalidEventError', 'input is not a JSON object');
      return { key: undefined, outcome: Promise.resolve(this.failed(error, raw, parsed, undefined)) };
    }
    if (metaOf(parsed).domain === CANARY_DOMAIN) {
      return {
        key: undefined,
        outcome: Promise.resolve({ kind: 'dropped', reason: 'canary', ...inputFacts(parsed) }),
      };
    }
    const key = eventKey(parsed);
    // The text is decoded again if the record fails: holding it while the revision is fetched would
    // keep a third copy of every input in flight (its bytes and its parsed event are the others).
    const outcome = this.process(parsed, record, key).catch((err: unknown) => {
      if (isEnrichmentError(err)) return this.failed(err, record.value.toString('utf8'), parsed, key);
      throw err;
    });
    const expectedBytes = announcedContentBytes(parsed, this.options.maxContentBytes);
    return {
      key: key && `${key.wiki_id}\u0000${key.page_id}`,
      outcome,
      ...(expectedBytes !== undefined && { expectedBytes }),
    };
  }

  whenAccepting(): Promise<void> | undefined {
    return this.options.fetcher.whenUnsaturated?.();
  }

  /**
   * The checks on the bytes, before anything is parsed: bounded size; valid UTF-8 (decoding would
   * silently replace bad bytes, and the error event could no longer carry the input as it was); and
   * bounded nesting, because recursive code downstream (serialising the output, validation, deep
   * equality) overflows the stack on a value nested a few thousand levels deep.
   */
  private rejectBeforeParse(record: SourceRecord): Outcome | undefined {
    const { maxRecordBytes, maxJsonDepth } = this.options.limits;
    const bytes = record.oversizeBytes ?? record.value.length;
    if (record.oversizeBytes !== undefined || bytes > maxRecordBytes) {
      const head = rawEventHead(record.value);
      const cut = head.cut || record.oversizeBytes !== undefined;
      const error = new EnrichmentError(
        'InvalidEventError',
        `input is ${bytes} bytes, over the limit of ${maxRecordBytes} bytes (runtime.max_record_bytes)${cut ? `; raw_event is cut to its first ${Buffer.byteLength(head.text)} bytes` : ''}`,
        { details: { bytes, limit: maxRecordBytes } },
      );
      // null: the head is not the event, and the whole input is not parsed.
      return this.failed(error, head.text, null, undefined);
    }
    if (!isUtf8(record.value)) {
      const error = new EnrichmentError(
        'InvalidEventError',
        `input is not valid UTF-8: the first invalid byte sequence is at byte offset ${firstInvalidUtf8Offset(record.value)}; raw_event is the input with each invalid sequence replaced by U+FFFD, so it is not byte-exact`,
      );
      return this.failed(error, record.value.toString('utf8'), undefined, undefined);
    }
    if (nestsDeeperThan(record.value, maxJsonDepth)) {
      const error = new EnrichmentError(
        'InvalidEventError',
        `input nests arrays and objects more than ${maxJsonDepth} levels deep (runtime.max_json_depth)`,
        { details: { limit: maxJsonDepth } },
      );
      // The error event still names the input's stream and domain: V8's JSON.parse is not recursive,
      // and the error event reads only top-level fields of the parsed value.
      return this.failed(error, record.value.toString('utf8'), undefined, undefined);
    }
    return undefined;
  }

  private async process(
    parsed: Record<string, unknown>,
    record: SourceRecord,
    key: EventKey | undefined,
  ): Promise<Outcome> {
    const { options } = this;
    // Awaited only when it is a promise: an await of a plain value still costs a turn per record.
    const pending = checkInput(parsed, options.input);
    const checked = pending instanceof Promise ? await pending : pending;
    if (checked.dropped.length > 0) this.countDropped('input_fields_dropped', checked.dropped);
    const event = checked.event;
    const meta = metaOf(event);
    const domain = meta.domain;
    if (typeof domain !== 'string' || domain.length === 0) {
      throw new EnrichmentError('InvalidEventError', 'event has no meta.domain: the wiki to ask is unknown');
    }
    // The allowlist and the fetcher see the canonical name; anything else names no wiki.
    if (canonicalWikiDomain(domain) === undefined) {
      throw new EnrichmentError(
        'DomainNotAllowedError',
        `meta.domain ${JSON.stringify(domain)} is not a plain host name`,
        { details: { domain, reason: 'not_host_name' } },
      );
    }
    if (!options.isAllowedDomain(domain)) {
      throw new EnrichmentError(
        'DomainNotAllowedError',
        `meta.domain ${JSON.stringify(domain)} is not in enrich.allowed_domains`,
        { details: { domain } },
      );
    }
    if (!key) throw new EnrichmentError('InvalidEventError', 'event has no wiki_id and page.page_id');

    const kind = event.page_change_kind;
    const revision = isPlainObject(event.revision) ? event.revision : {};
    if (kind === 'delete') return this.passed(event, 'delete', key);
    if (revision.is_content_visible === false) {
      options.metrics.count('hidden_content_total', { reason: 'event' });
      return this.passed(event, 'hidden', key);
    }
    if (typeof kind !== 'string' || !ENRICHED_KINDS.has(kind)) {
      throw new EnrichmentError('SchemaValidationError', `unknown page_change_kind ${JSON.stringify(kind)}`);
    }
    const ingestedAtMs = Date.parse(meta.dt ?? '');
    const content = await options.fetcher.fetch({
      domain,
      revId: revision.rev_id as number,
      ingestedAtMs: Number.isFinite(ingestedAtMs) ? ingestedAtMs : (record.timestamp ?? this.now().getTime()),
    });
    this.checkContentSize(content);
    const enriched = enrichEvent(event, content);
    if (enriched.hiddenSlots > 0) {
      options.metrics.count('hidden_content_total', { reason: 'texthidden' }, enriched.hiddenSlots);
      this.tally.hidden_slots += enriched.hiddenSlots;
    }
    return {
      kind: 'enriched',
      reason: kind,
      output: this.toOutput(enriched.event, key, content),
      ...inputFacts(event),
    };
  }

  private passed(event: Record<string, unknown>, reason: 'delete' | 'hidden', key: EventKey): Outcome {
    return { kind: 'passed', reason, output: this.toOutput(event, key), ...inputFacts(event) };
  }

  /** Content over `max_content_size` fails before the output (several times its size) is built. */
  private checkContentSize(content: RevisionContent): void {
    const limit = this.options.maxContentBytes;
    if (limit === undefined) return;
    let bytes = 0;
    for (const slot of Object.values(content.slots)) {
      if (slot.content !== undefined) bytes += Buffer.byteLength(slot.content);
    }
    if (bytes > limit) {
      throw new EnrichmentError(
        'ContentTooLargeError',
        `revision ${content.revId} has ${bytes} bytes of content, over enrich.max_content_size (${limit})`,
        { details: { bytes, limit, rev_id: content.revId } },
      );
    }
  }

  /** Job-specific counts for the run's summary. */
  counts(): Readonly<Record<string, number>> {
    return { ...this.tally };
  }

  /**
   * Normalise, project, validate against the sink schema, serialise once: the contents of `revision`
   * that the answer held as JSON literals are written as those bytes.
   */
  private toOutput(event: Record<string, unknown>, key: EventKey, revision?: RevisionContent): SinkRecord {
    const { output: out } = this.options;
    const sink = toSinkEvent(event, {
      projection: out.projection,
      schemaUri: out.schemaUri,
      stream: out.stream,
      now: this.now(),
      id: this.newId(),
    });
    if (sink.dropped.length > 0) this.countDropped('output_fields_dropped', sink.dropped);
    const result = out.validate(sink.event);
    if (!result.valid) {
      throw new EnrichmentError(
        'OutputValidationError',
        `output is invalid against ${out.schemaUri}: ${result.message}`,
      );
    }
    const dt = Date.parse(typeof sink.event.dt === 'string' ? sink.event.dt : '');
    return {
      key: serialiseKey(key),
      value:
        revision && Object.values(revision.slots).some((slot) => slot.contentJson !== undefined)
          ? jsonBytesWithLiterals((mark) => markContentLiterals(sink.event, revision, mark))
          : Buffer.from(JSON.stringify(sink.event)),
      ...(Number.isFinite(dt) ? { timestamp: dt } : {}),
    };
  }

  private failed(error: EnrichmentError, raw: string, parsed: unknown, key: EventKey | undefined): Outcome {
    this.options.logger.debug({ err: error, error_type: error.type }, 'input failed');
    return {
      kind: 'failed',
      reason: error.type,
      errorEvent: this.errorRecord(error, raw, parsed, key),
      message: error.message,
      ...inputFacts(parsed),
    };
  }

  private errorRecord(error: unknown, raw: string, parsed: unknown, key: EventKey | undefined): SinkRecord {
    const now = this.now();
    const event = buildErrorEvent({
      jobName: this.options.jobName,
      errorStream: this.options.errorStream,
      schemaUri: this.options.errorSchemaUri,
      error,
      rawEvent: raw,
      parsed,
      now,
      id: this.newId(),
    });
    return {
      key: key ? serialiseKey(key) : null,
      value: Buffer.from(JSON.stringify(event)),
      timestamp: now.getTime(),
    };
  }

  oversize(
    record: SourceRecord,
    bytes: number,
    limit: number,
    what: 'output' | 'error event',
    errorSinkLimit = limit,
  ): SinkRecord {
    // The error event carries the input, not the huge output; if even the input does not fit the
    // error sink, keep its head so that the error event itself can be produced, and say so. The cut
    // counts JSON escaping and never splits a character.
    const room = Math.max(1024, Math.floor(errorSinkLimit / 2));
    const head = rawEventHead(record.value, room);
    const raw = head.text;
    const note =
      head.cut || record.oversizeBytes !== undefined
        ? ` (raw_event cut to its first ${Buffer.byteLength(raw)} bytes)`
        : '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.value.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const subject = what === 'output' ? 'the enriched event' : 'the error event for this input';
    const error = new EnrichmentError(
      'OversizeEventError',
      `${subject} is ${bytes} bytes, over the sink's limit of ${limit} bytes${note}`,
      {
        details: { bytes, limit },
      },
    );
    return this.errorRecord(error, raw, parsed, eventKey(parsed));
  }

  private countDropped(
    which: 'input_fields_dropped' | 'output_fields_dropped',
    paths: readonly string[],
  ): void {
    this.dropped.report(
      which === 'input_fields_dropped' ? 'input_fields_dropped_total' : 'output_fields_dropped_total',
      paths,
    );
    this.tally[which] += paths.length;
  }
}

/** Above any wiki's article size limit (Wikimedia's is 2 MiB): a bound on what an input can announce. */
const MAX_ANNOUNCED_BYTES = 64 * 1024 * 1024;

/**
 * The content an input that will be enriched announces (`revision.rev_size`, the bytes of all its
 * slots), for the runtime to weigh before the content arrives; undefined when nothing is fetched
 * or the size is absent. Bounded, as it comes from input: a wrong figure only changes how many
 * records are read ahead, never an outcome.
 */
export function announcedContentBytes(parsed: Record<string, unknown>, maxContentBytes: number | undefined) {
  const kind = parsed.page_change_kind;
  const revision = parsed.revision;
  if (typeof kind !== 'string' || !ENRICHED_KINDS.has(kind) || !isPlainObject(revision)) return undefined;
  if (revision.is_content_visible === false) return undefined;
  const size = revision.rev_size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) return undefined;
  return Math.min(size, maxContentBytes ?? MAX_ANNOUNCED_BYTES, MAX_ANNOUNCED_BYTES);
}

/**
 * What the runtime counts an outcome by: the input's page_change_kind (`unknown` when the input
 * is not an object or names another kind) and its `meta.dt`, for the event latency.
 */
function inputFacts(parsed: unknown): Pick<Outcome, 'pageChangeKind' | 'eventTime'> {
  if (!isPlainObject(parsed)) return { pageChangeKind: 'unknown' };
  const dt = metaOf(parsed).dt;
  const eventTime = typeof dt === 'string' ? Date.parse(dt) : Number.NaN;
  return {
    pageChangeKind: pageChangeKindOf(parsed.page_change_kind),
    ...(Number.isFinite(eventTime) && { eventTime }),
  };
}
