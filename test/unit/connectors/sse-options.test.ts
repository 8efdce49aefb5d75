/**
 * The EventStreams source's pieces that need no server: ids and positions, the -1 rewrite, the
 * backoff and Retry-After, the options and their checks, and examples/eventstreams.yaml checked as
 * `--check` checks it (offline: the bundled stream config and schemas, nothing fetched).
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import {
  domainMatches,
  readSseSourceOptions,
  SSE_SOURCE_OPTIONS,
} from '../../../src/connectors/sse/options.js';
import { parseEventId, parsePosition, resumable } from '../../../src/connectors/sse/position.js';
import {
  parseRetryAfter,
  reconnectDelayMs,
  RETRY_AFTER_CAP_MS,
} from '../../../src/connectors/sse/reconnect.js';
import { compileConfigSchema } from '../../../src/core/config-schema.js';
import { OptionReader } from '../../../src/core/options.js';
import { pageContentChange } from '../../../src/jobs/page-content-change/job.js';
import { checkJobFromFiles, printableConfig } from '../../../src/runtime/main.js';

const EQIAD = 'eqiad.mediawiki.page_change.v1';
const CODFW = 'codfw.mediawiki.page_change.v1';
const EXAMPLE = new URL('../../../examples/eventstreams.yaml', import.meta.url);
const KEY = 'stream_manager.source.options';

const check = compileConfigSchema(SSE_SOURCE_OPTIONS);

function options(raw: Record<string, unknown>) {
  return readSseSourceOptions(new OptionReader(check(raw, KEY), KEY));
}

const REQUIRED = {
  url: 'https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1',
  user_agent: 'my-mirror/1.0 (https://example.org/me; me@example.org) mediawiki-event-enrichment/0.1',
  position_file: 'out/position.json',
};

describe('EventStreams ids and positions', () => {
  it('reads the id arrays EventStreams sends; anything else is not a position', () => {
    assert.deepEqual(
      parseEventId(
        `[{"topic":"${EQIAD}","partition":0,"timestamp":1764431234568,"extra":1},{"topic":"${CODFW}","partition":0,"offset":-1}]`,
      ),
      [
        { topic: EQIAD, partition: 0, timestamp: 1764431234568 },
        { topic: CODFW, partition: 0, offset: -1 },
      ],
    );
    // Both: the offset wins, as the server reads it.
    assert.deepEqual(parseEventId(`[{"topic":"${EQIAD}","partition":2,"offset":7,"timestamp":5}]`), [
      { topic: EQIAD, partition: 2, offset: 7 },
    ]);
    for (const bad of [
      '',
      'not json',
      '{}',
      '[]',
      '[1]',
      `[{"topic":"${EQIAD}"}]`,
      `[{"topic":"${EQIAD}","partition":0}]`,
      `[{"topic":"${EQIAD}","partition":-1,"offset":1}]`,
      `[{"topic":"${EQIAD}","partition":0.5,"offset":1}]`,
      `[{"topic":"${EQIAD}","partition":0,"offset":"1"}]`,
      `[{"topic":"${EQIAD}","partition":0,"timestamp":-3}]`,
      '[{"topic":"a b","partition":0,"offset":1}]',
      '[{"topic":"a\\"b","partition":0,"offset":1}]',
    ]) {
      assert.equal(parseEventId(bad), undefined, bad);
    }
  });

  it('rewrites a partition that delivered nothing to the time it started from on its connection', () => {
    const starts: Record<string, number> = { [`${CODFW}/0`]: 1_700_000_000_000 };
    const startOf = (e: { topic: string; partition: number }) => starts[`${e.topic}/${e.partition}`] ?? 99;
    // Offsets: a service that identifies events by offset; only the end (-1) is rewritten.
    assert.deepEqual(
      resumable(
        [
          { topic: CODFW, partition: 0, offset: -1 },
          { topic: EQIAD, partition: 1, offset: 12 },
        ],
        startOf,
      ),
      [
        { topic: CODFW, partition: 0, timestamp: 1_700_000_000_000 },
        { topic: EQIAD, partition: 1, offset: 12 },
      ],
    );
    // Timestamps (the public service): an offset is a start resolved in one data centre's cluster,
    // never a delivered event; it becomes the start time too.
    assert.deepEqual(
      resumable(
        [
          { topic: EQIAD, partition: 0, timestamp: 1_764_431_234_568 },
          { topic: CODFW, partition: 0, offset: -1 },
          { topic: EQIAD, partition: 1, offset: 12 },
        ],
        startOf,
      ),
      [
        { topic: EQIAD, partition: 0, timestamp: 1_764_431_234_568 },
        { topic: CODFW, partition: 0, timestamp: 1_700_000_000_000 },
        { topic: EQIAD, partition: 1, timestamp: 99 },
      ],
    );
  });

  it('a position file holds the url and a resumable id; anything else is refused', () => {
    const good = { url: 'u', last_event_id: [{ topic: EQIAD, partition: 0, timestamp: 5 }] };
    assert.deepEqual(parsePosition(good), good);
    assert.throws(() => parsePosition([]), /not an EventStreams position/);
    assert.throws(() => parsePosition({ last_event_id: good.last_event_id }), /no "url"/);
    assert.throws(() => parsePosition({ url: 'u', last_event_id: [] }), /no valid "last_event_id"/);
    assert.throws(
      () => parsePosition({ url: 'u', last_event_id: [{ topic: EQIAD, partition: 0, offset: -1 }] }),
      /no valid "last_event_id"/,
      'an offset of -1 would restart at the end',
    );
  });
});

describe('reconnect timing', () => {
  it('doubles from the minimum per attempt that delivered nothing, up to the maximum, with ±20 % jitter', () => {
    const bounds = { minMs: 1000, maxMs: 60_000 };
    const middle = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => reconnectDelayMs(n, bounds, undefined, middle)),
      [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000],
    );
    assert.equal(
      reconnectDelayMs(1, bounds, undefined, () => 0),
      800,
    );
    assert.equal(
      reconnectDelayMs(1, bounds, undefined, () => 0.999_999),
      1200,
    );
    // Retry-After is a floor.
    assert.equal(reconnectDelayMs(1, bounds, 5000, middle), 5000);
    assert.equal(reconnectDelayMs(7, bounds, 5000, middle), 60_000);
  });

  it('reads Retry-After as seconds or an HTTP date, capped; anything else is ignored', () => {
    const now = Date.parse('2026-01-31T12:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(['0'], now), 0);
    assert.equal(parseRetryAfter('Sat, 31 Jan 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Sat, 31 Jan 2026 11:00:00 GMT', now), 0, 'a date in the past');
    assert.equal(parseRetryAfter('86400', now), RETRY_AFTER_CAP_MS);
    for (const bad of [undefined, '', 'soon', '-5', '1.5'])
      assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
  });
});

describe('sse source options', () => {
  it('fills the defaults; url, user_agent and position_file are required', () => {
    assert.deepEqual(options(REQUIRED), {
      url: REQUIRED.url,
      userAgent: REQUIRED.user_agent,
      positionFile: REQUIRED.position_file,
      since: undefined,
      domains: undefined,
      idleTimeoutMs: 120_000,
      connectTimeoutMs: 30_000,
      reconnectMinDelayMs: 1000,
      reconnectMaxDelayMs: 60_000,
    });
    for (const missing of Object.keys(REQUIRED)) {
      const raw: Record<string, unknown> = { ...REQUIRED };
      delete raw[missing];
      assert.throws(() => options(raw), new RegExp(`^ConfigError: ${KEY}\\.${missing}: is required$`));
    }
  });

  it('refuses what cannot work, naming the key', () => {
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ url: 'ftp://x/y' }, /options\.url: must match pattern/],
      [{ url: 'https://user:pw@stream.example/s' }, /options\.url: must not carry a user name/],
      [{ url: `${REQUIRED.url}?since=2026-01-01` }, /options\.url: must not carry `since`/],
      [{ user_agent: 'naïve/1.0' }, /options\.user_agent: must match pattern/],
      [{ user_agent: 'trailing space ' }, /options\.user_agent: must match pattern/],
      [{ since: 'yesterday' }, /options\.since: "yesterday" is not an ISO 8601 time/],
      [{ since: '2026-13-45T00:00:00Z' }, /options\.since: .* is not an ISO 8601 time/],
      [{ domains: ['en.wikipedia.org/wiki'] }, /options\.domains\.0: must match pattern/],
      [{ domains: [] }, /options\.domains: must NOT have fewer than 1 items/],
      [{ idle_timeout_ms: 50 }, /options\.idle_timeout_ms: must be >= 100/],
      [
        { reconnect_min_delay_ms: 5000, reconnect_max_delay_ms: 1000 },
        /reconnect_max_delay_ms: must be >= reconnect_min/,
      ],
      [{ retry: 3 }, /options\.retry: unknown key/],
    ];
    for (const [over, message] of refused) {
      assert.throws(() => options({ ...REQUIRED, ...over }), message, JSON.stringify(over));
    }
    assert.equal(
      options({ ...REQUIRED, since: '2026-01-31T12:00:00Z' }).since,
      Date.parse('2026-01-31T12:00:00Z'),
    );
  });

  it('domains: exact names and *. for any subdomain, without case or a trailing dot', () => {
    const patterns = ['en.wikipedia.org', '*.wikivoyage.org'];
    for (const yes of ['en.wikipedia.org', 'EN.Wikipedia.org.', 'de.wikivoyage.org', 'a.b.wikivoyage.org'])
      assert.ok(domainMatches(yes, patterns), yes);
    for (const no of [
      'de.wikipedia.org',
      'wikivoyage.org',
      'en.wikipedia.org.evil',
      'xwikivoyage.org',
      'canary',
    ])
      assert.ok(!domainMatches(no, patterns), no);
  });
});

describe('examples/eventstreams.yaml', () => {
  it('passes --check offline, and runs on the public stream and Action API with the etiquette README describes', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const doc = parse(text) as {
      stream_manager: { source: { connector: string; options: Record<string, unknown> } };
      enrich: Record<string, unknown>;
    };
    const source = doc.stream_manager.source;
    assert.equal(source.connector, 'sse');
    assert.equal(source.options.url, 'https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1');
    assert.equal(doc.enrich.mediawiki_api_endpoint_template, 'https://{domain}/w/api.php');
    assert.deepEqual(
      source.options.domains,
      doc.enrich.allowed_domains,
      'the source reads only the allowed wikis',
    );
    assert.ok((doc.enrich.allowed_domains as string[]).length <= 3, 'a few wikis, not all of them');
    assert.equal(doc.enrich.user_agent, source.options.user_agent, 'one User-Agent for both');
    assert.match(String(source.options.user_agent), /CHANGE-ME/, 'a placeholder to fill in');
    assert.match(text, /User-Agent policy/);

    // As `--check` would, from the repository root; the files it would write go to a temp folder.
    const dir = await mkdtemp(join(tmpdir(), 'sse-example-'));
    try {
      const override = join(dir, 'paths.yaml');
      await writeFile(
        override,
        JSON.stringify({
          stream_manager: {
            source: { options: { position_file: join(dir, 'position.json') } },
            sink: { options: { path: join(dir, 'out.ndjson') } },
            error_sink: { options: { path: join(dir, 'errors.ndjson') } },
          },
        }),
      );
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      const cwd = process.cwd();
      process.chdir(root);
      try {
        await checkJobFromFiles(pageContentChange, ['examples/eventstreams.yaml', override]);
        const printed = parse(await printableConfig(pageContentChange, ['examples/eventstreams.yaml'])) as {
          stream_manager: { source: { options: Record<string, unknown> } };
        };
        assert.equal(printed.stream_manager.source.options.idle_timeout_ms, 120_000, 'defaults filled in');
      } finally {
        process.chdir(cwd);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
