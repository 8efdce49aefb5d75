/**
 * Per-page order through the whole job: many small batches answered with uneven latency still leave
 * each page's outputs in input order, while different pages do not wait for each other.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageChangeEvent } from '../helpers/events.js';
import { assertValidOutput, outcomeCounts, runJob, startApi, type Json } from '../helpers/job-harness.js';
import { seeded } from '../helpers/random.js';

const WIKIS = [
  { wiki_id: 'enwiki', domain: 'en.wikipedia.org' },
  { wiki_id: 'dewiki', domain: 'de.wikipedia.org' },
  { wiki_id: 'frwiki', domain: 'fr.wikipedia.org' },
] as const;
/** Two pages per wiki, with the same page ids on every wiki: the key is (wiki_id, page_id). */
const PAGES = WIKIS.flatMap((w) => [1, 2].map((page_id) => ({ ...w, page_id })));
const EVENTS = 600;
/** The slow wiki: its answers take longest, so later inputs of other wikis overtake its earlier ones. */
const SLOW_DOMAIN = 'de.wikipedia.org';

const keyOf = (e: Json) => `${String(e.wiki_id)}/${String((e.page as Json).page_id)}`;
const revOf = (e: Json) => (e.revision as Json).rev_id as number;

test('600 events of 6 pages on 3 wikis: per-page output order equals input order, pages proceed concurrently', async (t) => {
  const random = seeded(20240501);
  const latency = seeded(7);
  const api = await startApi(t, {
    fallback: (request) => ({
      kind: 'serve',
      delayMs:
        String(request.headers.host) === SLOW_DOMAIN
          ? 30 + Math.floor(latency() * 30)
          : Math.floor(latency() * 15),
    }),
  });
  const events: Json[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const page = PAGES[Math.floor(random() * PAGES.length)]!;
    const revId = 5000 + i;
    api.addRevision({
      revId,
      pageId: page.page_id,
      title: `Page_${page.page_id}`,
      domain: page.domain,
      slots: { main: { content: `${page.domain} revision ${revId}` } },
    });
    events.push(
      pageChangeEvent({
        wiki_id: page.wiki_id,
        meta: {
          domain: page.domain,
          uri: `https://${page.domain}/wiki/Page_${page.page_id}`,
          request_id: `order-${i}`,
        },
        page: { page_id: page.page_id, page_title: `Page_${page.page_id}` },
        revision: {
          rev_id: revId,
          rev_parent_id: revId - 1,
          content_slots: { main: { origin_rev_id: revId } },
        },
      }),
    );
  }

  const run = await runJob(t, api, events, {
    enrich: { batch_size: 5, batch_linger_ms: 2 },
    runtime: { max_in_flight: 200 },
  });

  assert.deepEqual(outcomeCounts(run.summary), {
    records: EVENTS,
    enriched: EVENTS,
    passed: 0,
    dropped: 0,
    failed: 0,
    unfinished: 0,
    errors: {},
  });
  assert.ok(api.requests.length >= EVENTS / 5, `${api.requests.length} requests`);
  assert.ok(api.requests.every((r) => r.revIds.length <= 5));
  assert.deepEqual(
    api.requestedRevIds().sort((a, b) => a - b),
    events.map(revOf),
    'each revision requested once',
  );

  // Every input has exactly one output, with the content its own wiki served.
  assert.deepEqual(
    run.outputs.map(revOf).sort((a, b) => a - b),
    events.map(revOf),
  );
  for (const output of run.outputs) {
    const slots = (output.revision as { content_slots: { main: Json } }).content_slots;
    assert.equal(
      slots.main.content_body,
      `${String((output.meta as Json).domain)} revision ${revOf(output)}`,
    );
  }
  await assertValidOutput(run.outputs[0]);

  // Per page, outputs leave in input order.
  const sequence = (list: Json[], key: string) => list.filter((e) => keyOf(e) === key).map(revOf);
  for (const page of PAGES) {
    const key = `${page.wiki_id}/${page.page_id}`;
    const expected = sequence(events, key);
    assert.ok(expected.length > 50, `${key} has ${expected.length} events`);
    assert.deepEqual(sequence(run.outputs, key), expected, `order of ${key}`);
  }

  // Across pages, outputs overtake: some input left before an earlier input of another page, also
  // of another page of the same wiki (keying by wiki alone lost per-page concurrency in the original).
  const position = new Map(run.outputs.map((o, i) => [revOf(o), i]));
  let overtakes = 0;
  let sameWiki = 0;
  for (let i = 0; i < events.length; i++) {
    for (let j = i + 1; j < events.length; j++) {
      const [a, b] = [events[i]!, events[j]!];
      if (keyOf(a) === keyOf(b) || position.get(revOf(b))! > position.get(revOf(a))!) continue;
      overtakes++;
      if (a.wiki_id === b.wiki_id) sameWiki++;
    }
  }
  assert.ok(
    overtakes > 0,
    'no later input of another page ever left before an earlier one: pages were serialised',
  );
  assert.ok(sameWiki > 0, 'pages of one wiki never overtook each other: they were serialised per wiki');
  t.diagnostic(
    `${api.requests.length} requests, at most ${api.maxConcurrent} at once, ${overtakes} overtaking pairs, ${sameWiki} within a wiki`,
  );
});

test('a retried revision holds back the later events of its page, not those of other pages', async (t) => {
  // Revision 40 fails twice with 503; everything else is answered at once.
  const failures = new Map([[40, 2]]);
  const api = await startApi(t, {
    fallback: (request) => {
      const left = failures.get(request.revIds[0]!) ?? 0;
      if (left === 0) return { kind: 'serve' };
      failures.set(request.revIds[0]!, left - 1);
      return { kind: 'status', status: 503 };
    },
  });
  const pages = [1, 1, 2, 1];
  const events = pages.map((pageId, i) => {
    const revId = 40 + i;
    api.addRevision({
      revId,
      pageId,
      title: `Page_${pageId}`,
      slots: { main: { content: `revision ${revId}` } },
    });
    return pageChangeEvent({
      page: { page_id: pageId, page_title: `Page_${pageId}` },
      revision: { rev_id: revId, content_slots: { main: { origin_rev_id: revId } } },
    });
  });
  // Its retries wait 200 + 400 ms: page 2's answer has that long a head start.
  const run = await runJob(t, api, events, {
    enrich: { batch_size: 1, batch_linger_ms: 0, retry: { initial_delay_ms: 200, max_delay_ms: 1000 } },
  });

  assert.deepEqual(outcomeCounts(run.summary), {
    records: 4,
    enriched: 4,
    passed: 0,
    dropped: 0,
    failed: 0,
    unfinished: 0,
    errors: {},
  });
  // The later revisions were fetched before 40 succeeded...
  const served = api.requests.filter((r) => r.behaviour === 'serve').map((r) => r.revIds[0]);
  assert.equal(served.at(-1), 40, `served in the order ${served.join(', ')}`);
  // ...yet page 1's outputs leave in input order, and page 2 did not wait for page 1.
  assert.deepEqual(run.outputs.map(revOf), [42, 40, 41, 43]);
});
