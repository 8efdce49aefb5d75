/**
 * RecentChangesSource against a small stand-in for the Action API (real row shapes, paging by
 * rccontinue as MediaWiki does it), for what a real wiki cannot be made to do on demand: be down
 * at the start, answer maxlag or 404, or have the process stop between the events of one row.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import type { RecentChange, RevisionFacts } from '../../../src/connectors/recentchanges/answers.js';
import { RecentChangesSource } from '../../../src/connectors/recentchanges/source.js';
import type { RecentChangesOptions } from '../../../src/connectors/recentchanges/options.js';
import type { SourceRecord } from '../../../src/connectors/types.js';
import { noopMetrics } from '../../../src/core/metrics.js';
import { freePort } from '../../helpers/ports.js';
import { waitUntil } from '../../helpers/wait.js';

type Json = Record<string, unknown>;

const WIKI_TIME = '2026-11-29T16:30:00Z';

/** Rows of a small wiki, as `list=recentchanges` gives them. */
function row(rcid: number, fields: Partial<RecentChange> & { second: number }): RecentChange {
  const { second, ...rest } = fields;
  return {
    type: 'new',
    ns: 0,
    title: `Page ${rcid}`,
    pageid: rcid,
    revid: rcid,
    old_revid: 0,
    rcid,
    user: 'Admin',
    userid: 1,
    minor: false,
    newlen: 10,
    timestamp: `2026-11-29T16:${String(Math.floor(second / 60) + 20).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}Z`,
    comment: `change ${rcid}`,
    sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    ...rest,
  };
}

const rcKey = (r: RecentChange) => `${r.timestamp.replace(/\D/g, '')}|${String(r.rcid)}`;

interface FakeWiki {
  readonly url: string;
  rows: RecentChange[];
  revisions: Map<number, RevisionFacts & { pageid: number }>;
  /** Answers given before the real ones: each an HTTP status or an API error code. */
  failures: Array<number | string>;
  requests: URLSearchParams[];
  close(): Promise<void>;
}

async function startFakeWiki(t: TestContext, port = 0): Promise<FakeWiki> {
  const wiki: Omit<FakeWiki, 'url' | 'close'> = {
    rows: [],
    revisions: new Map(),
    failures: [],
    requests: [],
  };
  const server: Server = createServer((req, res) => {
    const params = new URL(req.url ?? '/', 'http://fake').searchParams;
    wiki.requests.push(params);
    const send = (body: Json, headers: Record<string, string> = {}) => {
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const failure = wiki.failures.shift();
    if (typeof failure === 'number') {
      res.writeHead(failure);
      return res.end('<html>not the API</html>');
    }
    if (typeof failure === 'string') {
      return send({ error: { code: failure, info: `${failure} for the test` } }, { 'retry-after': '0' });
    }
    if (params.get('meta') === 'siteinfo') {
      return send({
        query: {
          general: {
            wikiid: 'fakewiki',
            servername: 'fake.wiki.test',
            base: 'https://fake.wiki.test/wiki/Main_Page',
            articlepath: '/wiki/$1',
            time: WIKI_TIME,
          },
        },
      });
    }
    if (params.get('list') === 'recentchanges') {
      const newer = params.get('rcdir') === 'newer';
      const start = params.get('rcstart')?.replace(/\D/g, '');
      const from = params.get('rccontinue');
      const limit = Number(params.get('rclimit'));
      let rows = [...wiki.rows].sort((a, b) => (rcKey(a) < rcKey(b) ? -1 : 1));
      if (!newer) rows.reverse();
      if (start) rows = rows.filter((r) => (newer ? rcKey(r) >= start : rcKey(r) < `${start}|~`));
      if (from) rows = rows.filter((r) => (newer ? rcKey(r) >= from : rcKey(r) <= from));
      const page = rows.slice(0, limit);
      const rest = rows[limit];
      return send({
        query: { recentchanges: page },
        ...(rest && { continue: { rccontinue: rcKey(rest), continue: '-||' } }),
      });
    }
    if (params.get('prop') === 'revisions') {
      const ids = (params.get('revids') ?? '').split('|').map(Number);
      const found = ids.flatMap((id) => (wiki.revisions.has(id) ? [wiki.revisions.get(id)!] : []));
      return send({
        query: { pages: found.map((r) => ({ pageid: r.pageid, ns: 0, title: 'x', revisions: [r] })) },
      });
    }
    send({ error: { code: 'badparams', info: 'unknown request' } });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  return Object.assign(wiki, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/w/api.php`,
    close,
  });
}

function options(apiUrl: string, overrides: Partial<RecentChangesOptions> = {}): RecentChangesOptions {
  return {
    apiUrl,
    positionFile: undefined,
    since: { kind: 'earliest' },
    pollIntervalMs: 100,
    overlapSeconds: 60,
    maxWindowRows: 1000,
    batchSize: 2,
    userAgent: 'tests/0 (tests@example.org)',
    requestTimeoutMs: 2000,
    ...overrides,
  };
}

function recordingWaits() {
  const log: string[] = [];
  return {
    log,
    wait: (part: string, why: string) => void log.push(`wait ${part}: ${why}`),
    clear: (part: string) => void log.push(`clear ${part}`),
  };
}

/** Reads the source, committing each record at once, until `stop()`. */
function read(source: RecentChangesSource) {
  const records: SourceRecord[] = [];
  let failure: unknown;
  const done = (async () => {
    for await (const record of source.records()) {
      records.push(record);
      await source.commit(new Map([[record.partition, record.offset + 1]]));
    }
  })().catch((err: unknown) => {
    failure = err;
  });
  return {
    records,
    events: () => records.map((r) => JSON.parse(r.value.toString()) as Json),
    failure: () => failure,
    done,
    async stop() {
      source.stop();
      await done;
      await source.close();
    },
  };
}

const silent = pino({ level: 'silent' });
const deps = (waits = recordingWaits()) => ({
  stream: 'mediawiki.page_change.v1',
  routes: {},
  logger: silent,
  metrics: noopMetrics,
  waits,
  backoff: { minMs: 20, maxMs: 50 },
});

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('RecentChangesSource', () => {
  it('waits for a wiki that is down at the start, says so, and reads once it answers', async (t) => {
    const port = await freePort();
    const waits = recordingWaits();
    const source = new RecentChangesSource(options(`http://127.0.0.1:${port}/w/api.php`), deps(waits));
    const reader = read(source);
    t.after(() => reader.stop());
    await waitUntil('a wait to be reported', () => waits.log.length >= 2, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    assert.match(
      waits.log[0]!,
      /^wait recent changes of http:\/\/127\.0\.0\.1:\d+\/w\/api\.php: unreachable: /,
    );
    const wiki = await startFakeWiki(t, port);
    wiki.rows.push(row(1, { second: 1 }), row(2, { second: 2 }));
    await waitUntil('the rows', () => reader.records.length === 2, { timeoutMs: 10_000, intervalMs: 10 });
    assert.equal(waits.log.at(-1), `clear recent changes of http://127.0.0.1:${port}/w/api.php`);
    assert.deepEqual(
      reader.events().map((e) => e.page_change_kind),
      ['create', 'create'],
    );
  });

  it('waits out maxlag and 503 answers, and reads on', async (t) => {
    const wiki = await startFakeWiki(t);
    wiki.rows.push(row(1, { second: 1 }));
    wiki.failures.push('maxlag', 503, 'readonly');
    const waits = recordingWaits();
    const reader = read(new RecentChangesSource(options(wiki.url), deps(waits)));
    t.after(() => reader.stop());
    await waitUntil('the row', () => reader.records.length === 1, { timeoutMs: 10_000, intervalMs: 10 });
    assert.equal(waits.log.filter((l) => l.startsWith('wait')).length, 3);
    assert.match(waits.log[0]!, /Action API error maxlag/);
    assert.match(waits.log[1]!, /HTTP 503/);
    assert.equal(reader.failure(), undefined);
  });

  it('fails at once when the URL is not an Action API (a 404), instead of waiting for ever', async (t) => {
    const wiki = await startFakeWiki(t);
    wiki.failures.push(404);
    const reader = read(new RecentChangesSource(options(wiki.url), deps()));
    await reader.done;
    assert.match(String(reader.failure()), /answered HTTP 404/);
  });

  it('pages through a poll with rccontinue, keys records by wiki and page, and starts `now` at the wiki clock', async (t) => {
    const wiki = await startFakeWiki(t);
    // Rows before the wiki's "now" (16:30:00) are history; the ones after it are read.
    wiki.rows.push(
      row(1, { second: 0 }),
      row(2, { second: 600 }),
      row(3, { second: 601 }),
      row(4, { second: 602 }),
    );
    const dir = await folder(t);
    const position = join(dir, 'position.json');
    const reader = read(
      new RecentChangesSource(options(wiki.url, { since: { kind: 'now' }, positionFile: position }), deps()),
    );
    t.after(() => reader.stop());
    await waitUntil('three rows', () => reader.records.length === 3, { timeoutMs: 10_000, intervalMs: 10 });
    assert.deepEqual(
      reader.records.map((r) => r.key?.toString()),
      [2, 3, 4].map((id) => `{"wiki_id":"fakewiki","page_id":${id}}`),
    );
    assert.deepEqual(
      reader.records.map((r) => r.offset),
      [0, 1, 2],
    );
    const polls = wiki.requests.filter((p) => p.get('rcdir') === 'newer');
    assert.equal(polls[0]!.get('rcstart'), WIKI_TIME);
    assert.ok(
      polls.some((p) => p.get('rccontinue') === '20261129163002|4'),
      'the second page was asked for',
    );
    assert.equal(polls[0]!.get('rcprop'), 'ids|title|timestamp|user|userid|comment|flags|sizes|loginfo|sha1');
    assert.equal(polls[0]!.get('formatversion'), '2');
    await reader.stop();
    const saved = JSON.parse(await readFile(position, 'utf8')) as Json;
    assert.equal(saved.wiki_id, 'fakewiki');
    assert.deepEqual(saved.seen, [
      ['2026-11-29T16:30:00Z', 2],
      ['2026-11-29T16:30:01Z', 3],
      ['2026-11-29T16:30:02Z', 4],
    ]);
  });

  it('resumes a revision deletion of two revisions after the first one, emitting only the second', async (t) => {
    const wiki = await startFakeWiki(t);
    wiki.rows.push({
      ...row(5, { second: 5 }),
      type: 'log',
      revid: 0,
      pageid: 9,
      logtype: 'delete',
      logaction: 'revision',
      logparams: {
        type: 'revision',
        ids: [3, 4],
        old: { bitmask: 0 },
        new: { bitmask: 1 },
      },
    });
    for (const id of [3, 4]) {
      wiki.revisions.set(id, {
        revid: id,
        parentid: id - 1,
        timestamp: '2026-11-29T16:20:00Z',
        size: 5,
        pageid: 9,
      });
    }
    const dir = await folder(t);
    const position = join(dir, 'position.json');
    // The first process: both events are read, only the first is committed.
    const source = new RecentChangesSource(options(wiki.url, { positionFile: position }), deps());
    const records: SourceRecord[] = [];
    for await (const record of source.records()) {
      records.push(record);
      if (records.length === 2) break;
    }
    await source.commit(new Map([[records[0]!.partition, 1]]));
    source.stop();
    await source.close();
    assert.deepEqual((JSON.parse(await readFile(position, 'utf8')) as Json).partial, {
      rcid: 5,
      last_index: 0,
    });

    const reader = read(new RecentChangesSource(options(wiki.url, { positionFile: position }), deps()));
    t.after(() => reader.stop());
    await waitUntil('the second event', () => reader.records.length >= 1, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      reader.events().map((e) => [e.page_change_kind, (e.revision as Json).rev_id]),
      [['visibility_change', 4]],
    );
  });

  it('refuses the position of another wiki', async (t) => {
    const wiki = await startFakeWiki(t);
    const dir = await folder(t);
    const position = join(dir, 'position.json');
    await writeFile(
      position,
      JSON.stringify({ wiki_id: 'otherwiki', floor: { timestamp: WIKI_TIME, rcid: 0 }, seen: [] }),
    );
    const reader = read(new RecentChangesSource(options(wiki.url, { positionFile: position }), deps()));
    await reader.done;
    assert.match(String(reader.failure()), /holds a position in wiki otherwiki, but .* is wiki fakewiki/);
  });

  it('moves its saved position over rows that make no event once everything before is committed', async (t) => {
    const wiki = await startFakeWiki(t);
    wiki.rows.push({
      ...row(1, { second: 1 }),
      type: 'log',
      logtype: 'protect',
      logaction: 'protect',
      logparams: {},
    });
    const dir = await folder(t);
    const position = join(dir, 'position.json');
    const reader = read(new RecentChangesSource(options(wiki.url, { positionFile: position }), deps()));
    t.after(() => reader.stop());
    await waitUntil(
      'the protection to be passed in the position',
      async () => {
        const text = await readFile(position, 'utf8').catch(() => '{"seen":[]}');
        return (JSON.parse(text) as { seen: unknown[] }).seen.length === 1;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    assert.equal(reader.records.length, 0);
  });
});
