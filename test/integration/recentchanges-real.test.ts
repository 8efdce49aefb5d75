/**
 * `connector: mediawiki_recentchanges` against a real MediaWiki (Debian's 1.39, SQLite, `php -S`,
 * started by scripts/mediawiki.sh and named wiki.local.test through $wgServer, mapped back with
 * http_client_routes):
 *
 * - every action (create, edit, move, delete, undelete, revision deletion) made while the source
 *   polls becomes a page_change event of its kind, valid against the shared 1.2.0 schema, in the
 *   order of the wiki's recent changes; the whole job (source → enrichment with the wiki's own
 *   api.php → file sink) emits one output per event, with the wiki's text as content;
 * - stopped during a poll and between polls, and restarted, the job neither skips nor repeats;
 * - a row the wiki writes behind rows already read is still emitted, once.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Validator, type Validate } from '../../src/core/validator.js';
import { runPageContentChangeJob } from '../../src/runtime/main.js';
import type { Pipeline } from '../../src/runtime/pipeline.js';
import { readLines, tempDir, type Json } from '../helpers/job-harness.js';
import { startWiki, type RealWiki, type SeededPage, type WikiSession } from '../helpers/mediawiki-real.js';
import {
  hideRevision,
  movePage,
  nameWiki,
  putRowBack,
  readSource,
  recentChangesJobConfig,
  RC_WIKI_DOMAIN,
  undeletePage,
  withholdRow,
  type NamedWiki,
  type RcPaths,
} from '../helpers/recentchanges-wiki.js';
import { sharedSchemaRepository } from '../helpers/schemas.js';
import { waitUntil } from '../helpers/wait.js';

const TIMEOUT_MS = 60_000;

interface RunningJob {
  readonly paths: RcPaths;
  outputs(): Promise<Json[]>;
  errors(): Promise<Json[]>;
  /** Stops the pipeline (drain, commit, save the position) and waits for the run to end. */
  stop(): Promise<{ exitCode: number }>;
}

/** The whole job in this process, running until `stop()`. */
async function startJob(site: NamedWiki, paths: RcPaths, sourceOptions: Json = {}): Promise<RunningJob> {
  let pipeline: Pipeline | undefined;
  const run = runPageContentChangeJob(recentChangesJobConfig(site, paths, sourceOptions), {
    logger: pino({ level: 'silent' }),
    signals: [],
    onStart: (p) => (pipeline = p),
  });
  await waitUntil('the job to start', () => pipeline !== undefined, {
    timeoutMs: TIMEOUT_MS,
    intervalMs: 20,
  });
  const parse = async (path: string) => (await readLines(path)).map((l) => JSON.parse(l) as Json);
  return {
    paths,
    outputs: () => parse(paths.output),
    errors: () => parse(paths.errors),
    async stop() {
      pipeline!.stop();
      return run;
    },
  };
}

async function jobPaths(t: TestContext): Promise<RcPaths> {
  const dir = await tempDir(t, 'rc-real-');
  return {
    output: join(dir, 'out', 'content.ndjson'),
    errors: join(dir, 'out', 'errors.ndjson'),
    position: join(dir, 'position.json'),
  };
}

const kindOf = (e: Json) => String(e.page_change_kind);
const revOf = (e: Json) => (e.revision as Json).rev_id as number;
const titleOf = (e: Json) => String((e.page as Json).page_title);
const bodyOf = (e: Json) =>
  (((e.revision as Json).content_slots as Record<string, Json> | undefined)?.main?.content_body ??
    undefined) as string | undefined;
const summary = (e: Json) => `${kindOf(e)} ${titleOf(e)} r${revOf(e)}`;

/** Per page (by id), the outputs' summaries in the order they were written. */
function perPage(events: readonly Json[]): Map<number, string[]> {
  const pages = new Map<number, string[]>();
  for (const e of events) {
    const id = (e.page as Json).page_id as number;
    pages.set(id, [...(pages.get(id) ?? []), summary(e)]);
  }
  return pages;
}

describe('mediawiki_recentchanges against a real MediaWiki', { timeout: 600_000 }, () => {
  let wiki: RealWiki;
  let site: NamedWiki;
  let bot: WikiSession;
  let validate: Validate;
  let wikiId: string;

  before(async () => {
    wiki = await startWiki();
    site = await nameWiki(wiki);
    bot = await wiki.login();
    validate = await new Validator(sharedSchemaRepository()).forSchema('/mediawiki/page/change/1.2.0');
    const general = ((await bot.get({ action: 'query', meta: 'siteinfo', siprop: 'general' })).query as Json)
      .general as Json;
    wikiId = String(general.wikiid);
    assert.equal(general.servername, RC_WIKI_DOMAIN);
  });

  after(async () => {
    await wiki?.stop();
  });

  it('every action becomes a valid event of its kind, in order; the job enriches each with the wiki text', async (t) => {
    // `since: now` starts at the wiki's current second and takes that second's rows too (its
    // timestamps have no finer grain): the install's own rows (Main Page's creation) must be older.
    await sleep(1100);
    const reader = readSource(site, { since: 'now' });
    t.after(() => reader.stop());
    const job = await startJob(site, await jobPaths(t), { since: 'now' });
    t.after(() => job.stop());
    const both = async (what: string, count: number) => {
      await waitUntil(`${what}: ${count} events from the source`, () => reader.records.length >= count, {
        timeoutMs: TIMEOUT_MS,
      });
      await waitUntil(
        `${what}: ${count} outputs from the job`,
        async () => (await job.outputs()).length >= count,
        {
          timeoutMs: TIMEOUT_MS,
        },
      );
    };

    const text = new Map<number, string>();
    const save = async (title: string, body: string): Promise<SeededPage> => {
      const page = await bot.edit({ title, text: body });
      text.set(page.revId, body);
      return page;
    };
    const a1 = await save('RC Alpha', "Alpha, first: ünïcödé ✓ — '''bold''' & <b>tags</b>");
    const a2 = await save('RC Alpha', 'Alpha, second version');
    const b1 = await save('RC Beta', 'Beta, first version (its text will be hidden)');
    await movePage(bot, 'RC Alpha', 'RC Alpha moved');
    const d1 = await save('RC Doomed', 'Doomed, first version');
    const d2 = await save('RC Doomed', 'Doomed, second version');
    // A deletion's row names no revision: the source names the latest one it read before.
    await both('before the deletion', 6);
    await bot.deletePage('RC Doomed');
    await undeletePage(bot, 'RC Doomed');
    const b2 = await save('RC Beta', 'Beta, second version');
    // The hidden revision's create was enriched before its text was hidden.
    await both('before the revision deletions', 9);
    await hideRevision(bot, 'RC Beta', b1.revId, ['content']);
    await hideRevision(bot, 'RC Alpha moved', a1.revId, ['comment', 'user']);
    await both('after the revision deletions', 11);
    await sleep(1000);

    // The source: kinds, pages and revisions in the wiki's order, each event valid.
    const events = reader.events();
    const moveRev = revOf(events[3]!);
    assert.deepEqual(events.map(summary), [
      `create RC_Alpha r${a1.revId}`,
      `edit RC_Alpha r${a2.revId}`,
      `create RC_Beta r${b1.revId}`,
      `move RC_Alpha_moved r${moveRev}`,
      `create RC_Doomed r${d1.revId}`,
      `edit RC_Doomed r${d2.revId}`,
      `delete RC_Doomed r${d2.revId}`,
      `undelete RC_Doomed r${d2.revId}`,
      `edit RC_Beta r${b2.revId}`,
      `visibility_change RC_Beta r${b1.revId}`,
      `visibility_change RC_Alpha_moved r${a1.revId}`,
    ]);
    assert.ok(moveRev > b1.revId, 'the move made a null revision');
    for (const [i, event] of events.entries()) {
      const result = validate(event);
      assert.ok(result.valid, `${summary(event)}: ${result.valid ? '' : result.message}`);
      assert.equal(event.$schema, '/mediawiki/page/change/1.2.0');
      assert.equal(event.wiki_id, wikiId);
      assert.equal((event.meta as Json).domain, RC_WIKI_DOMAIN);
      assert.equal((event.meta as Json).stream, 'mediawiki.page_change.v1');
      const pageId = (event.page as Json).page_id as number;
      assert.equal(reader.records[i]!.key?.toString(), JSON.stringify({ wiki_id: wikiId, page_id: pageId }));
    }
    const byKind = (kind: string, title: string) =>
      events.find((e) => kindOf(e) === kind && titleOf(e) === title)!;
    assert.deepEqual(byKind('move', 'RC_Alpha_moved').prior_state, { page: { page_title: 'RC_Alpha' } });
    assert.equal(
      (byKind('move', 'RC_Alpha_moved').page as Json).page_id,
      a1.pageId,
      'a move keeps the page id',
    );
    assert.equal(byKind('undelete', 'RC_Doomed').changelog_kind, 'insert');
    assert.equal(byKind('delete', 'RC_Doomed').changelog_kind, 'delete');
    const [hiddenText, hiddenUser] = events.slice(9);
    assert.deepEqual(hiddenText!.prior_state, { revision: { is_content_visible: true } });
    assert.equal((hiddenText!.revision as Json).is_content_visible, false);
    assert.deepEqual(hiddenUser!.prior_state, {
      revision: { is_comment_visible: true, is_editor_visible: true },
    });
    assert.equal('editor' in (hiddenUser!.revision as Json), false);
    assert.equal((hiddenUser!.revision as Json).is_content_visible, true);

    // The job: one output per event, per page in the source's order, the content the wiki's text.
    const outputs = await job.outputs();
    assert.deepEqual(await job.errors(), []);
    assert.equal(outputs.length, events.length);
    assert.deepEqual(perPage(outputs), perPage(events));
    for (const output of outputs) {
      const result = validate(output);
      assert.ok(result.valid, `output ${summary(output)}: ${result.valid ? '' : result.message}`);
      assert.equal((output.meta as Json).stream, 'mediawiki.page_content_change.v1');
    }
    const expectedBody = (o: Json): string | undefined => {
      const kind = kindOf(o);
      // Passed through without content: a deletion, and the revision whose text is now hidden.
      if (kind === 'delete' || (kind === 'visibility_change' && revOf(o) === b1.revId)) return undefined;
      // The move's null revision has the content of the revision before it.
      return text.get(kind === 'move' ? a2.revId : revOf(o));
    };
    const bodies = outputs.map((o) => [summary(o), bodyOf(o)]);
    assert.deepEqual(
      bodies,
      outputs.map((o) => [summary(o), expectedBody(o)]),
    );
    assert.equal(bodies.filter(([, body]) => body !== undefined).length, 9);
    const stopped = await job.stop();
    assert.equal(stopped.exitCode, 0);
  });

  it('stopped during a poll and between polls, then restarted, it neither skips nor repeats', async (t) => {
    const proxy = await startDelayingProxy(wiki.server, 400);
    t.after(() => proxy.close());
    const viaProxy: NamedWiki = { ...site, routes: { [`http://${RC_WIKI_DOMAIN}`]: proxy.url } };
    const paths = await jobPaths(t);
    // The wiki's clock has whole seconds: the earlier tests' rows stay before this test's first one.
    await sleep(1100);
    const first = await bot.edit({ title: 'RC Restart 0', text: 'restart 0 v1' });
    const saved: SeededPage[] = [first];
    for (let i = 1; i < 12; i++)
      saved.push(
        await bot.edit({ title: `RC Restart ${i % 4}`, text: `restart ${i} v${Math.floor(i / 4) + 1}` }),
      );
    // Three rows per request: one poll takes four requests, each continuation held back 400 ms.
    const options = { since: first.timestamp, batch_size: 3 };

    const run1 = await startJob(viaProxy, paths, options);
    await waitUntil('the first outputs', async () => (await run1.outputs()).length >= 1, {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 20,
    });
    const continuationsBeforeStop = proxy.continuations();
    assert.equal((await run1.stop()).exitCode, 0);
    const afterFirst = (await run1.outputs()).length;
    assert.ok(
      afterFirst < saved.length,
      `stopped during the first poll (${afterFirst} of ${saved.length} emitted)`,
    );
    assert.ok(continuationsBeforeStop < 3, 'the poll had continuation requests left when it stopped');

    const run2 = await startJob(viaProxy, paths, options);
    await waitUntil('all rows emitted', async () => (await run2.outputs()).length >= saved.length, {
      timeoutMs: TIMEOUT_MS,
    });
    // Between polls: the position holds every row once the poll is over.
    await waitUntil(
      'the position to hold every row',
      async () => {
        const position = JSON.parse(await readFile(paths.position, 'utf8').catch(() => '{}')) as {
          seen?: unknown[];
        };
        return (position.seen?.length ?? 0) >= saved.length;
      },
      { timeoutMs: TIMEOUT_MS },
    );
    assert.equal((await run2.stop()).exitCode, 0);

    for (let i = 12; i < 17; i++)
      saved.push(await bot.edit({ title: `RC Restart ${i % 4}`, text: `restart ${i}` }));
    const run3 = await startJob(viaProxy, paths, options);
    await waitUntil('the later rows emitted', async () => (await run3.outputs()).length >= saved.length, {
      timeoutMs: TIMEOUT_MS,
    });
    await sleep(1500);
    assert.equal((await run3.stop()).exitCode, 0);

    const outputs = await run3.outputs();
    assert.deepEqual(await run3.errors(), []);
    assert.deepEqual(
      outputs.map(revOf).sort((a, b) => a - b),
      saved.map((s) => s.revId),
      'every revision exactly once across the three runs',
    );
    for (const page of saved) {
      const output = outputs.find((o) => revOf(o) === page.revId)!;
      assert.equal(bodyOf(output), page.text);
    }
    // Per page, in the wiki's order.
    for (const [, revs] of perPage(outputs)) {
      const ids = revs.map((s) => Number(/r(\d+)$/.exec(s)![1]));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
      );
    }
  });

  it('a row the wiki writes behind rows already read is emitted, once', async (t) => {
    const paths = await jobPaths(t);
    await sleep(1100);
    const late = await bot.edit({ title: 'RC Late', text: 'written late' });
    // The wiki has not written its row yet (it does so after the edit's transaction)…
    const row = await withholdRow(wiki, late.revId);
    const next = await bot.edit({ title: 'RC Later', text: 'written on time' });
    const job = await startJob(site, paths, { since: late.timestamp });
    t.after(() => job.stop());
    await waitUntil(
      'the row after it',
      async () => (await job.outputs()).some((o) => revOf(o) === next.revId),
      {
        timeoutMs: TIMEOUT_MS,
      },
    );
    // …and writes it now, with its own id and time: behind the newest row read.
    const nextRow = (
      (
        (
          await bot.get({
            action: 'query',
            list: 'recentchanges',
            rctitle: 'RC Later',
            rcprop: 'ids|timestamp',
          })
        ).query as Json
      ).recentchanges as Json[]
    )[0]!;
    assert.ok(Number(row.rc_id) < Number(nextRow.rcid), 'the late row comes before the one read');
    assert.ok(late.timestamp <= String(nextRow.timestamp));
    await putRowBack(wiki, row);
    await waitUntil('the late row', async () => (await job.outputs()).some((o) => revOf(o) === late.revId), {
      timeoutMs: TIMEOUT_MS,
    });
    // More polls pass over both rows again (they are within the overlap) without emitting them.
    await sleep(1500);
    assert.equal((await job.stop()).exitCode, 0);
    const outputs = await job.outputs();
    assert.deepEqual(outputs.map(revOf), [next.revId, late.revId]);
    assert.equal(bodyOf(outputs[1]!), 'written late');
    assert.equal(kindOf(outputs[1]!), 'create');
  });
});

/**
 * A pass-through proxy to the wiki that holds back every continued poll request (`rcdir=newer`
 * with `rccontinue`) for `delayMs`, so that a poll of several requests lasts long enough to be
 * stopped in its middle; counts the continuations that were answered.
 */
async function startDelayingProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; continuations(): number; close(): Promise<void> }> {
  const upstream = new URL(target);
  let continued = 0;
  const server: Server = createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://proxy.invalid').searchParams;
    const isContinuation = params.has('rccontinue') && params.get('rcdir') === 'newer';
    const forward = () => {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          if (isContinuation) continued++;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (isContinuation) setTimeout(forward, delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    continuations: () => continued,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
