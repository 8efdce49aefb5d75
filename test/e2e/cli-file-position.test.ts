/**
 * The file source's `position_file`, end to end with the built CLI: a large backfill killed in the
 * middle (SIGKILL: no drain, no last commit) and restarted goes on from the saved position, so every
 * input line has its outcome, none is lost, and the only repeats are the outputs written after the
 * last saved position (at-least-once); a file already done resumes to nothing; a position of
 * another file is refused before anything is written.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import {
  ensureBuilt,
  logLines,
  pageContentChange,
  parseSummaryLine,
  runCli,
  spawnCli,
  writeCliJob,
} from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { readLines, startApi, type Json } from '../helpers/job-harness.js';
import { waitUntil } from '../helpers/wait.js';

before(() => ensureBuilt());

const KEY = 'stream_manager.source.options.position_file';
const FIRST_REV = 100_000;
const PAGES = 50;

const edit = (line: number) =>
  pageChangeEvent({
    page: { page_id: line % PAGES, page_title: `Page_${line % PAGES}` },
    meta: { request_id: `position-${line}` },
    revision: { rev_id: FIRST_REV + line, content_slots: { main: { origin_rev_id: FIRST_REV + line } } },
  });

interface SavedPosition {
  line: number;
  byte: number;
  complete: boolean;
}

async function readPosition(path: string): Promise<SavedPosition | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as SavedPosition;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The input line of each output line of the file, in file order; a line cut short by a kill is left out. */
async function outputLines(path: string): Promise<{ lines: number[]; torn: number }> {
  const text = await readFile(path, 'utf8');
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = whole
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => ((JSON.parse(l) as { revision: Json }).revision.rev_id as number) - FIRST_REV);
  return { lines, torn: text.length - whole.length };
}

/** A config file over `writeCliJob`'s: a position file in `dir`, appending sinks, and `extra`. */
async function positionConfig(
  dir: string,
  extra: Json = {},
): Promise<{ config: string; positionPath: string }> {
  const positionPath = join(dir, 'position.json');
  const config = join(dir, 'position.yaml');
  await writeFile(
    config,
    JSON.stringify({
      stream_manager: {
        source: { options: { position_file: positionPath } },
        sink: { options: { append: true } },
        error_sink: { options: { append: true } },
      },
      ...extra,
    }),
  );
  return { config, positionPath };
}

function counts(lines: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of lines) out.set(line, (out.get(line) ?? 0) + 1);
  return out;
}

describe('file source with position_file', () => {
  test(
    'killed in the middle of 20,000 events and restarted: every line has its outcome, the repeats are only what followed the saved position',
    { timeout: 300_000 },
    async (t) => {
      const TOTAL = 20_000;
      const MAX_IN_FLIGHT = 200;
      const SLOW_EVERY = 1000;
      const STUCK_LINE = 5250;
      // A little latency, now and then a slow answer, and in run 1 one that never comes: records
      // still in flight hold the committed position back while later ones finish, as in a real
      // backfill, and the saved position must never pass them.
      const slow = (revId: number) => (revId - FIRST_REV) % SLOW_EVERY === SLOW_EVERY / 2;
      let stuck = true;
      const api = await startApi(t, {
        fallback: (request) =>
          stuck && request.revIds.includes(FIRST_REV + STUCK_LINE)
            ? { kind: 'hang' }
            : { kind: 'serve', delayMs: request.revIds.some(slow) ? 300 : 5 },
      });
      const events: Json[] = [];
      for (let line = 0; line < TOTAL; line++) {
        const page = line % PAGES;
        api.addRevision({
          revId: FIRST_REV + line,
          pageId: page,
          title: `Page_${page}`,
          slots: { main: { content: `text ${line}` } },
        });
        events.push(edit(line));
      }
      const setup = await writeCliJob(t, events, api.url, {}, 'cli-position-');
      const { dir, paths } = setup;
      const { config, positionPath } = await positionConfig(dir, {
        enrich: { batch_size: 20, batch_linger_ms: 2 },
        runtime: { log_level: 'info', max_in_flight: MAX_IN_FLIGHT, commit_interval_ms: 100 },
      });
      const args = pageContentChange(setup.config, config);

      // Run 1, killed once the saved position shows a quarter done and the request that hangs is
      // out, and a few commit intervals later (time for a wrong position to pass the stuck line).
      const first = spawnCli(t, args, { label: 'mw-enrich (run 1)' });
      await waitUntil(
        'the position file to pass line 5000, and the request that hangs',
        async () =>
          ((await readPosition(positionPath))?.line ?? 0) >= 5000 &&
          api.requestedRevIds().includes(FIRST_REV + STUCK_LINE),
        { timeoutMs: 200_000, intervalMs: 20, watch: [first] },
      );
      await sleep(300);
      const exit = await first.kill();
      stuck = false;
      assert.equal(exit.signal, 'SIGKILL');
      const saved = (await readPosition(positionPath))!;
      const run1 = await outputLines(paths.output);
      assert.equal(saved.complete, false);
      assert.ok(saved.line <= STUCK_LINE, `the position (${saved.line}) did not pass the stuck line`);
      assert.ok(
        saved.line < TOTAL && run1.lines.length < TOTAL,
        `killed in the middle: ${run1.lines.length} outputs`,
      );
      const input = await readFile(paths.input);
      assert.equal(input.subarray(0, saved.byte).toString().split('\n').length - 1, saved.line);
      assert.equal(input[saved.byte - 1], 0x0a, 'the saved byte is where the saved line begins');

      // Run 2 goes on from the saved position to the end.
      const second = await runCli(t, args);
      assert.equal(second.code, 0, second.stderr);
      const resumed = logLines(second.stderr).find((l) => l.message === 'resuming from the saved position');
      assert.deepEqual(
        resumed && { line: resumed.line, byte: resumed.byte },
        { line: saved.line, byte: saved.byte },
        'run 2 logs where it resumes',
      );
      const summary = parseSummaryLine(second.stderr)!;
      assert.equal(
        summary.counts.records,
        TOTAL - saved.line,
        'run 2 reads exactly the lines after the position',
      );
      assert.equal(summary.counts.enriched, TOTAL - saved.line);
      assert.deepEqual(await readLines(paths.errors), [], 'no error events');

      const all = await outputLines(paths.output);
      assert.equal(all.torn, 0, 'every output line is whole');
      // Run 1's outputs come first in the file (a line it left cut short was removed), then run 2's.
      assert.deepEqual(all.lines.slice(0, run1.lines.length), run1.lines);
      const run2 = all.lines.slice(run1.lines.length);
      assert.deepEqual(
        [...run2].sort((a, b) => a - b),
        Array.from({ length: TOTAL - saved.line }, (_, i) => saved.line + i),
        'run 2: every line from the saved position on, once',
      );
      const once1 = counts(run1.lines);
      assert.ok(
        [...once1.values()].every((n) => n === 1),
        'run 1 wrote no line twice',
      );
      for (let line = 0; line < saved.line; line++) {
        assert.equal(once1.get(line), 1, `line ${line}, before the saved position, was done by run 1`);
      }
      // None lost: every line has an outcome; the repeats are run 1's outputs past the saved position.
      const total = counts(all.lines);
      assert.equal(total.size, TOTAL, 'no line lost');
      const repeated = [...total].filter(([, n]) => n > 1).map(([line]) => line);
      const pastPosition = run1.lines.filter((line) => line >= saved.line);
      assert.deepEqual(
        repeated.sort((a, b) => a - b),
        [...pastPosition].sort((a, b) => a - b),
      );
      assert.ok([...total.values()].every((n) => n <= 2));

      // The bound. Outputs are per key in input order, so a record whose key (page) has one in the
      // request that hangs cannot finish: past the position, those keys' records only pile up in
      // flight until they fill the window, and the repeats are what the other keys finished meanwhile.
      const hanging = api.requests.find((r) => r.behaviour === 'hang')!.revIds.map((id) => id - FIRST_REV);
      const blockedKeys = new Set(hanging.map((line) => line % PAGES));
      assert.ok(hanging.includes(STUCK_LINE) && saved.line <= Math.min(...hanging));
      assert.deepEqual(
        repeated.filter((line) => blockedKeys.has(line % PAGES) && line >= Math.min(...hanging)),
        [],
        'no record behind the hanging request on its key was written',
      );
      // Every line up to the last one written that has no output was in flight at the kill.
      const lastWritten = Math.max(...run1.lines);
      const unfinished = lastWritten - saved.line + 1 - pastPosition.length;
      assert.ok(unfinished <= MAX_IN_FLIGHT, `${unfinished} in flight at the kill, over max_in_flight`);
      // At most max_in_flight records of the blocked keys past the position fit in the window: the
      // repeats are bounded by the other keys' lines read until then.
      let bound = 0;
      for (let line = saved.line, blocked = 0; line < TOTAL && blocked <= MAX_IN_FLIGHT; line++) {
        if (blockedKeys.has(line % PAGES)) blocked++;
        else bound++;
      }
      console.log(
        `killed after ${run1.lines.length} outputs (${run1.torn} bytes of a cut line removed), position at line ${saved.line}, ` +
          `${hanging.length} lines in the hanging request: ${repeated.length} repeats (bound ${bound}), ` +
          `${unfinished} in flight at the kill (max_in_flight ${MAX_IN_FLIGHT}); ${TOTAL + repeated.length} outputs for ${TOTAL} lines`,
      );
      assert.ok(repeated.length <= bound, `${repeated.length} repeats, over the bound ${bound}`);

      const done = (await readPosition(positionPath))!;
      assert.deepEqual(
        { line: done.line, byte: done.byte, complete: done.complete },
        { line: TOTAL, byte: input.length, complete: true },
      );

      // Run 3: the file is done; it reads nothing, says so, and exits 0 with the outputs as they were.
      const before3 = await readFile(paths.output, 'utf8');
      const third = await runCli(t, args);
      assert.equal(third.code, 0, third.stderr);
      assert.ok(
        logLines(third.stderr).some(
          (l) => l.message === 'the input was already read to its end: nothing to read',
        ),
        third.stderr,
      );
      assert.equal(parseSummaryLine(third.stderr)?.counts.records, 0);
      assert.equal(await readFile(paths.output, 'utf8'), before3);
      assert.equal(third.stderr.includes('"message":"resuming'), false);
    },
  );

  test(
    'stopped by SIGTERM and restarted: the drain commits, so nothing is repeated',
    { timeout: 120_000 },
    async (t) => {
      const TOTAL = 3000;
      const api = await startApi(t, { fallback: { kind: 'serve', delayMs: 20 } });
      const events: Json[] = [];
      for (let line = 0; line < TOTAL; line++) {
        api.addRevision({
          revId: FIRST_REV + line,
          pageId: line % PAGES,
          title: `Page_${line % PAGES}`,
          slots: { main: { content: `text ${line}` } },
        });
        events.push(edit(line));
      }
      const setup = await writeCliJob(t, events, api.url, {}, 'cli-position-');
      const { config, positionPath } = await positionConfig(setup.dir, {
        enrich: { batch_size: 5, batch_linger_ms: 2 },
        runtime: { max_in_flight: 100, commit_interval_ms: 100 },
      });
      const args = pageContentChange(setup.config, config);
      const first = spawnCli(t, args, { label: 'mw-enrich (run 1)' });
      await waitUntil('300 outputs', async () => (await readLines(setup.paths.output)).length >= 300, {
        timeoutMs: 100_000,
        intervalMs: 20,
        watch: [first],
      });
      const { code, signal } = await first.stop();
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, first.stderr());
      const read1 = parseSummaryLine(first.stderr())!.counts.records!;
      const saved = (await readPosition(positionPath))!;
      assert.ok(read1 < TOTAL, `stopped in the middle: ${read1} of ${TOTAL} read`);
      assert.equal(saved.line, read1, 'the position is the next line after the last one read, all done');

      const second = await runCli(t, args);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(parseSummaryLine(second.stderr)?.counts.records, TOTAL - read1);
      const { lines } = await outputLines(setup.paths.output);
      assert.deepEqual(
        lines.toSorted((a, b) => a - b),
        Array.from({ length: TOTAL }, (_, i) => i),
        'every line once',
      );
    },
  );

  test('a position file of another input is refused: exit 2 naming the key, nothing written', async (t) => {
    const api = await startApi(t);
    for (const line of [0, 1, 2]) {
      api.addRevision({
        revId: FIRST_REV + line,
        pageId: line,
        title: `Page_${line}`,
        slots: { main: { content: 'x' } },
      });
    }
    const { dir, paths, config } = await writeCliJob(t, [edit(0), edit(1)], api.url, {}, 'cli-position-');
    const { config: position, positionPath } = await positionConfig(dir);
    const done = await runCli(t, pageContentChange(config, position));
    assert.equal(done.code, 0, done.stderr);
    assert.equal((await readPosition(positionPath))?.complete, true);
    const outputs = await readFile(paths.output, 'utf8');
    const savedText = await readFile(positionPath, 'utf8');
    const requests = api.requests.length;

    // Another backfill in the same place, with the old position file left behind.
    await writeFile(paths.input, `${[edit(2), edit(0), edit(1)].map((e) => JSON.stringify(e)).join('\n')}\n`);
    const refused = await runCli(t, pageContentChange(config, position));
    assert.equal(refused.code, 2, refused.stderr);
    const line = refused.stderr.split('\n').find((l) => l.startsWith('configuration error: '));
    assert.ok(line !== undefined && line.startsWith(`configuration error: ${KEY}: `), refused.stderr);
    assert.match(
      line,
      /is the position of another input: it was saved for .*page-change\.ndjson \(\d+ bytes\), and .* is \d+ bytes\. Remove it to read/,
    );
    assert.equal(api.requests.length, requests, 'no request');
    assert.equal(await readFile(paths.output, 'utf8'), outputs, 'the outputs are untouched');
    assert.equal(await readFile(positionPath, 'utf8'), savedText, 'the position is untouched');

    // --check says the same.
    const check = await runCli(t, [...pageContentChange(config, position), '--check']);
    assert.equal(check.code, 2, check.stderr);
    assert.match(
      check.stderr,
      new RegExp(`configuration error: ${KEY.replaceAll('.', '\\.')}: .*is the position of another input`),
    );
  });
});
