import { createServer, type Server } from 'node:http';
import type { PrometheusMetrics } from './metrics.js';

/** `/metrics` for Prometheus and `/healthz` (200 while `healthy()` says so) on 127.0.0.1 or a given host. */
export async function serveMetrics(
  metrics: PrometheusMetrics,
  port: number,
  healthy: () => boolean,
  host = '0.0.0.0',
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (req.url === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'stopping\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Later socket errors are the clients'; the server goes on.
  server.on('error', () => undefined);
  server.unref();
  return server;
}
