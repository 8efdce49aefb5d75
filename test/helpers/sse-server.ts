/**
 * A local stand-in for Wikimedia EventStreams (KafkaSSE) on 127.0.0.1, speaking its wire format:
 * `:ok` and a blank line, then per event `event: message`, `id: <JSON array of positions>`,
 * `data: <JSON>` and a blank line; `event: error` with the positions when told to fail mid-stream.
 *
 *     const server = await SseServer.start();
 *     t.after(() => server.close());
 *     server.script({ kind: 'serve', after: 3, then: 'drop' });   // the next connection
 *     // … point an sse source at server.url, then, once it is connected:
 *     server.append('eqiad.mediawiki.page_change.v1', { meta: { domain: 'en.wikipedia.org' } });
 *
 * Like KafkaSSE it keeps a log per topic (one partition each) with offsets and Kafka timestamps
 * (strictly increasing per topic), and resumes from `Last-Event-ID`: it must be a non-empty JSON
 * array of `{topic, partition, offset | timestamp}` (else 400), of the stream's topics (else 404),
 * and replaces the topic list; an offset starts there (-1: the end), a timestamp at the first event
 * at or after it (the end when there is none, shown as `offset: -1`). Without it, `?since=` (ms or
 * ISO) starts every topic at a time, and nothing starts them at the end. Ids carry, per topic, the
 * last delivered event's timestamp + 1 (the public service) or offset + 1 (`ids: 'offset'`), and for
 * a topic that delivered nothing yet its resolved start (`offset: -1` for the end).
 *
 * Events are delivered in the order they were appended, across topics. Every request is recorded
 * (its headers, `Last-Event-ID`, `since`, what it was answered) before it is answered.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const EQIAD = 'eqiad.mediawiki.page_change.v1';
export const CODFW = 'codfw.mediawiki.page_change.v1';
export const STREAM_PATH = '/v2/stream/mediawiki.page_change.v1';

export interface StoredEvent {
  readonly topic: string;
  readonly offset: number;
  readonly timestamp: number;
  /** The SSE data: the event's JSON (or any text, sent as it is; LFs make several data lines). */
  readonly data: string;
}

export type Behaviour =
  | {
      readonly kind: 'serve';
      /** Bytes per write, each write flushed on its own (1: byte by byte). @default whole frames */
      readonly split?: number;
      /** @default '\n' */
      readonly lineEnd?: '\n' | '\r\n' | '\r';
      /** A comment line (`:` …) before every frame. */
      readonly comments?: boolean;
      /** After this many events, `then`. @default unlimited */
      readonly after?: number;
      /**
       * `drop`: destroy the socket; `end`: end the response; `stall`: keep it open and send nothing
       * more; `error`: send `event: error` with the positions, then end (as KafkaSSE does).
       */
      readonly then?: 'drop' | 'end' | 'stall' | 'error';
    }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** Headers and `:ok`, then frames written by the test (`rawFrames`), then the end. */
  | { readonly kind: 'raw'; readonly body: string | Buffer };

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly lastEventId: string | undefined;
  readonly since: string | undefined;
  /** The status answered. */
  status: number;
  readonly behaviour: Behaviour['kind'];
  readonly at: number;
}

interface Position {
  topic: string;
  partition: number;
  offset?: number;
  timestamp?: number;
}

/** One streaming response. */
interface Stream {
  readonly res: ServerResponse;
  readonly behaviour: Extract<Behaviour, { kind: 'serve' }>;
  /** Per topic: the first offset to deliver. */
  readonly from: Map<string, number>;
  /** Per topic: what the id shows. */
  readonly ids: Map<string, Position>;
  /** Index into the global log of the next event to look at. */
  next: number;
  delivered: number;
  done: boolean;
  wake?: () => void;
}

export class SseServer {
  readonly requests: RecordedRequest[] = [];
  /** Streams started (200 and `:ok` written) so far. */
  streamsStarted = 0;
  private readonly log: StoredEvent[] = [];
  private readonly topicLogs = new Map<string, StoredEvent[]>();
  private readonly queue: Behaviour[] = [];
  private fallback: Behaviour = { kind: 'serve' };
  private readonly streams = new Set<Stream>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly topics: readonly string[],
    private readonly ids: 'timestamp' | 'offset',
  ) {
    for (const topic of topics) this.topicLogs.set(topic, []);
  }

  static async start(
    options: { topics?: readonly string[]; ids?: 'timestamp' | 'offset'; port?: number } = {},
  ): Promise<SseServer> {
    const server = createServer();
    const sse = new SseServer(server, options.topics ?? [EQIAD, CODFW], options.ids ?? 'timestamp');
    server.on('request', (req, res) => void sse.handle(req.url ?? '/', req.headers, res));
    server.on('connection', (socket) => {
      sse.sockets.add(socket);
      socket.on('close', () => sse.sockets.delete(socket));
    });
    server.listen(options.port ?? 0, '127.0.0.1');
    await once(server, 'listening');
    return sse;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The stream's URL (`/v2/stream/mediawiki.page_change.v1`). */
  get url(): string {
    return `${this.origin}${STREAM_PATH}`;
  }

  /** Behaviours for the next connections, in order; then `fallback`. */
  script(...behaviours: Behaviour[]): void {
    this.queue.push(...behaviours);
  }

  setFallback(behaviour: Behaviour): void {
    this.fallback = behaviour;
  }

  /** Appends an event to a topic's log and wakes the open streams. */
  append(topic: string, event: object | string, timestamp?: number): StoredEvent {
    const log = this.topicLogs.get(topic);
    if (!log) throw new Error(`no topic ${topic}`);
    const last = log[log.length - 1]?.timestamp ?? 0;
    const stored: StoredEvent = {
      topic,
      offset: log.length,
      timestamp: Math.max(timestamp ?? Date.now(), last + 1),
      data: typeof event === 'string' ? event : JSON.stringify(event),
    };
    log.push(stored);
    this.log.push(stored);
    for (const stream of this.streams) stream.wake?.();
    return stored;
  }

  /** Every event appended, in order. */
  get events(): readonly StoredEvent[] {
    return this.log;
  }

  /** Open streaming responses. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Cuts every open stream (the socket is destroyed, as an edge dropping connections does). */
  dropAll(): void {
    for (const stream of this.streams) {
      stream.done = true;
      stream.res.socket?.destroy();
      stream.wake?.();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const stream of this.streams) stream.wake?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(rawUrl: string, headers: IncomingHttpHeaders, res: ServerResponse): Promise<void> {
    const url = new URL(rawUrl, this.origin);
    const behaviour = this.queue.shift() ?? this.fallback;
    const lastEventId = headers['last-event-id'] as string | undefined;
    const since = url.searchParams.get('since') ?? undefined;
    const recorded: RecordedRequest = {
      path: url.pathname,
      headers,
      lastEventId,
      since,
      status: 0,
      behaviour: behaviour.kind,
      at: Date.now(),
    };
    this.requests.push(recorded);
    const answer = (status: number, body: string, extra: Record<string, string> = {}) => {
      recorded.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(body);
    };
    if (url.pathname !== STREAM_PATH) return answer(404, '{"title":"Not Found"}');
    if (behaviour.kind === 'status') {
      recorded.status = behaviour.status;
      res.writeHead(behaviour.status, behaviour.headers ?? {});
      res.end(behaviour.body ?? '');
      return;
    }
    const start = this.assign(lastEventId, since);
    if (typeof start === 'number') return answer(start, `{"status":${start},"title":"refused"}`);
    recorded.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(':ok\n\n');
    this.streamsStarted++;
    if (behaviour.kind === 'raw') {
      res.end(behaviour.body);
      return;
    }
    const stream: Stream = {
      res,
      behaviour,
      from: start.from,
      ids: start.ids,
      next: 0,
      delivered: 0,
      done: false,
    };
    this.streams.add(stream);
    res.on('close', () => {
      stream.done = true;
      stream.wake?.();
    });
    try {
      await this.deliver(stream);
    } finally {
      this.streams.delete(stream);
    }
  }

  /** The start of each assigned topic, as KafkaSSE resolves it; a status number when refused. */
  private assign(
    lastEventId: string | undefined,
    since: string | undefined,
  ): { from: Map<string, number>; ids: Map<string, Position> } | number {
    const from = new Map<string, number>();
    const ids = new Map<string, Position>();
    let wanted: Position[];
    if (lastEventId !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(lastEventId);
      } catch {
        return 400;
      }
      if (!Array.isArray(parsed) || parsed.length === 0) return 400;
      for (const a of parsed as Position[]) {
        const ok =
          typeof a === 'object' &&
          a !== null &&
          typeof a.topic === 'string' &&
          Number.isInteger(a.partition) &&
          (Number.isInteger(a.offset) || Number.isInteger(a.timestamp));
        if (!ok) return 400;
        if (!this.topicLogs.has(a.topic) || a.partition !== 0) return 404;
      }
      wanted = parsed as Position[];
    } else {
      const at = since === undefined ? undefined : /^\d+$/.test(since) ? Number(since) : Date.parse(since);
      if (at !== undefined && Number.isNaN(at)) return 400;
      wanted = this.topics.map((topic) => ({
        topic,
        partition: 0,
        ...(at === undefined ? { offset: -1 } : { timestamp: at }),
      }));
    }
    for (const a of wanted) {
      const log = this.topicLogs.get(a.topic)!;
      let offset: number;
      if (Number.isInteger(a.offset)) offset = a.offset!;
      else {
        const found = log.find((e) => e.timestamp >= a.timestamp!);
        offset = found === undefined ? -1 : found.offset;
      }
      from.set(a.topic, offset < 0 ? log.length : offset);
      ids.set(a.topic, { topic: a.topic, partition: 0, offset });
    }
    return { from, ids };
  }

  private async deliver(stream: Stream): Promise<void> {
    const { behaviour } = stream;
    const limit = behaviour.after ?? Infinity;
    for (;;) {
      if (stream.done) return;
      if (stream.delivered >= limit) return this.finish(stream);
      const event = this.log[stream.next];
      if (event === undefined) {
        await new Promise<void>((resolve) => (stream.wake = resolve));
        stream.wake = undefined;
        continue;
      }
      stream.next++;
      const start = stream.from.get(event.topic);
      if (start === undefined || event.offset < start) continue;
      stream.ids.set(event.topic, {
        topic: event.topic,
        partition: 0,
        ...(this.ids === 'timestamp' ? { timestamp: event.timestamp + 1 } : { offset: event.offset + 1 }),
      });
      await this.write(stream, frame('message', [...stream.ids.values()], event.data, behaviour));
      stream.delivered++;
    }
  }

  private async finish(stream: Stream): Promise<void> {
    const then = stream.behaviour.then ?? 'stall';
    if (then === 'drop') {
      // What was written reaches the client first: destroying a socket discards what it still buffers.
      const socket = stream.res.socket;
      while (socket && !socket.destroyed && socket.writableLength > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket?.destroy();
    } else if (then === 'end') stream.res.end();
    else if (then === 'error') {
      const error = JSON.stringify({ name: 'KafkaSSEError', message: 'broker went away' });
      await this.write(stream, frame('error', [...stream.ids.values()], error, stream.behaviour));
      stream.res.end();
    } else {
      // Stall: nothing more, until the client goes away.
      while (!stream.done) await new Promise<void>((resolve) => (stream.wake = resolve));
    }
  }

  private async write(stream: Stream, text: string): Promise<void> {
    const bytes = Buffer.from(text);
    const split = stream.behaviour.split ?? bytes.length;
    for (let at = 0; at < bytes.length && !stream.done; at += split) {
      const flushed = stream.res.write(bytes.subarray(at, at + split));
      // Each piece in a read of its own: wait for the socket to take it before the next.
      if (split < bytes.length) await new Promise((resolve) => setTimeout(resolve, 1));
      else if (!flushed) await once(stream.res, 'drain');
    }
  }
}

/** One frame as KafkaSSE writes it, with the line ending and comments a behaviour asks for. */
export function frame(
  type: string,
  id: readonly Position[],
  data: string,
  options: { lineEnd?: string; comments?: boolean } = {},
): string {
  const lines = [
    ...(options.comments ? [': a comment the client must ignore'] : []),
    `event: ${type}`,
    `id: ${JSON.stringify(id)}`,
    ...data.split('\n').map((line) => `data: ${line}`),
    '',
  ];
  const end = options.lineEnd ?? '\n';
  return lines.map((line) => `${line}${end}`).join('');
}
