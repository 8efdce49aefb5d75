import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusMetrics } from './metrics.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status/page.js';
import { StatusModel, type ReadinessView, type StatusInfo } from './status/status-model.js';
import { packageVersion } from './status/version.js';

export interface OpsServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** @default '0.0.0.0' (Prometheus and the kubelet's probes reach the pod from outside) */
  readonly host?: string;
  readonly metrics: PrometheusMetrics;
  readonly readiness: ReadinessView;
  /** What the status page says about this process; `version` defaults to package.json's. */
  readonly info: Omit<StatusInfo, 'version'> & { readonly version?: string };
  /** How often the status page's rates sample the counters. @default 5000 */
  readonly sampleIntervalMs?: number;
}

export interface OpsServer {
  /** The port it listens on (the one asked for, or the one picked for 0). */
  readonly port: number;
  /** Stops sampling and listening, and ends open connections (a status page keeps one alive). */
  close(): Promise<void>;
}

/** Every answer: no sniffing a type other than the one given, no caching of a live view. */
const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

/**
 * The service's operations endpoints, read-only:
 * `/metrics` (Prometheus), `/healthz` (200 while alive), `/readyz` (200 when ready, else 503 and
 * the reasons one per line), `/` (the status page) and `/status.json` (what the page shows).
 * Anything but GET and HEAD is 405; any other path 404.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { metrics, readiness } = options;
  const model = new StatusModel({
    metrics,
    readiness,
    info: { ...options.info, version: options.info.version ?? packageVersion() },
    ...(options.sampleIntervalMs !== undefined ? { sampleIntervalMs: options.sampleIntervalMs } : {}),
  });

  const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
    '/metrics': async (res) => {
      const body = await metrics.registry.metrics();
      send(res, 200, metrics.registry.contentType, body);
    },
    '/healthz': (res) =>
      readiness.alive ? send(res, 200, TEXT, 'ok\n') : send(res, 503, TEXT, 'stopping\n'),
    '/readyz': (res) =>
      readiness.ready
        ? send(res, 200, TEXT, 'ready\n')
        : send(res, 503, TEXT, reasonLines(readiness.reasons())),
    '/': (res) =>
      send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE_HTML, {
        'content-security-policy': STATUS_PAGE_CSP,
        'x-frame-options': 'DENY',
      }),
    '/status.json': async (res) => {
      send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(await model.document())}\n`);
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // The query string plays no part: `/status.json?t=1` is `/status.json`.
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, TEXT, 'read-only: GET or HEAD\n', { allow: 'GET, HEAD' });
    }
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) return send(res, 404, TEXT, 'not found\n');
    Promise.resolve()
      .then(() => route(res))
      .catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, TEXT, `${(err as Error).message}\n`);
        else res.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Later socket errors are the clients'; the server goes on.
  server.on('error', () => undefined);
  server.unref();
  model.start();
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      model.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

const TEXT = 'text/plain; charset=utf-8';

/** One reason per line: a reason that quotes a multi-line error message keeps to its line. */
function reasonLines(reasons: readonly string[]): string {
  return reasons.map((reason) => `${reason.replace(/\s*[\r\n]+\s*/g, ' ')}\n`).join('');
}

/** Node leaves the body out of an answer to HEAD by itself. */
function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, ...headers }).end(body);
}
