/**
 * Memory follows `runtime.max_in_flight_bytes`, not the number of records: many large inputs
 * behind a slow Action API do not all sit in memory at once. RSS is sampled from /proc while the
 * CLI runs; the bound is generous (the point is the order of magnitude, not the last megabyte).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { ensureBuilt, parseSummaryLine, spawnCli } from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { jobConfig, jobPaths, readLines, startApi, tempDir, type Json } from '../helpers/job-harness.js';

before(() => ensureBuilt());

const MIB = 1024 * 1024;
const RECORDS = 48;
const COMMENT_BYTES = 8 * MIB;

async function peakRssDuring(pid: number, done: Promise<unknown>): Promise<number> {
  let peak = 0;
  let finished = false;
  void done.finally(() => (finished = true));
  while (!finished) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kb * 1024);
    await new Promise((r) => setTimeout(r, 20));
  }
  return peak;
}

async function run(t: TestContext, maxInFlightBytes: number) {
  const api = await startApi(t, { fallback: { kind: 'serve', delayMs: 1500 } });
  const dir = await tempDir(t, 'memory-');
  const paths = jobPaths(dir);
  const lines: string[] = [];
  for (let i = 1; i <= RECORDS; i++) {
    api.addRevision({ revId: i, pageId: i, title: `Page_${i}`, slots: { main: { content: `text ${i}` } } });
    const event = pageChangeEvent({
      page: { page_id: i, page_title: `Page_${i}` },
      revision: { rev_id: i, content_slots: { main: { origin_rev_id: i } } },
      comment: String.fromCharCode(97 + (i % 26)).repeat(COMMENT_BYTES),
    });
    lines.push(JSON.stringify(event));
  }
  await writeFile(paths.input, lines.join('\n') + '\n');
  const config = join(dir, 'config.json');
  const overrides: Json = { runtime: { max_in_flight: 100, max_in_flight_bytes: maxInFlightBytes } };
  await writeFile(config, JSON.stringify(jobConfig(paths, api.url, overrides)));
  const cli = spawnCli(t, ['page-content-change', '--config', config]);
  const peak = await peakRssDuring(cli.child.pid!, cli.exited);
  const { code } = await cli.exited;
  assert.equal(code, 0, cli.stderr());
  const outputs = (await readLines(paths.output)).map((l) => JSON.parse(l) as Json);
  return { peak, outputs, summary: parseSummaryLine(cli.stderr())?.line };
}

test(`${RECORDS} inputs of 8 MiB behind a slow API: peak RSS stays near the 64 MiB byte budget, every input enriched`, async (t) => {
  const budgetMib = Number(process.env.MEMORY_TEST_BUDGET_MIB ?? 64);
  const { peak, outputs, summary } = await run(t, budgetMib * MIB);
  assert.equal(
    summary,
    `summary: records=${RECORDS} enriched=${RECORDS} passed=0 dropped=0 failed=0 unfinished=0`,
  );
  assert.deepEqual(
    outputs.map((o) => (o.revision as { rev_id: number }).rev_id).sort((a, b) => a - b),
    Array.from({ length: RECORDS }, (_, i) => i + 1),
  );
  for (const o of outputs) assert.equal((o.comment as string).length, COMMENT_BYTES);
  console.log(
    `cli-memory-budget: ${RECORDS} × 8 MiB inputs, max_in_flight_bytes ${budgetMib} MiB: peak RSS ${(peak / MIB).toFixed(0)} MiB`,
  );
  // Without the budget all 48 are in flight at once (measured: see the README).
  assert.ok(peak < 450 * MIB, `peak RSS ${(peak / MIB).toFixed(0)} MiB`);
});
