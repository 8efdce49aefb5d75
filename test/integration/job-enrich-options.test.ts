/**
 * `enrich` options taken over from eventutilities-python's configs: `max_content_size` (content above
 * it is an error event, the output is not built) and `ssl_ca_bundle_path` (the CAs trusted for HTTPS
 * to the Action API), against a real TLS server with a certificate made for the test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError } from '../../src/core/errors.js';
import { pageChangeEvent } from '../helpers/events.js';
import { assertValidErrorEvent, outcomeCounts, runJob, startApi, tempDir } from '../helpers/job-harness.js';

const edit = (revId: number, pageId = 1) =>
  pageChangeEvent({
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

test('max_content_size: larger content is a ContentTooLargeError error event; smaller content is enriched', async (t) => {
  const api = await startApi(t);
  api.addRevision({ revId: 1, pageId: 1, title: 'Page_1', slots: { main: { content: 'é'.repeat(600) } } });
  api.addRevision({ revId: 2, pageId: 2, title: 'Page_2', slots: { main: { content: 'small' } } });
  const run = await runJob(t, api, [edit(1, 1), edit(2, 2)], { enrich: { max_content_size: 1000 } });
  assert.deepEqual(outcomeCounts(run.summary), {
    records: 2,
    enriched: 1,
    passed: 0,
    dropped: 0,
    failed: 1,
    unfinished: 0,
    errors: { ContentTooLargeError: 1 },
  });
  const [error] = run.errors;
  await assertValidErrorEvent(error!);
  // 600 two-byte characters: 1,200 bytes, counted as UTF-8, not as characters.
  assert.match(
    String(error!.message),
    /revision 1 has 1200 bytes of content, over enrich\.max_content_size \(1000\)/,
  );
  assert.equal(error!.raw_event, run.lines[0]);
  assert.deepEqual(
    run.outputs.map((o) => (o.revision as { rev_id: number }).rev_id),
    [2],
  );
});

/**
 * A TLS Action API on 127.0.0.1 with a self-signed certificate; returns its URL and the PEM. The
 * endpoint is fixed, so the wiki goes in the Host header, which undici also sends as the TLS server
 * name: the certificate names the wiki too, as a TLS proxy in front of wikis would.
 */
async function tlsApi(t: TestContext): Promise<{ url: string; certPath: string }> {
  const dir = await tempDir(t, 'tls-');
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:en.wikipedia.org',
  ]);
  const answer = JSON.stringify({
    batchcomplete: true,
    query: {
      pages: [
        {
          pageid: 1,
          title: 'Page_1',
          revisions: [
            {
              revid: 5,
              slots: {
                main: { contentmodel: 'wikitext', contentformat: 'text/x-wiki', content: 'over TLS' },
              },
            },
          ],
        },
      ],
    },
  });
  const server = createServer({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/w/api.php`, certPath: cert };
}

test('ssl_ca_bundle_path: the API is trusted through the given CA bundle, and not without it', async (t) => {
  const { url, certPath } = await tlsApi(t);
  const api = await startApi(t);
  const overrides = { enrich: { mediawiki_api_endpoint_template: url, retry: { max_retries: 0 } } };

  const trusted = await runJob(t, api, [edit(5)], {
    enrich: { ...overrides.enrich, ssl_ca_bundle_path: certPath },
  });
  assert.equal(trusted.summary.outcomes.enriched, 1, JSON.stringify(trusted.errors.map((e) => e.message)));
  const main = (trusted.outputs[0]!.revision as { content_slots: { main: { content_body: string } } })
    .content_slots.main;
  assert.equal(main.content_body, 'over TLS');

  const untrusted = await runJob(t, api, [edit(5)], overrides);
  assert.deepEqual(
    untrusted.errors.map((e) => e.error_type),
    ['ConnectionError'],
  );
  assert.match(String(untrusted.errors[0]!.message), /self[- ]signed/i);
});

test('ssl_ca_bundle_path naming a missing file or a file without certificates is a configuration error', async (t) => {
  const api = await startApi(t);
  const dir = await tempDir(t, 'tls-');
  for (const [path, message] of [
    [join(dir, 'missing.pem'), /cannot read/],
    [__filename_of(import.meta.url), /holds no PEM certificate/],
  ] as const) {
    await assert.rejects(
      runJob(t, api, [edit(5)], { enrich: { ssl_ca_bundle_path: path } }),
      (err: unknown) =>
        err instanceof ConfigError && err.key === 'enrich.ssl_ca_bundle_path' && message.test(err.message),
    );
  }
});

function __filename_of(url: string): string {
  return new URL(url).pathname;
}
