/**
 * The fetcher against a real MediaWiki (Debian's 1.39 package on SQLite, started by
 * scripts/mediawiki.sh). Seeds pages with a bot session and fetches them anonymously, as the service does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EnrichmentError } from '../../src/core/errors.js';
import { recordingMetrics } from '../../src/core/metrics.js';
import {
  DEFAULT_MEDIAWIKI_OPTIONS,
  createRevisionFetcher,
  type MediaWikiClientOptions,
} from '../../src/mediawiki/fetcher.js';
import { DEFAULT_RETRY_POLICY } from '../../src/mediawiki/retry-policy.js';
import type { RevisionFetcher } from '../../src/mediawiki/types.js';
import { startWiki, type RealWiki, type SeededPage } from '../helpers/mediawiki-real.js';
import { fetchFailure } from '../helpers/fetch-failure.js';

const DOMAIN = 'wiki.enrichment.test';
const fetchers: RevisionFetcher[] = [];

function fetcherFor(wiki: RealWiki, overrides: Partial<MediaWikiClientOptions> = {}) {
  const metrics = recordingMetrics();
  const fetcher = createRevisionFetcher(
    {
      ...DEFAULT_MEDIAWIKI_OPTIONS,
      // A fixed endpoint: the wiki is chosen by the Host header, as behind WMF's local proxy.
      endpointTemplate: wiki.apiUrl,
      allowedDomains: [DOMAIN],
      userAgent: 'mediawiki-event-enrichment-tests/1.0 (tests@example.org)',
      retry: { ...DEFAULT_RETRY_POLICY, initialDelayMs: 10, maxDelayMs: 20, jitter: 0 },
      ...overrides,
    },
    { metrics },
  );
  fetchers.push(fetcher);
  return { fetcher, metrics };
}

const oldEvent = () => Date.now() - 60_000;

describe('mediawiki fetcher against a real MediaWiki', { timeout: 900_000 }, () => {
  let wiki: RealWiki;
  let plain: SeededPage[];
  let json: SeededPage;
  let hidden: SeededPage;
  let visibleAfterHidden: SeededPage;
  let deleted: SeededPage;
  let large: SeededPage[];

  before(async () => {
    wiki = await startWiki();
    const bot = await wiki.login();
    plain = await bot.seedPages(
      Array.from({ length: 60 }, (_, i) => ({
        title: `Enrichment page ${i}`,
        text: `Page ${i} of the batch: [[Link]] ünïcödé ✓ — "quotes" & <b>tags</b>\n\n== Section ==\nLine ${i}.`,
      })),
    );
    json = await bot.edit({
      title: 'Enrichment data.json',
      text: JSON.stringify({ name: 'data', values: [1, 2.5, true, null], nested: { ü: 'ß' } }, null, '\t'),
      contentModel: 'json',
    });
    hidden = await bot.edit({ title: 'Enrichment hidden', text: 'This text will be hidden.' });
    visibleAfterHidden = await bot.edit({ title: 'Enrichment hidden', text: 'This text stays visible.' });
    await bot.hideRevisionContent(hidden.title, hidden.revId);
    deleted = await bot.edit({ title: 'Enrichment deleted', text: 'This page will be deleted.' });
    await bot.deletePage(deleted.title);
    // Five revisions of ~1.8 MB exceed $wgAPIMaxResultSize (8 MiB): the answer is cut with `continue`.
    // Quotes, a slash and non-ASCII text: the output writes these contents as the wiki's JSON literals.
    const line = 'A "filler" line — ünïcödé, and/or text for a large revision, adding up quickly.\n';
    large = await bot.seedPages(
      Array.from({ length: 5 }, (_, i) => ({
        title: 'Enrichment large',
        text: `Large revision ${i}\n${line.repeat(24_000)}End of ${i}.`,
      })),
    );
  });

  after(async () => {
    await Promise.all(fetchers.map((f) => f.close()));
    await wiki?.stop();
  });

  it('fetches a batch of many revisions with exactly the saved content, in requests of at most 50', async () => {
    const { fetcher, metrics } = fetcherFor(wiki);
    const pages = [...plain, json, visibleAfterHidden];
    const revisions = await Promise.all(
      pages.map((p) => fetcher.fetch({ domain: DOMAIN, revId: p.revId, ingestedAtMs: oldEvent() })),
    );
    assert.equal(revisions.length, 62);
    revisions.forEach((revision, i) => {
      const page = pages[i];
      assert.ok(page);
      assert.equal(revision.revId, page.revId);
      assert.equal(revision.pageId, page.pageId);
      assert.deepEqual(Object.keys(revision.slots), ['main']);
      assert.equal(revision.slots.main?.content, page.text, page.title);
      assert.equal(
        revision.slots.main?.contentJson,
        undefined,
        `${page.title}: a literal for a small content`,
      );
      assert.equal(revision.slots.main?.textHidden, false);
    });
    assert.equal(revisions.at(-2)?.slots.main?.contentModel, 'json');
    assert.equal(revisions.at(-2)?.slots.main?.contentFormat, 'application/json');
    assert.equal(revisions[0]?.slots.main?.contentModel, 'wikitext');
    assert.equal(revisions[0]?.slots.main?.contentFormat, 'text/x-wiki');
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=none,status=200}'), 2);
    assert.equal(metrics.total('mediawiki_revisions_requested_total'), 62);
  });

  it("a deleted page's revision is a MissingRevisionError, its batch-mate is fetched", async () => {
    const { fetcher, metrics } = fetcherFor(wiki);
    const [gone, kept] = await Promise.allSettled([
      fetcher.fetch({ domain: DOMAIN, revId: deleted.revId, ingestedAtMs: oldEvent() }),
      fetcher.fetch({ domain: DOMAIN, revId: plain[0]?.revId ?? 0, ingestedAtMs: oldEvent() }),
    ]);
    assert.equal(gone.status, 'rejected');
    const error = (gone as PromiseRejectedResult).reason as EnrichmentError;
    assert.equal(error.type, 'MissingRevisionError');
    assert.deepEqual(error.details, { rev_id: deleted.revId, reason: 'badrevids' });
    assert.equal(kept.status === 'fulfilled' && kept.value.slots.main?.content, plain[0]?.text);
    assert.equal(metrics.total('mediawiki_requests_total'), 1);
  });

  it('a revision that never existed is missing too', async () => {
    const { fetcher } = fetcherFor(wiki);
    const error = await fetchFailure(
      fetcher.fetch({ domain: DOMAIN, revId: 9_999_999, ingestedAtMs: oldEvent() }),
    );
    assert.equal(error.type, 'MissingRevisionError');
  });

  it('a content-hidden revision has textHidden and no content', async () => {
    const { fetcher } = fetcherFor(wiki);
    const revision = await fetcher.fetch({ domain: DOMAIN, revId: hidden.revId, ingestedAtMs: oldEvent() });
    assert.equal(revision.revId, hidden.revId);
    assert.deepEqual(revision.slots.main, {
      role: 'main',
      contentModel: 'wikitext',
      contentFormat: undefined,
      content: undefined,
      textHidden: true,
    });
  });

  it('follows continue for a batch larger than the result size limit', async () => {
    const { fetcher, metrics } = fetcherFor(wiki);
    const revisions = await Promise.all(
      large.map((p) => fetcher.fetch({ domain: DOMAIN, revId: p.revId, ingestedAtMs: oldEvent() })),
    );
    assert.deepEqual(
      revisions.map((r) => r.slots.main?.content),
      large.map((p) => p.text),
    );
    // Each large content comes with its literal from the answer, which decodes to the same text.
    assert.deepEqual(
      revisions.map((r) => JSON.parse(r.slots.main?.contentJson?.toString('utf8') ?? 'null') as unknown),
      large.map((p) => p.text),
    );
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=none,status=200}'), 2);
  });

  it("maxlag: the wiki's refusal is retried and ends in MaxlagError with its Retry-After", async () => {
    // A single-database wiki reports a lag of -1, so only maxlag=-2 makes it refuse.
    const { fetcher, metrics } = fetcherFor(wiki, {
      maxlag: -2,
      retry: {
        ...DEFAULT_RETRY_POLICY,
        initialDelayMs: 10,
        maxDelayMs: 20,
        jitter: 0,
        retryAfterCapMs: 20,
        maxRetries: 2,
      },
    });
    const error = await fetchFailure(
      fetcher.fetch({ domain: DOMAIN, revId: plain[1]?.revId ?? 0, ingestedAtMs: oldEvent() }),
    );
    assert.equal(error.type, 'MaxlagError');
    assert.equal(error.retryAfterMs, 5000);
    assert.equal(error.details.api_code, 'maxlag');
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=MaxlagError,status=200}'), 3);
  });
});
