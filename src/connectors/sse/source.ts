import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { routeUrl, type HttpRoutes } from '../../core/http-routes.js';
import type { Metrics } from '../../core/metrics.js';
import { noWaits, type Waits } from '../../core/waits.js';
import { PositionFile } from '../position-file.js';
import type { Source, SourceListener, SourceRecord } from '../types.js';
import { domainMatches, type SseSourceOptions } from './options.js';
import { SseParser, type SseEvent } from './parser.js';
import {
  parseEventId,
  parsePosition,
  partitionKey,
  resumable,
  type EventId,
  type PartitionPosition,
  type SsePosition,
} from './position.js';
import { abortableSleep } from '../../core/abortable-sleep.js';
import { parseRetryAfter, reconnectDelayMs, type ReconnectReason } from './reconnect.js';

/** The part `/readyz` names while the source waits for the stream. */
export const WAIT_PART = 'sse source';

/** While every record read is committed, skipped events move the saved position at most this often. */
const SKIPPED_SAVE_INTERVAL_MS = 1_000;

/** How much of an error answer or an `event: error` is logged. */
const ERROR_HEAD_BYTES = 1_000;

export interface SseSourceDeps {
  /** `runtime.max_record_bytes`: larger frames are yielded as their head with `oversizeBytes`. */
  readonly maxRecordBytes: number;
  readonly httpRoutes?: HttpRoutes;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly waits?: Waits;
}

/** The stream refused the request in a way that asking again will not change (a 4xx, a redirect). */
export class SseRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseRefusedError';
  }
}

/** Where a connection starts: a saved or received id, a time, or the end of the stream. */
type Start = { kind: 'id'; id: EventId } | { kind: 'since'; ms: number } | { kind: 'end' };

/** Why a connection ended (undefined: the source was stopped). */
interface Ending {
  readonly reason: ReconnectReason;
  /** The connection delivered at least one event: the backoff starts over. */
  readonly delivered: boolean;
  readonly detail: string;
  readonly retryAfterMs?: number;
  readonly err?: unknown;
}

interface Connection {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The time a partition started from on this connection, for ids that say `offset: -1`. */
  readonly startOf: (entry: PartitionPosition) => number;
  /** What was warned about on this connection already. */
  readonly warned: { badId: boolean };
}

/**
 * A source over a Wikimedia EventStreams stream (server-sent events): one long HTTP GET, read as
 * the pipeline pulls, opened again after a drop from the position reached.
 *
 * Records: one per `message` frame, in stream order, in one partition named by the URL with offsets
 * counting from 0 in each process. Each record remembers the stream's id at its frame; when the
 * runtime commits offset n, the id of record n − 1 is saved to the position file. A restart sends it
 * back as `Last-Event-ID` and reads on from the first event after it; everything read after the
 * last commit is read again (at-least-once). A reconnect within one process resumes from the last
 * id received instead: what was received is in the pipeline already and will be committed there.
 */
export class SseSource implements Source {
  private readonly partition: string;
  private readonly positions: PositionFile<SsePosition>;
  private readonly logger: Logger;
  private readonly waits: Waits;
  private readonly stopping = new AbortController();
  private stopped = false;

  private start: Start = { kind: 'end' };
  /** The resumable id of the latest frame read; what a reconnect sends. */
  private current: EventId | undefined;
  /** The id text `current` was made from on this connection. */
  private currentText: string | undefined;

  private nextOffset = 0;
  private committedNext = 0;
  /** Records not yet committed, in offset order, from `head` on. */
  private uncommitted: Array<{ offset: number; id: EventId | undefined }> = [];
  private head = 0;

  private savedId: EventId | undefined;
  private lastSaveAt = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: SseSourceOptions,
    private readonly deps: SseSourceDeps,
  ) {
    this.partition = options.url;
    this.positions = new PositionFile(options.positionFile, parsePosition);
    this.logger = deps.logger.child({ source: 'sse', url: options.url });
    this.waits = deps.waits ?? noWaits;
  }

  /** One partition that is never revoked: the listener is not needed. */
  async *records(_listener?: SourceListener): AsyncGenerator<SourceRecord> {
    this.start = await this.initialStart();
    this.waits.wait(WAIT_PART, `connecting to ${this.options.url}`);
    let failures = 0;
    try {
      while (!this.stopped) {
        const ending = yield* this.connection();
        if (ending === undefined || this.stopped) return;
        failures = ending.delivered ? 1 : failures + 1;
        const delay = reconnectDelayMs(
          failures,
          { minMs: this.options.reconnectMinDelayMs, maxMs: this.options.reconnectMaxDelayMs },
          ending.retryAfterMs,
        );
        this.deps.metrics.count('sse_reconnects_total', { reason: ending.reason });
        const why = `${ending.detail}; connecting again in ${(delay / 1000).toFixed(1)} s`;
        this.waits.wait(WAIT_PART, why);
        this.deps.metrics.event('waiting', { part: WAIT_PART, reason: why.slice(0, 300) });
        const fields = { reason: ending.reason, failures, retryInMs: delay, err: ending.err };
        // The edge ends long connections now and then: routine, not a warning.
        if (ending.reason === 'ended' && ending.delivered) this.logger.info(fields, `sse source: ${why}`);
        else this.logger.warn(fields, `sse source: ${why}`);
        await abortableSleep(delay, this.stopping.signal);
      }
    } finally {
      this.waits.clear(WAIT_PART);
    }
  }

  async commit(nextOffsets: ReadonlyMap<string, number>): Promise<void> {
    const next = nextOffsets.get(this.partition);
    if (next === undefined || next <= this.committedNext) return;
    let id: EventId | undefined;
    while (this.head < this.uncommitted.length && this.uncommitted[this.head]!.offset < next) {
      id = this.uncommitted[this.head++]!.id ?? id;
    }
    if (this.head > 1024 && this.head * 2 > this.uncommitted.length) {
      this.uncommitted = this.uncommitted.slice(this.head);
      this.head = 0;
    }
    this.committedNext = next;
    if (id !== undefined) await this.save(id);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
  }

  /**
   * Saves the latest id when every record read was committed: frames that made no record (skipped
   * by `domains`, `event: error`) then need no outcome, and a restart need not read them again.
   */
  async close(): Promise<void> {
    this.stop();
    if (this.allCommitted() && this.current !== undefined && this.current !== this.savedId) {
      await this.save(this.current).catch((err: unknown) =>
        this.logger.warn({ err }, 'sse source: the last position could not be saved'),
      );
    }
    await this.saving;
  }

  private allCommitted(): boolean {
    return this.committedNext === this.nextOffset;
  }

  private save(id: EventId): Promise<void> {
    this.savedId = id;
    this.lastSaveAt = Date.now();
    const saved = this.positions.save({ url: this.options.url, last_event_id: id });
    this.saving = saved.catch(() => undefined);
    return saved;
  }

  /** The saved position; else `since`; else the end of the stream. */
  private async initialStart(): Promise<Start> {
    const saved = await loadPosition(this.positions, this.options.url);
    if (saved) {
      this.current = this.savedId = saved.last_event_id;
      this.logger.info({ lastEventId: saved.last_event_id }, 'sse source: resuming from the position file');
      return { kind: 'id', id: saved.last_event_id };
    }
    if (this.options.since !== undefined) return { kind: 'since', ms: this.options.since };
    return { kind: 'end' };
  }

  /** One connection: its records, then why it ended. Throws when the stream refuses for good. */
  private async *connection(): AsyncGenerator<SourceRecord, Ending | undefined> {
    const openedAt = Date.now();
    const start = this.start;
    // Should this attempt fail, the next must not skip what arrives meanwhile.
    if (start.kind === 'end') this.start = { kind: 'since', ms: openedAt };
    const connection = this.connectionFor(start, openedAt);
    this.currentText = undefined;
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let res: Dispatcher.ResponseData | undefined;
    try {
      try {
        res = await request(connection.url, {
          method: 'GET',
          headers: connection.headers,
          signal: controller.signal,
          headersTimeout: this.options.connectTimeoutMs,
          // The idle watchdog below bounds the gaps, and only while the pipeline is pulling.
          bodyTimeout: 0,
        });
      } catch (err) {
        if (this.stopped) return undefined;
        return {
          reason: 'network_error',
          delivered: false,
          detail: `cannot connect: ${messageOf(err)}`,
          err,
        };
      }
      // Reading reports errors; a body abandoned by an abort needs no other handler.
      res.body.on('error', () => {});
      const refused = await this.refusal(res, start);
      if (refused !== undefined) return refused;
      this.waits.clear(WAIT_PART);
      this.logger.info({ from: describeStart(start) }, 'sse source connected');
      return yield* this.read(res.body, connection);
    } finally {
      this.stopping.signal.removeEventListener('abort', onStop);
      controller.abort();
      if (res !== undefined && !res.body.destroyed) res.body.destroy();
    }
  }

  private connectionFor(start: Start, openedAt: number): Connection {
    let url = this.options.url;
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
    };
    const sent = new Map<string, number>();
    let fallback = openedAt;
    if (start.kind === 'id') {
      headers['last-event-id'] = JSON.stringify(start.id);
      for (const entry of start.id) {
        if (entry.offset === undefined && entry.timestamp !== undefined)
          sent.set(partitionKey(entry), entry.timestamp);
      }
    } else if (start.kind === 'since') {
      const parsed = new URL(url);
      parsed.searchParams.set('since', String(start.ms));
      url = parsed.href;
      fallback = start.ms;
    }
    const routed = routeUrl(url, this.deps.httpRoutes ?? {});
    if (routed.host !== undefined) headers.host = routed.host;
    return {
      url: routed.url,
      headers,
      startOf: (entry) => sent.get(partitionKey(entry)) ?? fallback,
      warned: { badId: false },
    };
  }

  /** undefined for a stream; an `Ending` for an answer worth asking again; throws for the others. */
  private async refusal(res: Dispatcher.ResponseData, start: Start): Promise<Ending | undefined> {
    const status = res.statusCode;
    if (status === 200) {
      const type = String(res.headers['content-type'] ?? '');
      if (/^text\/event-stream\b/i.test(type)) return undefined;
      throw new SseRefusedError(
        `${this.options.url} answered with ${type === '' ? 'no content-type' : `content-type ${type}`}, not text/event-stream`,
      );
    }
    const head = await bodyHead(res.body, this.options.connectTimeoutMs);
    const detail = `HTTP ${status}${head === '' ? '' : `: ${head}`}`;
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    const later = (reason: ReconnectReason): Ending => ({
      reason,
      delivered: false,
      detail: `the stream answered ${detail}`,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    });
    if (status === 429) return later('too_many_requests');
    if (status >= 500 || status === 408) return later('server_error');
    const hint =
      status === 400 && start.kind === 'id'
        ? `: the server refused the position sent as Last-Event-ID; ${this.options.positionFile} may be corrupt (remove it to start from \`since\` or the end)`
        : status === 404 || status === 403
          ? ': no such stream, or one it does not serve (check url, and the topics of the position file)'
          : status >= 300 && status < 400
            ? `: redirects are not followed (location ${String(res.headers.location ?? 'none')}); set url to the stream itself`
            : '';
    throw new SseRefusedError(`${this.options.url} answered ${detail}${hint}`);
  }

  /** The frames of one response, as records; why it ended. */
  private async *read(
    body: AsyncIterable<Buffer>,
    connection: Connection,
  ): AsyncGenerator<SourceRecord, Ending | undefined> {
    const parser = new SseParser({ maxDataBytes: this.deps.maxRecordBytes });
    const chunks = body[Symbol.asyncIterator]();
    const idleMs = this.options.idleTimeoutMs;
    let delivered = false;
    for (;;) {
      // The watchdog runs only while waiting for the network: not while the pipeline is not pulling.
      const read = chunks.next();
      read.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), idleMs)));
      let next: IteratorResult<Buffer> | 'idle';
      try {
        next = await Promise.race([read, idle]);
      } catch (err) {
        if (this.stopped) return undefined;
        return { reason: 'network_error', delivered, detail: `the connection broke: ${messageOf(err)}`, err };
      } finally {
        clearTimeout(timer);
      }
      if (next === 'idle') return { reason: 'idle', delivered, detail: `no byte for ${idleMs} ms` };
      if (next.done) {
        parser.end();
        return { reason: 'ended', delivered, detail: 'the server ended the stream' };
      }
      const ignoredIds = parser.ignoredIds;
      for (const event of parser.push(next.value)) {
        this.noteId(event.lastEventId, connection);
        if (event.type === 'error') {
          return {
            reason: 'error_event',
            delivered,
            detail: `the server sent an error: ${textHead(event.data)}`,
          };
        }
        if (event.type !== 'message') {
          this.logger.debug({ type: event.type }, 'sse source: frame of another type ignored');
          continue;
        }
        delivered = true;
        const record = this.toRecord(event);
        if (record === undefined) {
          await this.saveOverSkipped();
          continue;
        }
        yield record;
        if (this.stopped) return undefined;
      }
      if (parser.ignoredIds > ignoredIds) {
        this.logger.warn('sse source: an id longer than 64 KiB or containing NUL was ignored');
      }
    }
  }

  /** The id of a frame becomes the position to resume from (offset -1 entries made resumable). */
  private noteId(text: string, connection: Connection): void {
    if (text === this.currentText) return;
    this.currentText = text;
    if (text === '') return;
    const entries = parseEventId(text);
    if (entries === undefined) {
      // The frame keeps the previous position: read again after a restart, never skipped.
      if (!connection.warned.badId) {
        connection.warned.badId = true;
        this.logger.warn(
          { id: text.slice(0, 300) },
          'sse source: an id that is not a position was ignored (warned once per connection)',
        );
      }
      return;
    }
    this.current = resumable(entries, connection.startOf);
    this.start = { kind: 'id', id: this.current };
  }

  private toRecord(event: SseEvent): SourceRecord | undefined {
    if (event.oversizeBytes === undefined && this.options.domains && !this.wanted(event.data)) {
      this.deps.metrics.count('sse_skipped_events_total');
      return undefined;
    }
    const offset = this.nextOffset++;
    this.uncommitted.push({ offset, id: this.current });
    return {
      partition: this.partition,
      offset,
      key: null,
      value: event.data,
      ...(event.oversizeBytes !== undefined && { oversizeBytes: event.oversizeBytes }),
    };
  }

  /** Whether an event's `meta.domain` is one of `domains`; events without one are always wanted. */
  private wanted(data: Buffer): boolean {
    let domain: unknown;
    try {
      domain = (JSON.parse(data.toString('utf8')) as { meta?: { domain?: unknown } } | null)?.meta?.domain;
    } catch {
      return true;
    }
    return typeof domain !== 'string' || domainMatches(domain, this.options.domains!);
  }

  /** A skipped event moves the saved position when nothing read is waiting for its commit. */
  private async saveOverSkipped(): Promise<void> {
    if (!this.allCommitted() || this.current === undefined || this.current === this.savedId) return;
    if (Date.now() - this.lastSaveAt < SKIPPED_SAVE_INTERVAL_MS) return;
    await this.save(this.current);
  }
}

/** The position file's position for `url`; one of another stream is refused. */
export async function loadPosition(
  positions: PositionFile<SsePosition>,
  url: string,
): Promise<SsePosition | undefined> {
  let saved: SsePosition | undefined;
  try {
    saved = await positions.load();
  } catch (err) {
    throw new Error(`position file ${positions.path} ${messageOf(err)}`, { cause: err });
  }
  if (saved !== undefined && saved.url !== url) {
    throw new Error(
      `position file ${positions.path} holds a position of ${saved.url}, not of ${url}: name another file, or remove it to start afresh`,
    );
  }
  return saved;
}

function describeStart(start: Start): string {
  if (start.kind === 'id') return `Last-Event-ID ${JSON.stringify(start.id)}`;
  if (start.kind === 'since') return `since ${new Date(start.ms).toISOString()}`;
  return 'the end of the stream';
}

/** The first bytes of an answer that is not the stream, for the message; bounded in size and time. */
async function bodyHead(body: Dispatcher.ResponseData['body'], timeoutMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  const timer = setTimeout(() => body.destroy(), timeoutMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= ERROR_HEAD_BYTES) break;
    }
  } catch {
    // What arrived is enough for a message.
  } finally {
    clearTimeout(timer);
  }
  return textHead(Buffer.concat(chunks, bytes));
}

function textHead(bytes: Buffer): string {
  return bytes.subarray(0, ERROR_HEAD_BYTES).toString('utf8').replace(/\s+/g, ' ').trim();
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message}${code !== undefined && !err.message.includes(code) ? ` [${code}]` : ''}${cause}`;
}
