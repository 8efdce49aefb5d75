import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockAgent } from 'undici';
import { recordingMetrics } from '../../../src/core/metrics.js';
import { DEFAULT_MEDIAWIKI_OPTIONS, createRevisionFetcher } from '../../../src/mediawiki/fetcher.js';

const answer = {
  batchcomplete: true,
  query: {
    pages: [
      {
        pageid: 1,
        ns: 0,
        title: 'A',
        revisions: [
          {
            revid: 5,
            slots: { main: { contentmodel: 'wikitext', contentformat: 'text/x-wiki', content: 'five' } },
          },
        ],
      },
    ],
  },
};

describe('createRevisionFetcher with an injected dispatcher', () => {
  it('sends through the given dispatcher and leaves it open on close', async (t) => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    t.after(() => agent.close());
    const paths: string[] = [];
    agent
      .get('https://en.wikipedia.org')
      .intercept({ method: 'GET', path: (path) => (paths.push(path), path.startsWith('/w/api.php?')) })
      .reply(200, answer)
      .times(2);
    const metrics = recordingMetrics();
    const options = { ...DEFAULT_MEDIAWIKI_OPTIONS, endpointTemplate: 'https://{domain}/w/api.php' };
    const fetcher = createRevisionFetcher(options, { dispatcher: agent, metrics });
    const revision = await fetcher.fetch({ domain: 'en.wikipedia.org', revId: 5, ingestedAtMs: 0 });
    assert.equal(revision.slots.main?.content, 'five');
    assert.equal(revision.pageId, 1);
    await fetcher.close();
    assert.equal(paths.length, 1);
    assert.match(paths[0] ?? '', /revids=5&/);
    assert.equal(metrics.counts.get('mediawiki_requests_total{error_type=none,status=200}'), 1);
    assert.equal(metrics.counts.get('mediawiki_revisions_requested_total'), 1);

    // The caller's dispatcher is still usable after the fetcher closed.
    const again = createRevisionFetcher(options, { dispatcher: agent });
    t.after(() => again.close());
    assert.equal((await again.fetch({ domain: 'en.wikipedia.org', revId: 5, ingestedAtMs: 0 })).revId, 5);
  });
});
