/**
 * One oversized-answer case in a process of its own, so that its memory figure is not blurred by
 * what earlier tests left resident. Run as `node --import tsx answer-size-probe.ts <case>` with
 * case `plain-600mib`, `gzip-bomb` or `gzip-bomb-x3`; prints one JSON line:
 *
 *     {"failures": [{"type", "details"}], "requests": n, "hosts": [...], "serverWroteBytes": n,
 *      "rssGrowthBytes": n, "next": "good"}
 *
 * `rssGrowthBytes` is the process's peak RSS (`maxRSS`) minus its RSS just before the fetches: an
 * upper bound of how much the answers made the process grow. `next` is the content of a good
 * revision fetched afterwards, to show the fetcher still works.
 */
import { EnrichmentError } from '../../src/core/errors.js';
import { DEFAULT_MEDIAWIKI_OPTIONS, createRevisionFetcher } from '../../src/mediawiki/fetcher.js';
import { MisbehavingApi, gzipBomb, type Behaviour } from './misbehaving-api.js';

const MIB = 1024 * 1024;

async function main(which: string): Promise<void> {
  const api = await MisbehavingApi.start();
  api.addRevision({ revId: 2, pageId: 2, title: 'Good', slots: { main: { content: 'good' } } });
  let bad: Behaviour;
  let domains = ['en.wikipedia.org'];
  if (which === 'plain-600mib') {
    bad = { kind: 'huge', bytes: 600 * MIB };
  } else if (which === 'gzip-bomb' || which === 'gzip-bomb-x3') {
    bad = { kind: 'raw', body: await gzipBomb(1024 * MIB), headers: { 'content-encoding': 'gzip' } };
    if (which === 'gzip-bomb-x3') domains = ['en.wikipedia.org', 'de.wikipedia.org', 'fr.wikipedia.org'];
  } else {
    throw new Error(`unknown case ${which}`);
  }
  api.setFallback((request) => (request.revIds.includes(1) ? bad : { kind: 'serve' }));
  const fetcher = createRevisionFetcher({
    ...DEFAULT_MEDIAWIKI_OPTIONS,
    endpointTemplate: api.url,
    allowedDomains: ['*.wikipedia.org'],
  });
  const rssBefore = process.memoryUsage.rss();
  const results = await Promise.allSettled(
    domains.map((domain) => fetcher.fetch({ domain, revId: 1, ingestedAtMs: Date.now() - 60_000 })),
  );
  const peak = process.resourceUsage().maxRSS * 1024;
  const next = await fetcher.fetch({ domain: domains[0]!, revId: 2, ingestedAtMs: Date.now() - 60_000 });
  const report = {
    failures: results.map((r) =>
      r.status === 'rejected' && r.reason instanceof EnrichmentError
        ? { type: r.reason.type, details: r.reason.details }
        : { type: r.status === 'rejected' ? String(r.reason) : 'fulfilled' },
    ),
    requests: api.requests.length,
    hosts: api.requests.map((r) => r.headers.host),
    serverWroteBytes: api.hugeBytesWritten,
    rssGrowthBytes: Math.max(0, peak - rssBefore),
    next: next.slots.main?.content,
  };
  await fetcher.close();
  await api.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main(process.argv[2] ?? '');
