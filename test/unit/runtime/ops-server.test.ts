import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { PrometheusMetrics } from '../../../src/runtime/metrics.js';
import { startOpsServer } from '../../../src/runtime/ops-server.js';
import { Readiness } from '../../../src/runtime/readiness.js';
import { STATUS_PAGE_HTML } from '../../../src/runtime/status/page.js';
import { packageVersion } from '../../../src/runtime/status/version.js';

const HOSTILE = '<img src=x onerror=alert(1)>';

async function start(
  t: TestContext,
  readiness = new Readiness(),
  metrics = new PrometheusMetrics({ defaultMetrics: false }),
) {
  const server = await startOpsServer({
    port: 0,
    host: '127.0.0.1',
    metrics,
    readiness,
    info: {
      jobName: 'job-a',
      instanceId: undefined,
      startedAt: Date.now(),
      source: 'file:in',
      sink: 'file:out',
      errorSink: 'file:err',
      config: { runtime: { metrics_port: 0 } },
    },
  });
  t.after(() => server.close());
  return { base: `http://127.0.0.1:${server.port}`, metrics, readiness, server };
}

/** A raw request (fetch cannot send every method, nor show a HEAD answer's body). */
function raw(
  base: string,
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

test('/readyz: 503 with the reasons one per line until ready, then 200; /healthz 200 until stopping', async (t) => {
  const { base, readiness } = await start(t);
  const readyz = async () => {
    const res = await fetch(`${base}/readyz`);
    return [res.status, await res.text()];
  };
  assert.deepEqual(await readyz(), [503, 'starting\n']);
  readiness.markRunning();
  assert.deepEqual(await readyz(), [200, 'ready\n']);
  readiness.wait('kafka source', 'broker unreachable');
  readiness.wait('mediawiki', 'Action API answers 503:\n  Service Unavailable');
  assert.deepEqual(await readyz(), [
    503,
    'kafka source: broker unreachable\nmediawiki: Action API answers 503: Service Unavailable\n',
  ]);
  assert.equal((await fetch(`${base}/healthz`)).status, 200, 'waiting is alive');
  readiness.markStopping();
  assert.deepEqual(await readyz(), [503, 'stopping\n']);
  const healthz = await fetch(`${base}/healthz`);
  assert.deepEqual([healthz.status, await healthz.text()], [503, 'stopping\n']);
});

test('read-only: other methods 405 with Allow, unknown paths 404, HEAD without a body, the query ignored', async (t) => {
  const { base } = await start(t);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    for (const path of ['/', '/status.json', '/metrics', '/nowhere']) {
      const res = await raw(base, method, path);
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.allow, 'GET, HEAD');
    }
  }
  for (const path of [
    '/nowhere',
    '/status.json/x',
    '/index.html',
    '/__proto__',
    '/constructor',
    '/toString',
    '//',
  ]) {
    assert.equal((await raw(base, 'GET', path)).status, 404, path);
  }
  const head = await raw(base, 'HEAD', '/status.json');
  assert.deepEqual(
    [head.status, head.body, head.headers['content-type']],
    [200, '', 'application/json; charset=utf-8'],
  );
  const withQuery = await fetch(`${base}/status.json?refresh=1`);
  assert.equal(withQuery.status, 200);
  assert.equal(((await withQuery.json()) as { job: { name: string } }).job.name, 'job-a');
});

test('the page: HTML with a CSP that allows exactly its inline script and style, nosniff, no caching', async (t) => {
  const { base } = await start(t);
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const html = await res.text();
  assert.equal(html, STATUS_PAGE_HTML);
  const csp = Object.fromEntries(
    res.headers
      .get('content-security-policy')!
      .split('; ')
      .map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
  );
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  assert.equal(scripts.length, 1);
  assert.equal(styles.length, 1);
  assert.deepEqual(csp, {
    'default-src': "'none'",
    'script-src': hash(scripts[0]!),
    'style-src': hash(styles[0]!),
    'connect-src': "'self'",
    'img-src': "'none'",
    'base-uri': "'none'",
    'form-action': "'none'",
    'frame-ancestors': "'none'",
  });
  // Nothing from elsewhere: no URL with a scheme or protocol-relative one, no external element.
  assert.doesNotMatch(html, /(https?:)?\/\/[a-z0-9]/i);
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed)\b|\ssrc=|@import|url\(/i);
  // The script never parses text as HTML.
  assert.doesNotMatch(
    scripts[0]!,
    /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('on/,
  );
});

test('/status.json: no caching, nosniff, JSON; an untrusted message is kept verbatim as a JSON string', async (t) => {
  const { base, metrics } = await start(t);
  metrics.event('error_event', { error_type: 'InvalidEventError', message: HOSTILE });
  const res = await fetch(`${base}/status.json`);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('content-security-policy'), null);
  const status = (await res.json()) as {
    job: { name: string; version: string; instance: null };
    errorEvents: { latest: { message: string }[] };
    config: string;
  };
  assert.equal(status.errorEvents.latest[0]?.message, HOSTILE);
  assert.equal(status.job.name, 'job-a');
  assert.equal(status.job.instance, null);
  assert.equal(status.config, 'runtime:\n  metrics_port: 0\n');
  assert.equal(STATUS_PAGE_HTML.includes(HOSTILE), false, 'the page itself carries no data');
});

test('the version is package.json’s', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const manifest = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(packageVersion(), manifest.version);
  const { base } = await start(t);
  assert.equal(
    ((await (await fetch(`${base}/status.json`)).json()) as { job: { version: string } }).job.version,
    manifest.version,
  );
});

test('close() ends open keep-alive connections (a status page holds one) and stops listening', async (t) => {
  const { base, server } = await start(t);
  // fetch keeps its connection alive after the answer.
  await (await fetch(`${base}/status.json`)).text();
  await server.close();
  await assert.rejects(fetch(`${base}/healthz`));
});
