import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { HttpStatusError, ReadRefusedError } from '../../../src/core/bounded-read.js';
import { createFetchText } from '../../../src/runtime/fetch-text.js';

/** An HTTP server on 127.0.0.1 answering with `handler`; closed when the test ends. */
async function serve(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createFetchText', () => {
  it('returns a 200 answer up to the bound as text', async (t) => {
    const base = await serve(t, (_req, res) => res.end('é'.repeat(8)));
    assert.equal(await createFetchText({}, 'test', 5_000, 16)(`${base}/x`), 'é'.repeat(8));
  });

  it('rejects another status with an HttpStatusError', async (t) => {
    const base = await serve(t, (req, res) => res.writeHead(req.url === '/gone' ? 404 : 503).end('body'));
    const fetchText = createFetchText({}, 'test', 5_000, 16);
    for (const [path, status] of [
      ['/gone', 404],
      ['/down', 503],
    ] as const) {
      await assert.rejects(fetchText(`${base}${path}`), (e: unknown) => {
        assert.ok(e instanceof HttpStatusError);
        assert.equal(e.status, status);
        assert.equal(e.message, `GET ${base}${path} answered HTTP ${status}`);
        return true;
      });
    }
  });

  it('refuses an answer whose content-length is over the bound', async (t) => {
    const base = await serve(t, (_req, res) =>
      res.writeHead(200, { 'content-length': 17 }).end('x'.repeat(17)),
    );
    await assert.rejects(createFetchText({}, 'test', 5_000, 16)(`${base}/x`), (e: unknown) => {
      assert.ok(e instanceof ReadRefusedError);
      assert.equal(e.message, `GET ${base}/x answered more than 16 bytes`);
      return true;
    });
  });

  it('abandons an endless answer once it passes the bound', { timeout: 60_000 }, async (t) => {
    let closed: Promise<unknown> | undefined;
    let written = 0;
    const base = await serve(t, (_req, res) => {
      closed = once(res, 'close');
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
      };
      res.on('drain', pump);
      pump();
    });
    await assert.rejects(createFetchText({}, 'test', 30_000, 1024 * 1024)(`${base}/zero`), ReadRefusedError);
    await closed;
    assert.ok(written < 64 * 1024 * 1024, `the client stopped the answer (${written} bytes were written)`);
  });

  it(
    'gives up on an answer that drips slower than the whole-request timeout',
    { timeout: 60_000 },
    async (t) => {
      const timers: NodeJS.Timeout[] = [];
      t.after(() => timers.forEach(clearInterval));
      const base = await serve(t, (_req, res) => {
        res.writeHead(200);
        timers.push(setInterval(() => res.write('x'), 10));
      });
      // Each byte comes well within the inactivity timeouts; only the deadline for the whole request ends it.
      await assert.rejects(createFetchText({}, 'test', 300, 1024 * 1024)(`${base}/drip`), (e: unknown) => {
        assert.match((e as Error).name, /TimeoutError|AbortError/);
        return true;
      });
    },
  );
});
