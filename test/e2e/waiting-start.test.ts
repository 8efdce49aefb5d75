/**
 * Waiting instead of dying: the service started while what it needs is down waits for it, says so
 * on `/readyz` (503 with the reason) while `/healthz` stays 200, and does its work once it is back.
 *
 * - The Kafka broker is down at the start: the consumer connects again with backoff; once the
 *   broker is up the service becomes ready and reads every input exactly once.
 * - The schema repository (http) refuses connections at the start: the service waits for it, then
 *   loads the schemas and processes the whole file.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  ensureBuilt,
  pageContentChange,
  parseSummaryLine,
  spawnCli,
  waitForExit,
  writeCliJob,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { kafkaScript } from '../helpers/kafka.js';
import { e2eRun } from '../helpers/kafka-e2e.js';
import { assertNoneLost, EXACTLY_ONE_EACH } from '../helpers/kafka-e2e-books.js';
import { addRevisions, pageChanges } from '../helpers/kafka-e2e-inputs.js';
import { readLines, startApi } from '../helpers/job-harness.js';
import { freePort } from '../helpers/ports.js';
import { SHARED_SCHEMAS_DIR } from '../helpers/schemas.js';
import { waitUntil } from '../helpers/wait.js';

before(() => ensureBuilt());

/** `/readyz` as status and body; undefined while nothing listens. */
async function readyz(port: number): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

async function healthz(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
}

/** Serves the shared schemas under `/schemas/` (what an http schema repository looks like). */
function schemaServer(): Server {
  return createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!path.startsWith('/schemas/')) return void res.writeHead(404).end();
    const file = join(SHARED_SCHEMAS_DIR, path.slice('/schemas/'.length));
    stat(file).then(
      (s) => {
        if (!s.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/yaml' });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
}

describe('waiting for what is down at the start', { timeout: 300_000 }, () => {
  it('the broker is down: /readyz says so, the service waits, becomes ready when it is up, and reads every input once', async (t) => {
    const run = await e2eRun(t, 'waiting', {
      partitions: { input: 2 },
      api: { seed: 5, minMs: 1, maxMs: 5 },
    });
    const inputs = pageChanges(300, { pages: 30, seed: 6 });
    addRevisions(run.api, inputs);
    const { ends } = await run.produce(inputs);
    const port = await freePort();
    const config = await run.config({ runtime: { metrics_port: port, log_level: 'info' } });

    await kafkaScript('stop');
    let brokerUp = false;
    t.after(async () => {
      if (!brokerUp) await kafkaScript('start');
    });
    const service = run.start(config, 'waiting for the broker');
    await waitUntil(
      '/readyz to name the unreachable broker',
      async () => {
        const r = await readyz(port);
        return r?.status === 503 && /^kafka source: broker unreachable/m.test(r.body);
      },
      { timeoutMs: 60_000, intervalMs: 200, watch: [service] },
    );
    assert.equal(await healthz(port), 200, 'alive while it waits');
    // It keeps trying: a second failed attempt, and still running.
    await waitUntil(
      'a second connection attempt',
      async () =>
        service.logs().filter((l) => String(l.message).startsWith('kafka source: broker unreachable'))
          .length >= 2,
      { timeoutMs: 60_000, intervalMs: 200, watch: [service] },
    );
    assert.ok(service.running(), service.report());

    const upAt = Date.now();
    await kafkaScript('start');
    brokerUp = true;
    await waitUntil('/readyz to say ready', async () => (await readyz(port))?.status === 200, {
      timeoutMs: 120_000,
      intervalMs: 200,
      watch: [service],
    });
    const readyAfterMs = Date.now() - upAt;
    await run.finish(service, ends, 120_000, 'the service to commit the whole input');
    const { books } = await run.books(inputs);
    assertNoneLost(books);
    assert.deepEqual(books, EXACTLY_ONE_EACH, 'every input read once');
    console.log(
      `waiting-start (broker): ${inputs.length} inputs, ready ${(readyAfterMs / 1000).toFixed(1)} s after the broker start was issued; ` +
        `${service.logs().filter((l) => String(l.message).startsWith('kafka source: broker unreachable')).length} failed connection attempts logged`,
    );
  });

  it('the schema repository refuses connections: /readyz says so, the service waits, then processes the file', async (t) => {
    const api = await startApi(t);
    const events = [11, 12, 13].map((revId) => {
      api.addRevision({ revId, pageId: 1, title: 'Page_1', slots: { main: { content: `text ${revId}` } } });
      return pageChangeEvent({
        page: { page_id: 1, page_title: 'Page_1' },
        meta: { request_id: `wait-${revId}` },
        revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
      });
    });
    const [repoPort, opsPort] = [await freePort(), await freePort()];
    const { config, paths } = await writeCliJob(t, events, api.url, {
      stream_manager: { schema_uris: [`http://127.0.0.1:${repoPort}/schemas`] },
      runtime: { metrics_port: opsPort, log_level: 'info' },
    });
    const service = spawnCli(t, pageContentChange(config), { label: 'waiting for schemas' });
    await waitUntil(
      '/readyz to name the unreachable schema repository',
      async () => {
        const r = await readyz(opsPort);
        return r?.status === 503 && /^event platform: unreachable: /m.test(r.body);
      },
      { timeoutMs: 60_000, intervalMs: 100, watch: [service] },
    );
    assert.equal(await healthz(opsPort), 200);

    const server = schemaServer();
    await new Promise<void>((resolve) => server.listen(repoPort, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    assert.deepEqual(
      await waitForExit(service, 120_000, 'after the repository came back'),
      { code: 0, signal: null },
      service.report(),
    );
    assert.equal(parseSummaryLine(service.stderr())?.counts.enriched, 3, service.report());
    const outputs = (await readLines(paths.output)).map(
      (l) => JSON.parse(l) as { revision: { rev_id: number } },
    );
    assert.deepEqual(
      outputs.map((o) => o.revision.rev_id),
      [11, 12, 13],
    );
    const waits = service.logs().filter((l) => String(l.message).startsWith('event platform unreachable'));
    assert.ok(waits.length >= 1, service.report());
  });
});
