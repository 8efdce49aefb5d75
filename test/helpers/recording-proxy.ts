/**
 * A small recording HTTP proxy, put in front of a wiki to count and inspect the requests the
 * service makes.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the proxy saw it. */
export interface RecordedRequest {
  /** Arrival, ms since the epoch. */
  readonly atMs: number;
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The `revids` parameter, as numbers (empty when absent). */
  readonly revIds: number[];
  /** Set when the wiki's answer is complete: HTTP status and the `MediaWiki-API-Error` header. */
  status?: number;
  apiError?: string;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:PORT/api.php`: the same path as the wiki's. */
  readonly apiUrl: string;
  readonly requests: RecordedRequest[];
  /** Requests whose `revids` contain `revId`. */
  requestsFor(revId: number): RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy on 127.0.0.1 in front of `targetApiUrl`, recording every request. The
 * service sees the wiki's answers unchanged (status, headers, body bytes); the test sees how many
 * requests carried each revision, with which parameters and headers, and when.
 */
export async function startRecordingProxy(targetApiUrl: string): Promise<RecordingProxy> {
  const target = new URL(targetApiUrl);
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const revids = new URL(url, 'http://proxy.invalid').searchParams.get('revids');
    const recorded: RecordedRequest = {
      atMs: Date.now(),
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      revIds: revids ? revids.split('|').map(Number) : [],
    };
    requests.push(recorded);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: url, headers: req.headers },
      (answer) => {
        recorded.status = answer.statusCode;
        const apiError = answer.headers['mediawiki-api-error'];
        if (typeof apiError === 'string') recorded.apiError = apiError;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      res.destroy(err);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}${target.pathname}`,
    requests,
    requestsFor: (revId) => requests.filter((r) => r.revIds.includes(revId)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
