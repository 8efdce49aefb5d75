/**
 * The whole service against a real MediaWiki (Debian's 1.39 on SQLite under `php -S`): a fresh wiki is
 * seeded, the page_change events of what was done are written to an NDJSON file, and the CLI runs as
 * users run it (`node bin/mw-enrich.js page-content-change --config examples/config.yaml --config
 * <override>`). A recording proxy in front of the wiki shows which requests the service made.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Validator, type Validate } from '../../src/core/validator.js';
import { ensureBuilt, pageContentChange, parseSummaryLine, runCli } from '../helpers/cli.js';
import { readLines, tempDir } from '../helpers/job-harness.js';
import { startWiki, type RealWiki } from '../helpers/mediawiki-real.js';
import {
  NEVER_SAVED_REV_ID,
  WIKI_DOMAIN,
  seedEnrichmentScenario,
  type Scenario,
  type ScenarioEvent,
} from '../helpers/real-wiki-events.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';
import { SHARED_SCHEMAS_URI, sharedSchemaRepository } from '../helpers/schemas.js';

type Json = Record<string, unknown>;

const USER_AGENT = 'mediawiki-event-enrichment-e2e/0.1 (real MediaWiki test; tests@example.org)';
const OUTPUT_STREAM = 'mediawiki.page_content_change.v1';
const ERROR_STREAM = 'mw-page-content-change-enrich.error';
const MAX_RETRIES = 3;

interface WikiRun {
  code: number | null;
  stderr: string;
  outputs: Json[];
  errors: Json[];
  /** What the service asked the wiki. */
  proxy: RecordingProxy;
}

/**
 * Writes the input lines and an override config into a temp folder and runs the CLI over them with
 * `examples/config.yaml` underneath, against the wiki behind a recording proxy; returns the exit
 * code, standard error, the parsed sink files and the proxy.
 */
async function runAgainstWiki(
  t: TestContext,
  wikiApiUrl: string,
  lines: readonly string[],
  enrich: Json = {},
): Promise<WikiRun> {
  const proxy = await startRecordingProxy(wikiApiUrl);
  t.after(() => proxy.close());
  const dir = await tempDir(t, 'mw-enrich-real-');
  const paths = {
    input: join(dir, 'page-change.ndjson'),
    output: join(dir, 'out', 'content.ndjson'),
    errors: join(dir, 'out', 'errors.ndjson'),
  };
  await writeFile(paths.input, lines.map((l) => `${l}\n`).join(''));
  const override = {
    stream_manager: {
      schema_uris: [SHARED_SCHEMAS_URI],
      source: { options: { path: paths.input } },
      sink: { options: { path: paths.output } },
      error_sink: { options: { path: paths.errors } },
    },
    enrich: {
      // A fixed endpoint: the service sends Host: wiki.local.test, as behind WMF's local API proxy.
      mediawiki_api_endpoint_template: proxy.apiUrl,
      allowed_domains: [WIKI_DOMAIN],
      user_agent: USER_AGENT,
      ...enrich,
      retry: {
        max_retries: MAX_RETRIES,
        initial_delay_ms: 20,
        multiplier: 2,
        max_delay_ms: 100,
        jitter: 0,
        retry_after_cap_ms: 2_000,
        // The "recent" event was stamped during seeding; a slow start must not make it old.
        recent_event_window_ms: 300_000,
        ...(enrich.retry as Json | undefined),
      },
    },
    runtime: { log_level: 'warn', commit_interval_ms: 50 },
  };
  const config = join(dir, 'override.yaml');
  await writeFile(config, JSON.stringify(override, null, 2)); // JSON is YAML

  const { code, stderr } = await runCli(t, pageContentChange('examples/config.yaml', config));
  return {
    code,
    stderr,
    outputs: (await readLines(paths.output)).map((l) => JSON.parse(l) as Json),
    errors: (await readLines(paths.errors)).map((l) => JSON.parse(l) as Json),
    proxy,
  };
}

/** The summary line the CLI must print for these expectations. */
function expectedSummary(events: readonly ScenarioEvent[]): string {
  const n = (outcome: string) => events.filter((e) => e.expected.outcome === outcome).length;
  const errors = new Map<string, number>();
  for (const e of events) {
    if (e.expected.outcome === 'failed')
      errors.set(e.expected.errorType, (errors.get(e.expected.errorType) ?? 0) + 1);
  }
  return (
    `summary: records=${events.length} enriched=${n('enriched')} passed=${n('passed')} dropped=0 failed=${n('failed')} ` +
    `unfinished=0 errors: ${[...errors].map(([type, count]) => `${type}=${count}`).join(' ')}`
  );
}

/** The event without what the output normalisation replaces (`meta.id`, `meta.dt`, `meta.stream`). */
function withoutNormalised(event: Json): Json {
  const copy = structuredClone(event);
  const meta = copy.meta as Json;
  delete meta.id;
  delete meta.dt;
  delete meta.stream;
  return copy;
}

function mainSlot(event: Json): Json {
  return ((event.revision as Json).content_slots as Record<string, Json>).main!;
}

function requestIdOf(event: Json): string {
  return String((event.meta as Json).request_id);
}

/** Outputs of each page in the order they were written, by request id. */
function perPage(events: readonly Json[]): Map<number, string[]> {
  const pages = new Map<number, string[]>();
  for (const e of events) {
    const pageId = (e.page as Json).page_id as number;
    pages.set(pageId, [...(pages.get(pageId) ?? []), requestIdOf(e)]);
  }
  return pages;
}

/** Events that need the wiki (enriched, or failing on the wiki's answer), grouped by revision. */
function fetchingByRevision(events: readonly ScenarioEvent[]): Map<number, ScenarioEvent[]> {
  const byRev = new Map<number, ScenarioEvent[]>();
  for (const e of events) {
    if (e.expected.outcome === 'passed') continue;
    byRev.set(e.revId, [...(byRev.get(e.revId) ?? []), e]);
  }
  return byRev;
}

describe('the service against a real MediaWiki', { timeout: 900_000 }, () => {
  let wiki: RealWiki;
  let scenario: Scenario;
  let validatePageChange: Validate;
  let validateError: Validate;

  before(async () => {
    // Build and start the wiki side by side; a wiki that started is kept for after() to stop even
    // when the build failed.
    const [built, started] = await Promise.allSettled([ensureBuilt(), startWiki()]);
    if (started.status === 'fulfilled') wiki = started.value;
    if (built.status === 'rejected') throw built.reason;
    if (started.status === 'rejected') throw started.reason;
    const validator = new Validator(sharedSchemaRepository());
    validatePageChange = await validator.forSchema('/mediawiki/page/change/1.2.0');
    validateError = await validator.forSchema('/error/2.1.0');
    scenario = await seedEnrichmentScenario(wiki);
  });

  after(async () => {
    await wiki?.stop();
  });

  const assertValid = (validate: Validate, event: Json, what: string) => {
    const result = validate(event);
    assert.ok(
      result.valid,
      `${what} is invalid against the shared schema: ${result.valid ? '' : result.message}\n${JSON.stringify(event)}`,
    );
  };

  test('the seeded JSON page is stored normalised, not as sent', () => {
    // Otherwise the byte comparison of the JSON page below would not show that the wiki's form is emitted.
    for (const { sent, stored } of scenario.json) {
      assert.notEqual(stored.text, sent);
      assert.deepEqual(JSON.parse(stored.text), JSON.parse(sent));
      assert.equal(stored.text, JSON.stringify(JSON.parse(sent), null, '\t'));
    }
  });

  test('every event ends as the wiki dictates: contents byte-equal, per-page order, error events, requests', async (t) => {
    const { events } = scenario;
    const run = await runAgainstWiki(
      t,
      wiki.apiUrl,
      events.map((e) => e.line),
    );
    const { proxy } = run;

    assert.equal(run.code, 0, run.stderr);
    assert.equal(parseSummaryLine(run.stderr)?.line, expectedSummary(events), run.stderr);
    assert.equal(
      parseSummaryLine(run.stderr)?.line,
      'summary: records=16 enriched=10 passed=3 dropped=0 failed=3 unfinished=0 errors: MissingRevisionError=3',
    );

    // Outputs: one per enriched or passed input, each valid, equal to its input apart from the
    // normalisation and the content, which is byte for byte what the wiki stored.
    const byRequestId = new Map(events.map((e) => [e.requestId, e]));
    const expectedOutputs = events.filter((e) => e.expected.outcome !== 'failed');
    assert.equal(run.outputs.length, expectedOutputs.length);
    assert.deepEqual(new Set(run.outputs.map(requestIdOf)), new Set(expectedOutputs.map((e) => e.requestId)));
    for (const output of run.outputs) {
      const input = byRequestId.get(requestIdOf(output))!;
      assertValid(validatePageChange, output, `output for ${input.name}`);
      assert.equal(output.$schema, '/mediawiki/page/change/1.2.0');
      const meta = output.meta as Json;
      assert.equal(meta.stream, OUTPUT_STREAM);
      assert.notEqual(meta.id, (input.event.meta as Json).id, 'a new meta.id');
      const expected = structuredClone(input.event);
      if (input.expected.outcome === 'enriched' && input.expected.body !== undefined) {
        mainSlot(expected).content_body = input.expected.body;
        const body = mainSlot(output).content_body;
        assert.equal(typeof body, 'string', input.name);
        assert.ok(
          Buffer.from(body as string).equals(Buffer.from(input.expected.body)),
          `${input.name}: content_body is the stored text`,
        );
      } else {
        assert.equal('content_body' in mainSlot(output), false, `${input.name}: no content_body`);
      }
      assert.deepEqual(withoutNormalised(output), withoutNormalised(expected), input.name);
    }
    // The JSON page's output carries the wiki's normalised text, not the text sent.
    const jsonOutputs = run.outputs.filter((o) => mainSlot(o).content_model === 'json');
    assert.deepEqual(
      jsonOutputs.map((o) => mainSlot(o).content_body),
      scenario.json.map((j) => j.stored.text),
    );

    // Per page, the outputs leave in input order.
    assert.deepEqual(perPage(run.outputs), perPage(expectedOutputs.map((e) => e.event)));

    // Error events: valid error/2.1.0, the type, and the input line unchanged as raw_event (the lines
    // are spaced, so an event serialised again would differ).
    const expectedErrors = events.filter((e) => e.expected.outcome === 'failed');
    assert.equal(run.errors.length, expectedErrors.length);
    const byLine = new Map(expectedErrors.map((e) => [e.line, e]));
    for (const error of run.errors) {
      assertValid(validateError, error, 'error event');
      const input = byLine.get(String(error.raw_event));
      assert.ok(
        input,
        `raw_event is one of the failing input lines: ${String(error.raw_event).slice(0, 200)}`,
      );
      byLine.delete(input.line);
      assert.equal(
        error.error_type,
        input.expected.outcome === 'failed' && input.expected.errorType,
        input.name,
      );
      assert.equal(error.$schema, '/error/2.1.0');
      assert.equal((error.meta as Json).stream, ERROR_STREAM);
      assert.equal((error.meta as Json).domain, WIKI_DOMAIN);
      assert.equal(error.emitter_id, 'mw-page-content-change-enrich');
      assert.equal(error.errored_stream_name, 'mediawiki.page_change.v1');
      assert.equal(error.errored_schema_uri, '/mediawiki/page/change/1.2.0');
    }
    assert.equal(byLine.size, 0, 'one error event per failing input');

    // Requests: well-formed and anonymous; each revision asked for once, a missing revision of a
    // recent event 1 + max_retries times, an old one once. The delete asks nothing: its revision is
    // asked for once, by the old edit event of the same revision.
    for (const request of proxy.requests) {
      const params = new URL(request.url, 'http://x').searchParams;
      assert.equal(request.method, 'GET');
      assert.equal(request.status, 200);
      assert.equal(request.headers.host, WIKI_DOMAIN);
      assert.equal(request.headers['user-agent'], USER_AGENT);
      assert.equal(request.headers.cookie, undefined);
      assert.deepEqual(
        [
          params.get('action'),
          params.get('prop'),
          params.get('format'),
          params.get('formatversion'),
          params.get('rvslots'),
          params.get('maxlag'),
        ],
        ['query', 'revisions', 'json', '2', '*', '5'],
      );
      assert.ok(request.revIds.length >= 1 && request.revIds.length <= 50, request.url);
    }
    const fetching = fetchingByRevision(events);
    assert.deepEqual(
      new Set(proxy.requests.flatMap((r) => r.revIds)),
      new Set(fetching.keys()),
      'exactly the revisions of events that need the wiki were asked for',
    );
    for (const [revId, wanting] of fetching) {
      const n = proxy.requestsFor(revId).length;
      const first = wanting[0]!;
      if (wanting.length === 1) {
        const retried = first.expected.outcome === 'failed' && first.expected.retried;
        assert.equal(n, retried ? 1 + MAX_RETRIES : 1, `requests for ${first.name} (rev ${revId})`);
      } else {
        // Several events of one revision share a request when they meet in one batch.
        assert.ok(n >= 1 && n <= wanting.length, `requests for rev ${revId}: ${n}`);
      }
    }
    assert.equal(proxy.requestsFor(NEVER_SAVED_REV_ID).length, 1);
  });

  test('maxlag: every enrichable event ends as a MaxlagError after exactly 2 attempts, Retry-After honoured', async (t) => {
    // A single-database wiki reports a lag of -1, so only maxlag=-2 makes it refuse (Retry-After: 5).
    const { events } = scenario;
    const run = await runAgainstWiki(
      t,
      wiki.apiUrl,
      events.map((e) => e.line),
      {
        maxlag: -2,
        retry: { max_retries: 1, retry_after_cap_ms: 1_000 },
      },
    );
    const { proxy } = run;

    assert.equal(run.code, 0, run.stderr);
    // The missing revisions are refused before the wiki looks for them: MaxlagError too.
    const refused = events.filter((e) => e.expected.outcome !== 'passed');
    assert.equal(
      parseSummaryLine(run.stderr)?.line,
      `summary: records=${events.length} enriched=0 passed=${events.length - refused.length} dropped=0 failed=${refused.length} unfinished=0 errors: MaxlagError=${refused.length}`,
    );
    assert.equal(refused.length, 13);

    // Deletes and events that say the content is hidden need no request: they still pass, each after
    // the refused events before it on its page (pages finish in any order).
    const passed = events.filter((e) => e.expected.outcome === 'passed');
    assert.deepEqual(perPage(run.outputs), perPage(passed.map((e) => e.event)));
    for (const output of run.outputs) assertValid(validatePageChange, output, 'output');

    assert.equal(run.errors.length, refused.length);
    const lines = new Map(refused.map((e) => [e.line, e]));
    for (const error of run.errors) {
      assertValid(validateError, error, 'error event');
      assert.equal(error.error_type, 'MaxlagError');
      assert.match(String(error.message), /lag/i);
      assert.ok(lines.delete(String(error.raw_event)), 'raw_event is a refused input line, once');
    }
    assert.equal(lines.size, 0);

    // Every request was refused by the wiki itself (its MediaWiki-API-Error header), with maxlag=-2.
    assert.ok(proxy.requests.length > 0);
    for (const request of proxy.requests) {
      assert.equal(request.apiError, 'maxlag');
      assert.equal(new URL(request.url, 'http://x').searchParams.get('maxlag'), '-2');
    }
    for (const [revId, wanting] of fetchingByRevision(events)) {
      const requests = proxy.requestsFor(revId);
      if (wanting.length === 1) {
        assert.equal(requests.length, 2, `attempts for ${wanting[0]!.name} (rev ${revId})`);
        // The retry waited for Retry-After (5 s) capped at 1 s, not for the 20 ms backoff. The first
        // request's arrival precedes its answer, so the gap is at least the wait (timers may fire a
        // millisecond early, hence the small margin).
        assert.ok(
          requests[1]!.atMs - requests[0]!.atMs >= 995,
          `retry of rev ${revId} after ${requests[1]!.atMs - requests[0]!.atMs} ms`,
        );
      } else {
        assert.ok(
          requests.length >= 2 && requests.length <= 2 * wanting.length,
          `attempts for rev ${revId}: ${requests.length}`,
        );
      }
    }
  });
});
