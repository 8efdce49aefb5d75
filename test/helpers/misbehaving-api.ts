/**
 * A local MediaWiki Action API for tests: it answers `action=query&prop=revisions` from an in-memory
 * store the way MediaWiki 1.39 does (formatversion=2), and misbehaves on purpose when told to.
 *
 *     const api = await MisbehavingApi.start();
 *     t.after(() => api.close());
 *     api.addRevision({ revId: 2, pageId: 1, title: 'A', slots: { main: { content: 'Hello' } } });
 *     api.script({ kind: 'status', status: 503 }, { kind: 'hang' });   // the next two requests
 *     // ... point the fetcher at api.url, then:
 *     assert.equal(api.requests.length, 3);
 *
 * Each request takes the next behaviour of the script (a queue); when the script is empty it gets the
 * fallback (default `serve`), which may also be a function of the request. Every request is recorded
 * (path, query, headers, revision ids, behaviour, arrival time) before it is answered.
 *
 * Store semantics, as the real API: ids that are unknown (or stored for another `domain`) are listed
 * in `badrevids` (a JSON array when the ids are 0..n-1, as PHP serialises them); revisions of a deleted
 * page are `badrevids` too, or with `deletedPageShape: 'missing-page'` a page `{missing: true}` without
 * revisions (what a session with `deletedhistory` sees); a hidden slot has `texthidden` and no content;
 * more than `revidsLimit` ids is the `toomanyvalues` error; `serve` with `maxRevisions` truncates the
 * answer with `continue.rvcontinue` and serves the rest on the continued request.
 *
 * Hostile answers: `raw-bytes` writes any bytes to the socket instead of an HTTP response (garbage, a
 * bad status line, HTTP/0.9), `huge` streams a body of any size without holding it (with backpressure,
 * stopping when the client goes away), and `gzipBomb()` builds a small gzip body that inflates to a
 * huge one, for `raw` with `content-encoding: gzip`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { constants as zlibConstants, createGzip, gzipSync } from 'node:zlib';

export interface StoredSlot {
  readonly content?: string;
  /** @default 'wikitext' */
  readonly model?: string;
  /** @default 'text/x-wiki' */
  readonly format?: string;
  /** Content hidden by revision deletion: served as `texthidden: true` without content. */
  readonly hidden?: boolean;
}

export interface StoredRevision {
  readonly revId: number;
  readonly pageId: number;
  readonly title: string;
  /** Slots by role (`main`, `mediainfo`, …). */
  readonly slots: Readonly<Record<string, StoredSlot>>;
  /** The revision's page was deleted. */
  readonly deleted?: boolean;
  /** Served only to requests whose Host header is this domain; to every request when unset. */
  readonly domain?: string;
}

export type Behaviour =
  /** Answer from the store; `maxRevisions` truncates with `continue`; `delayMs` waits before answering. */
  | { readonly kind: 'serve'; readonly maxRevisions?: number; readonly delayMs?: number }
  /** Accept the request and never answer (the client's headers timeout fires). */
  | { readonly kind: 'hang' }
  /** Send the headers and the first `bytes` of the served body (default 10), then stall. */
  | { readonly kind: 'slow-body'; readonly bytes?: number }
  /**
   * Send the headers, then the served body one byte every `everyMs` (default 50): no single wait
   * is long enough for an idle timeout, however long the whole answer takes.
   */
  | { readonly kind: 'trickle'; readonly everyMs?: number }
  /** Reset the TCP connection (RST) as soon as the request arrives. */
  | { readonly kind: 'reset' }
  /** Any status, with optional headers and body (none for 204 and 304). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  /** `error.code == maxlag`, HTTP 200, with `Retry-After` (default 5 s, MediaWiki's minimum). */
  | { readonly kind: 'maxlag'; readonly retryAfterSeconds?: number; readonly lag?: number }
  /** `error.code == readonly`, HTTP 200. */
  | { readonly kind: 'readonly' }
  /** Any other API error, HTTP 200. */
  | { readonly kind: 'api-error'; readonly code: string; readonly info?: string }
  /** A body of your choice with status 200 (or `status`): e.g. not JSON. */
  | {
      readonly kind: 'raw';
      readonly body: string | Buffer;
      readonly status?: number;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /**
   * These bytes on the socket in place of an HTTP response (status line and headers included, or
   * not), then the server's side of the connection is closed.
   */
  | { readonly kind: 'raw-bytes'; readonly bytes: string | Buffer }
  /**
   * A 200 answer whose body is `bytes` long (the start of a JSON answer, then filler), streamed as the
   * client reads it; chunked unless `declareLength` sends its content-length.
   */
  | { readonly kind: 'huge'; readonly bytes: number; readonly declareLength?: boolean };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** `revids` as numbers, in the order sent. */
  readonly revIds: number[];
  readonly behaviour: Behaviour['kind'];
  /** Arrival time, `performance.now()` milliseconds. */
  readonly receivedAt: number;
}

/** What a fallback function sees of the request. */
export type IncomingApiRequest = Omit<RecordedRequest, 'behaviour'>;

export interface MisbehavingApiOptions {
  /** How a deleted page's revisions look. @default 'badrevids' */
  readonly deletedPageShape?: 'badrevids' | 'missing-page';
  /** More `revids` than this gets `toomanyvalues`. @default 50 */
  readonly revidsLimit?: number;
  /** Gzip every 200 answer when the request accepts gzip. @default false */
  readonly gzip?: boolean;
  /** Behaviour when the script is empty. @default { kind: 'serve' } */
  readonly fallback?: Behaviour | ((request: IncomingApiRequest) => Behaviour);
}

type Json = Record<string, unknown>;

export class MisbehavingApi {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** The most requests that were open at the same time. */
  maxConcurrent = 0;
  /** Body bytes that `huge` answers handed to their sockets, all requests together. */
  hugeBytesWritten = 0;

  private readonly store = new Map<number, StoredRevision[]>();
  private readonly queue: Behaviour[] = [];
  private readonly sockets = new Set<Socket>();
  private fallback: Behaviour | ((request: IncomingApiRequest) => Behaviour);
  private inFlight = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: MisbehavingApiOptions,
  ) {
    this.fallback = options.fallback ?? { kind: 'serve' };
  }

  /** Listens on 127.0.0.1 on a port the OS picks. */
  static async start(options: MisbehavingApiOptions = {}): Promise<MisbehavingApi> {
    const server = createServer();
    const api = new MisbehavingApi(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    server.on('connection', (socket: Socket) => {
      api.sockets.add(socket);
      socket.once('close', () => api.sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return api;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The api.php URL (any path is answered the same way). */
  get url(): string {
    return `${this.origin}/w/api.php`;
  }

  addRevision(...revisions: StoredRevision[]): this {
    for (const revision of revisions) {
      const list = this.store.get(revision.revId) ?? [];
      list.push(revision);
      this.store.set(revision.revId, list);
    }
    return this;
  }

  /** Queues behaviours for the next requests, in order. */
  script(...behaviours: Behaviour[]): this {
    this.queue.push(...behaviours);
    return this;
  }

  setFallback(fallback: Behaviour | ((request: IncomingApiRequest) => Behaviour)): this {
    this.fallback = fallback;
    return this;
  }

  /** Every revision id of every request, flattened. */
  requestedRevIds(): number[] {
    return this.requests.flatMap((r) => r.revIds);
  }

  /** Drops open connections (hanging requests included) and stops listening. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const revids = url.searchParams.get('revids');
    const incoming: IncomingApiRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      revIds: revids ? revids.split('|').map(Number) : [],
      receivedAt: performance.now(),
    };
    const behaviour =
      this.queue.shift() ?? (typeof this.fallback === 'function' ? this.fallback(incoming) : this.fallback);
    const request: RecordedRequest = { ...incoming, behaviour: behaviour.kind };
    this.requests.push(request);
    this.inFlight += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.inFlight);
    res.once('close', () => (this.inFlight -= 1));
    void this.respond(behaviour, request, req, res);
  }

  private async respond(b: Behaviour, request: RecordedRequest, req: IncomingMessage, res: ServerResponse) {
    switch (b.kind) {
      case 'serve':
        if (b.delayMs) await new Promise((resolve) => setTimeout(resolve, b.delayMs));
        return this.sendJson(req, res, this.serve(request, b.maxRevisions));
      case 'hang':
        return;
      case 'slow-body': {
        const body = JSON.stringify(this.serve(request, undefined));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.write(body.slice(0, b.bytes ?? 10));
        return;
      }
      case 'trickle': {
        const body = JSON.stringify(this.serve(request, undefined));
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= body.length) {
            clearInterval(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(body.charAt(sent++));
        }, b.everyMs ?? 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'status': {
        res.writeHead(b.status, b.headers ?? {});
        res.end(b.status === 204 || b.status === 304 ? undefined : (b.body ?? `HTTP ${b.status}`));
        return;
      }
      case 'maxlag': {
        const lag = b.lag ?? 12;
        return this.sendJson(
          req,
          res,
          {
            error: {
              code: 'maxlag',
              info: `Waiting for a database server: ${lag} seconds lagged.`,
              lag,
              type: 'db',
            },
          },
          {
            'retry-after': String(b.retryAfterSeconds ?? 5),
            'x-database-lag': String(lag),
            'mediawiki-api-error': 'maxlag',
          },
        );
      }
      case 'readonly':
        return this.sendJson(
          req,
          res,
          {
            error: {
              code: 'readonly',
              info: 'The wiki is currently in read-only mode.',
              readonlyreason: 'tests',
            },
          },
          { 'mediawiki-api-error': 'readonly' },
        );
      case 'api-error':
        return this.sendJson(
          req,
          res,
          { error: { code: b.code, info: b.info ?? b.code } },
          { 'mediawiki-api-error': b.code },
        );
      case 'raw':
        res.writeHead(b.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...b.headers });
        res.end(b.body);
        return;
      case 'raw-bytes':
        // Nothing of `res` has been written yet, so these bytes are all the client gets.
        req.socket.end(b.bytes);
        return;
      case 'huge':
        return this.streamHuge(res, b.bytes, b.declareLength ?? false);
    }
  }

  private async streamHuge(res: ServerResponse, total: number, declareLength: boolean): Promise<void> {
    const head = '{"batchcomplete":true,"query":{"pages":[{"pageid":1,"title":"';
    const filler = Buffer.alloc(64 * 1024, 'a');
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      ...(declareLength ? { 'content-length': String(total) } : {}),
    });
    let closed = false;
    res.once('close', () => (closed = true));
    let sent = 0;
    const write = (chunk: Buffer): Promise<void> | undefined => {
      sent += chunk.length;
      this.hugeBytesWritten += chunk.length;
      if (res.write(chunk)) return undefined;
      return new Promise((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    await write(Buffer.from(head).subarray(0, total));
    while (!closed && sent < total) await write(filler.subarray(0, Math.min(filler.length, total - sent)));
    if (!closed) res.end();
  }

  private sendJson(
    req: IncomingMessage,
    res: ServerResponse,
    body: Json,
    headers: Record<string, string> = {},
  ): void {
    let bytes: Buffer = Buffer.from(JSON.stringify(body));
    const all: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', ...headers };
    if (this.options.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      bytes = gzipSync(bytes);
      all['content-encoding'] = 'gzip';
    }
    res.writeHead(200, { ...all, 'content-length': String(bytes.length) });
    res.end(bytes);
  }

  /** The answer MediaWiki would give to the recorded revisions query. */
  private serve(request: RecordedRequest, maxRevisions: number | undefined): Json {
    const q = request.query;
    if (
      q.get('action') !== 'query' ||
      q.get('prop') !== 'revisions' ||
      q.get('format') !== 'json' ||
      q.get('formatversion') !== '2'
    ) {
      return apiErrorBody(
        'unsupported',
        `this test API serves only action=query&prop=revisions&format=json&formatversion=2`,
      );
    }
    if (request.revIds.some((id) => !Number.isInteger(id))) {
      return apiErrorBody('badinteger', `Invalid value for integer parameter "revids".`);
    }
    const limit = this.options.revidsLimit ?? 50;
    if (request.revIds.length > limit) {
      return apiErrorBody(
        'toomanyvalues',
        `Too many values supplied for parameter "revids". The limit is ${limit}.`,
      );
    }
    const host = String(request.headers.host ?? '').replace(/:\d+$/, '');
    const ids = [...new Set(request.revIds)].sort((a, b) => a - b);
    const found: StoredRevision[] = [];
    const bad: number[] = [];
    const missingPages = new Map<string, Json>();
    for (const id of ids) {
      const revision = this.store.get(id)?.find((r) => r.domain === undefined || r.domain === host);
      if (revision === undefined || (revision.deleted && this.options.deletedPageShape !== 'missing-page'))
        bad.push(id);
      else if (revision.deleted)
        missingPages.set(revision.title, { ns: 0, title: revision.title, missing: true });
      else found.push(revision);
    }
    const from = Number(q.get('rvcontinue') ?? '0');
    const remaining = found.filter((r) => r.revId >= from);
    const served = maxRevisions === undefined ? remaining : remaining.slice(0, maxRevisions);
    const pages = new Map<number, Json & { revisions: Json[] }>();
    for (const revision of served) {
      const page = pages.get(revision.pageId) ?? {
        pageid: revision.pageId,
        ns: 0,
        title: revision.title,
        revisions: [],
      };
      page.revisions.push(revisionJson(revision));
      pages.set(revision.pageId, page);
    }
    const query: Json = {};
    // PHP arrays keyed 0..n-1 are JSON lists.
    if (bad.length > 0) {
      query.badrevids = bad.every((id, i) => id === i)
        ? bad.map((revid) => ({ revid, missing: true }))
        : Object.fromEntries(bad.map((revid) => [String(revid), { revid, missing: true }]));
    }
    const pageList = [
      ...missingPages.values(),
      ...[...pages.values()].sort((a, b) => Number(a.pageid) - Number(b.pageid)),
    ];
    if (pageList.length > 0) query.pages = pageList;
    const next = remaining[served.length];
    return next === undefined
      ? { batchcomplete: true, query }
      : { continue: { rvcontinue: next.revId, continue: '||' }, query };
  }
}

function apiErrorBody(code: string, info: string): Json {
  return { error: { code, info } };
}

function revisionJson(revision: StoredRevision): Json {
  const slots: Json = {};
  let hidden = false;
  let size = 0;
  for (const [role, slot] of Object.entries(revision.slots)) {
    const model = slot.model ?? 'wikitext';
    size += Buffer.byteLength(slot.content ?? '');
    if (slot.hidden) {
      hidden = true;
      slots[role] = { contentmodel: model, texthidden: true };
    } else {
      slots[role] = {
        contentmodel: model,
        contentformat: slot.format ?? 'text/x-wiki',
        content: slot.content ?? '',
      };
    }
  }
  return {
    revid: revision.revId,
    parentid: 0,
    timestamp: '2026-01-01T00:00:00Z',
    size,
    ...(hidden ? { sha1hidden: true } : { sha1: '0'.repeat(40) }),
    slots,
  };
}

/**
 * A gzip body (about a thousandth of its size) that inflates to `inflatedBytes` of spaces: a
 * decompression bomb. Built as a stream, so building it holds only the compressed bytes.
 */
export async function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  const block = Buffer.alloc(1024 * 1024, ' ');
  const source = Readable.from(
    (function* () {
      for (let left = inflatedBytes; left > 0; left -= block.length)
        yield block.subarray(0, Math.min(block.length, left));
    })(),
  );
  const gzip = source.pipe(createGzip({ level: 9, strategy: zlibConstants.Z_RLE }));
  const parts: Buffer[] = [];
  for await (const part of gzip) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * A TCP port where connecting hangs: a stopped child process listens with a backlog of 1 and two
 * connections fill its accept queue, so the kernel drops every later SYN and a client's connect
 * times out. For connect-timeout tests without any address outside 127.0.0.1.
 */
export async function startUnacceptingListener(): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(s.address().port + '\\n');
         process.kill(process.pid, 'SIGSTOP');
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(String(chunk).trim());
  const fillers: Socket[] = [];
  for (let i = 0; i < 3; i += 1) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
  }
  // Wait until the queue is full: the first two fillers complete their handshake.
  await Promise.all(fillers.slice(0, 2).map((s) => once(s, 'connect')));
  return {
    port,
    async close() {
      for (const socket of fillers) socket.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
