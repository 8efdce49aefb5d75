/**
 * The status page in a real browser (headless Chromium): first against an ops server in this
 * process fed with hostile texts (they must show as text and run nothing) and taken away and back
 * (the page must say so and recover); then on the service itself, the built CLI on a real broker,
 * with a known mix of inputs: the page must show what happened, refreshing by itself, and talk to
 * nothing but its own origin. The last view is saved to test-artifacts/status-page.png.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { freePort } from '../helpers/ports.js';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { PrometheusMetrics } from '../../src/runtime/metrics.js';
import { startOpsServer, type OpsServer } from '../../src/runtime/ops-server.js';
import { Readiness } from '../../src/runtime/readiness.js';
import { launchChromium, watchPage } from '../helpers/browser.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { e2eRun, JOB_NAME } from '../helpers/kafka-e2e.js';
import { addRevisions, editEvent, messageKey, pageChanges, type Input } from '../helpers/kafka-e2e-inputs.js';
import { waitUntil } from '../helpers/wait.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const SCREENSHOT = join(REPO_ROOT, 'test-artifacts', 'status-page.png');

/** The text of the first element `selector` matches ('' when there is none). */
async function textOf(page: Page, selector: string): Promise<string> {
  const found = page.locator(selector).first();
  return (await found.count()) === 0 ? '' : ((await found.textContent()) ?? '');
}

/** Waits until the page shows `expected` in `selector` (the page refreshes itself; no reload here). */
async function waitForText(page: Page, selector: string, expected: string | RegExp, timeoutMs = 30_000) {
  let last = '';
  await waitUntil(
    `${selector} to show ${String(expected)}`,
    async () => {
      last = await textOf(page, selector);
      return typeof expected === 'string' ? last === expected : expected.test(last);
    },
    { timeoutMs, intervalMs: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nlast shown: ${JSON.stringify(last)}`);
  });
}

/** The cells' texts of the rows `selector` matches. */
function tableRows(page: Page, selector: string): Promise<string[][]> {
  return page
    .locator(selector)
    .evaluateAll((rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
}

describe('the status page in a browser', { timeout: 300_000 }, () => {
  it('shows hostile texts as text and runs nothing; says when an update fails and recovers', async (t) => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false });
    const readiness = new Readiness();
    readiness.markRunning();
    readiness.wait('kafka source', HOSTILE);
    metrics.count('outcomes', { outcome: 'failed', page_change_kind: 'unknown' }, 1);
    metrics.count('error_events', { error_type: 'InvalidEventError' }, 1);
    metrics.event('error_event', {
      error_type: 'InvalidEventError',
      message: HOSTILE,
      page_change_kind: 'unknown',
      partition: `${HOSTILE}/0`,
      offset: 5,
    });
    metrics.event('rebalance', { kind: 'assign', partitions: HOSTILE });
    metrics.gauge('kafka_consumer_lag_records', 0, { topic: HOSTILE, partition: 0 });
    const options = {
      host: '127.0.0.1',
      metrics,
      readiness,
      info: {
        jobName: `job ${HOSTILE}`,
        instanceId: HOSTILE,
        startedAt: Date.now(),
        source: 'kafka:in',
        sink: 'kafka:out',
        errorSink: 'kafka:err',
        config: { enrich: { user_agent: HOSTILE } },
      },
    };
    let server: OpsServer = await startOpsServer({ ...options, port: 0 });
    t.after(() => server.close());
    const origin = `http://127.0.0.1:${server.port}`;
    const browser = await launchChromium(t);
    const page = await browser.newPage();
    const watch = watchPage(page, origin);
    await page.goto(`${origin}/`);

    await waitForText(page, '#errors td.msg', HOSTILE);
    assert.equal(await textOf(page, '#job'), `job ${HOSTILE}`);
    assert.equal(await textOf(page, '#instance'), HOSTILE);
    assert.equal(await textOf(page, '#reasons'), `kafka source: ${HOSTILE}`);
    assert.equal(await textOf(page, '#ready'), 'not ready');
    assert.equal(await textOf(page, '#rebalances td.msg'), HOSTILE);
    assert.equal(await textOf(page, '#partitions td.mono'), HOSTILE);
    assert.match(
      await textOf(page, '#config'),
      /^enrich:\n {2}user_agent: <img src=x onerror=alert\(1\)>\n$/,
    );
    assert.equal(await page.locator('img').count(), 0, 'no element was made from the texts');
    assert.deepEqual(watch.problems(), []);

    // The server goes away: the page says the update failed and keeps the last data.
    const port = server.port;
    await server.close();
    await waitForText(page, '#conn', /^update failed .*: showing \d\d:\d\d:\d\d UTC$/);
    assert.equal(await textOf(page, '#errors td.msg'), HOSTILE, 'the last data stays');
    assert.deepEqual(
      watch.consoleErrors.filter((e) => !e.includes('net::ERR_CONNECTION_REFUSED')),
      [],
      'the only console errors are the refused fetches',
    );
    // It comes back with new counts: the page picks them up by itself.
    metrics.count('outcomes', { outcome: 'failed', page_change_kind: 'unknown' }, 41);
    server = await startOpsServer({ ...options, port });
    await waitForText(page, '#outcomes tr[data-key="failed"] td:nth-child(2)', '42');
    await waitForText(page, '#conn', /^live/);
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(watch.dialogs, []);
    assert.deepEqual(watch.pageErrors, []);
  });

  it('on the running service (Kafka in and out): counts, error events, partitions and readiness as they are, refreshed by itself', async (t) => {
    const run = await e2eRun(t, 'status-page', {
      partitions: { input: 3 },
      api: { seed: 31, minMs: 1, maxMs: 5 },
    });
    const port = await freePort();
    const config = await run.config({
      instanceId: 'status-page-0',
      runtime: { metrics_port: port, commit_interval_ms: 200 },
    });
    const service = run.start(config);
    const origin = `http://127.0.0.1:${port}`;
    await waitUntil(
      'the ops server',
      async () => (await fetch(`${origin}/healthz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 60_000, watch: [service] },
    );

    const browser = await launchChromium(t);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const watch = watchPage(page, origin);
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
    await page.goto(`${origin}/`);
    await waitForText(page, '#job', JOB_NAME);
    assert.equal(await textOf(page, '#instance'), 'status-page-0');
    await waitForText(page, '#ready', 'ready');
    // Nothing produced yet.
    assert.equal(await textOf(page, '#outcomes tr[data-key="total"] td:nth-child(2)'), '0');
    const firstUpdate = await textOf(page, '#updated');

    // A known mix: 24 enriched, 3 passed (deletes), 2 dropped (canaries), 3 failed (a line that is not
    // JSON and looks like HTML, two revisions the API does not have).
    const edits = pageChanges(26, { pages: 9, seed: 32 });
    const missing = new Set([edits[5]!.revId, edits[17]!.revId]);
    const deletes = [1, 2, 3].map((i) =>
      editEvent(`e2e-delete-${i}`, 20 + i, 5000 + i, {
        page_change_kind: 'delete',
        changelog_kind: 'delete',
      }),
    );
    const canaries = [1, 2].map((i) =>
      editEvent(`e2e-canary-${i}`, 30 + i, 6000 + i, { meta: { domain: 'canary' } }),
    );
    const notJson: Input = {
      id: 'e2e-not-json',
      pageId: 40,
      revId: 0,
      key: messageKey(40),
      value: `${HOSTILE} e2e-not-json`,
      dtMs: 0,
    };
    const inputs = [...edits.slice(0, 10), notJson, ...deletes, ...edits.slice(10), ...canaries];
    addRevisions(run.api, inputs, { missing });
    const { ends } = await run.produce(inputs);

    const outcome = (name: string) => `#outcomes tr[data-key="${name}"] td:nth-child(2)`;
    await waitForText(page, outcome('total'), String(inputs.length), 120_000);
    assert.equal(await textOf(page, outcome('enriched')), '24');
    assert.equal(await textOf(page, outcome('passed')), '3');
    assert.equal(await textOf(page, outcome('dropped')), '2');
    assert.equal(await textOf(page, outcome('failed')), '3');
    assert.notEqual(await textOf(page, '#updated'), firstUpdate, 'the updated time moved on');
    assert.equal(navigations, 1, 'no reload: the page refreshed itself');

    // By page_change_kind: the not-JSON line has none.
    const kind = (name: string, column: number) => `#kinds tr[data-key="${name}"] td:nth-child(${column})`;
    await waitForText(page, kind('delete', 3), '3');
    assert.equal(await textOf(page, kind('unknown', 5)), '1');

    // Error events: counts by type, and the latest with type and message.
    await waitForText(page, '#error-types tr[data-key="MissingRevisionError"] td:nth-child(2)', '2');
    assert.equal(await textOf(page, '#error-types tr[data-key="InvalidEventError"] td:nth-child(2)'), '1');
    const errorRows = await tableRows(page, '#errors tr');
    assert.deepEqual(errorRows.map((cells) => cells[1]).sort(), [
      'InvalidEventError',
      'MissingRevisionError',
      'MissingRevisionError',
    ]);
    const invalid = errorRows.find((cells) => cells[1] === 'InvalidEventError')!;
    assert.match(invalid[5]!, /^input is not JSON: .*"<img src=x/, 'the message, as text');
    assert.equal(await page.locator('img').count(), 0);

    // Partitions: committed to the end, lag 0, once the service has committed everything.
    await waitUntil('the group to commit the whole input', () => run.offsets.reached(ends), {
      timeoutMs: 120_000,
      intervalMs: 300,
      watch: [service],
    });
    // The page shows each gauge as the service last read it (the high watermark comes with the
    // consumer's statistics, a little after the commit): wait for the whole table to settle.
    const expected = [...ends].map(([partition, end]) => [
      partition.slice(0, partition.lastIndexOf('/')),
      partition.slice(partition.lastIndexOf('/') + 1),
      String(end),
      String(end),
      '0',
      '0.0 s',
    ]);
    let shown: string[][] = [];
    await waitUntil(
      'the partitions table: committed = high watermark = end, lag 0',
      async () => {
        shown = await tableRows(page, '#partitions tr');
        return JSON.stringify(shown) === JSON.stringify(expected);
      },
      { timeoutMs: 60_000, intervalMs: 300, watch: [service] },
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nexpected: ${JSON.stringify(expected)}\nshown: ${JSON.stringify(shown)}`,
      );
    });
    assert.equal(await textOf(page, '#records-read'), String(inputs.length));
    // Idle once the inputs are done: the window is open to runtime.max_in_flight (1,000 by default).
    await waitForText(page, '#in-flight-limit', '1,000');
    assert.equal(await textOf(page, '#ready'), 'ready');
    assert.match(await textOf(page, '#config'), new RegExp(`metrics_port: ${port}\\n`));

    await mkdir(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`status page screenshot: ${relative(REPO_ROOT, SCREENSHOT)}`);

    assert.deepEqual(watch.problems(), [], 'no console errors, no request elsewhere');
    assert.ok(
      watch.requests.every((url) => ['/', '/status.json'].includes(new URL(url).pathname)),
      watch.requests.join('\n'),
    );

    // The service stops: the page says its updates fail and keeps the last counts.
    await run.finish(service, ends, 60_000);
    await waitForText(page, '#conn', /^update failed /);
    assert.equal(await textOf(page, outcome('total')), String(inputs.length));
  });
});
