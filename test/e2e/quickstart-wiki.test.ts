/**
 * The README's main command, `npm run demo` (scripts/quickstart-wiki.sh): a fresh local MediaWiki,
 * the service reading its recent changes while edits, a move, a delete, an undelete and a revision
 * deletion are made, and the enriched events printed. It must exit 0, print one line per event in
 * each page's order with the wiki's text, and leave no wiki or service running.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureBuilt, parseSummaryLine, REPO_ROOT, runCommand } from '../helpers/cli.js';
import { readLines, type Json } from '../helpers/job-harness.js';

before(() => ensureBuilt());

test(
  'npm run demo: a real wiki changed, its recent changes enriched, the events printed',
  { timeout: 600_000 },
  async (t) => {
    // The script installs npm dependencies when node_modules is older than package-lock.json: doing
    // that under a running test would replace the node_modules the tests are using.
    const installed = join(REPO_ROOT, 'node_modules', '.package-lock.json');
    if (
      !existsSync(installed) ||
      statSync(join(REPO_ROOT, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs
    ) {
      t.skip('npm dependencies are not installed on this checkout (npm test installs them first)');
      return;
    }
    const { code, stdout, stderr } = await runCommand(t, ['npm', 'run', '--silent', 'demo']);
    const output = `${stdout}\n${stderr}`;
    assert.equal(code, 0, output);
    assert.equal(
      parseSummaryLine(output)?.line,
      'summary: records=9 enriched=7 passed=2 dropped=0 failed=0 unfinished=0',
      output,
    );
    assert.match(
      output,
      /outputs: 9 in out\/wiki-page-content-change\.ndjson, error events: 0 in out\/wiki-errors\.ndjson/,
    );

    // The printed lines: kind, page, revision, content (outputs leave in order per page).
    const printed = stdout
      .split('\n')
      .filter((l) => /^ {2}(create|edit|move|delete|undelete|visibility_change) +\S+ +rev \d+/.test(l))
      .map((l) => l.trim().split(/ +/).slice(0, 2).join(' '));
    const byPage = (title: string) =>
      printed.filter((l) => l.endsWith(` ${title}`)).map((l) => l.split(' ')[0]);
    assert.equal(printed.length, 9, output);
    assert.deepEqual(byPage('Sandbox'), ['create', 'edit', 'edit', 'visibility_change']);
    assert.deepEqual(byPage('Old_name'), ['create']);
    assert.deepEqual(byPage('New_name'), ['move']);
    assert.deepEqual(byPage('Short-lived'), ['create', 'delete', 'undelete']);
    assert.match(stdout, /undelete +Short-lived +rev \d+ +"This page will be deleted, then restored\."/);
    assert.match(stdout, /visibility_change +Sandbox +rev \d+ +\(hidden: no content\)/);

    // The file holds the events themselves, each with the wiki's domain and its text.
    const events = (await readLines(join(REPO_ROOT, 'out', 'wiki-page-content-change.ndjson'))).map(
      (l) => JSON.parse(l) as Json,
    );
    assert.equal(events.length, 9);
    for (const event of events) {
      assert.equal((event.meta as Json).domain, 'wiki.quickstart.test');
      assert.equal((event.meta as Json).stream, 'mediawiki.page_content_change.v1');
    }
    const move = events.find((e) => e.page_change_kind === 'move')!;
    assert.deepEqual(move.prior_state, { page: { page_title: 'Old_name' } });
    assert.equal(
      ((move.revision as Json).content_slots as Record<string, Json>).main!.content_body,
      'A page about to be moved.',
    );
  },
);
