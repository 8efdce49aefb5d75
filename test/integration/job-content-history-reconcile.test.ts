/**
 * The content-history-reconcile job: the same enrichment as page-content-change, run from its own
 * streams and job name. Reconciliation events (kinds edit, move, delete) are enriched into
 * `mediawiki.content_history_reconcile_enriched.v1`; its error events go to its own error stream.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { contentHistoryReconcile } from '../../src/jobs/content-history-reconcile/job.js';
import { runJob } from '../../src/runtime/main.js';
import { BIN, ensureBuilt } from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import {
  assertValidErrorEvent,
  assertValidOutput,
  inputLines,
  jobConfig,
  jobPaths,
  readLines,
  startApi,
  tempDir,
  type Json,
} from '../helpers/job-harness.js';

const JOB = 'mw-content-history-reconcile-enrich';
const INPUT = 'mediawiki.content_history_reconcile.v1';
const OUTPUT = 'mediawiki.content_history_reconcile_enriched.v1';
const ERRORS = `${JOB}.error`;

/** A reconciliation event: page_change-shaped, on the reconcile stream, ingested long ago. */
const reconcile = (kind: 'edit' | 'move' | 'delete', revId: number, pageId: number) =>
  pageChangeEvent({
    page_change_kind: kind,
    changelog_kind: kind === 'delete' ? 'delete' : 'update',
    meta: { stream: INPUT, request_id: `reconcile-${revId}` },
    page: { page_id: pageId, page_title: `Page_${pageId}` },
    revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
  });

test('content-history-reconcile: edits and moves enriched into its stream, deletes passed, its own error stream', async (t) => {
  const api = await startApi(t);
  api.addRevision({ revId: 11, pageId: 1, title: 'Page_1', slots: { main: { content: 'reconciled 11' } } });
  api.addRevision({ revId: 12, pageId: 1, title: 'Page_1', slots: { main: { content: 'reconciled 12' } } });
  const dir = await tempDir(t, 'reconcile-');
  const paths = jobPaths(dir);
  const input = [
    reconcile('edit', 11, 1),
    reconcile('move', 12, 1),
    reconcile('delete', 13, 2),
    reconcile('edit', 99, 3),
  ];
  await writeFile(paths.input, inputLines(input).join('\n') + '\n');
  const config = jobConfig(paths, api.url, {
    stream_manager: {
      job_name: JOB,
      source: { stream: `${INPUT}:1.2.0` },
      sink: { stream: `${OUTPUT}:1.2.0` },
      error_sink: { stream: `${ERRORS}:2.1.0` },
    },
  });

  const { summary, exitCode } = await runJob(contentHistoryReconcile, config, {
    logger: pino({ level: 'silent' }),
    signals: [],
  });

  assert.equal(exitCode, 0);
  assert.deepEqual(summary.reasons, {
    enriched: { edit: 1, move: 1 },
    passed: { delete: 1 },
    dropped: {},
    failed: { MissingRevisionError: 1 },
  });
  const outputs = (await readLines(paths.output)).map((l) => JSON.parse(l) as Json);
  for (const output of outputs) await assertValidOutput(output);
  // In input order within a page; pages may overtake each other, so sorted by revision here.
  const byRevision = [...outputs].sort(
    (a, b) => (a.revision as { rev_id: number }).rev_id - (b.revision as { rev_id: number }).rev_id,
  );
  assert.deepEqual(
    byRevision.map((o) => {
      const meta = o.meta as Json;
      const main = (o.revision as { content_slots: { main: Json } }).content_slots.main;
      return [meta.stream, o.page_change_kind, main.content_body ?? null];
    }),
    [
      [OUTPUT, 'edit', 'reconciled 11'],
      [OUTPUT, 'move', 'reconciled 12'],
      [OUTPUT, 'delete', null],
    ],
  );
  const errors = (await readLines(paths.errors)).map((l) => JSON.parse(l) as Json);
  assert.equal(errors.length, 1);
  await assertValidErrorEvent(errors[0]!);
  assert.deepEqual(
    [
      errors[0]!.error_type,
      (errors[0]!.meta as Json).stream,
      errors[0]!.emitter_id,
      errors[0]!.errored_stream_name,
    ],
    ['MissingRevisionError', ERRORS, JOB, INPUT],
  );
  // Reconciled events are old: the missing revision was asked for once, not retried.
  assert.equal(api.requestedRevIds().filter((id) => id === 99).length, 1);
});

test('the CLI lists both jobs and runs content-history-reconcile by name', async () => {
  await ensureBuilt();
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '--help']);
  assert.match(stdout, /^ {2}page-content-change {3,}mediawiki\.page_change events in/m);
  assert.match(stdout, /^ {2}content-history-reconcile {3,}mediawiki\.content_history_reconcile events in/m);
});
