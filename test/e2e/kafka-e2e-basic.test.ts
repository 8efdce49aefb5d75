/**
 * The service on a real broker, Kafka in and Kafka out: page_change events written with kcat to a
 * 4-partition topic are enriched into the output topic, bad ones become error events on the error
 * topic, and the committed offsets reach the end of the input. The service runs from
 * `examples/kafka.yaml` with a second `--config` for this test's broker, topics, group and API, so
 * the documented example is checked against the code too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSummaryLine } from '../helpers/cli.js';
import { e2eRun } from '../helpers/kafka-e2e.js';
import {
  assertOutputsOf,
  assertPerPageOrder,
  EXACTLY_ONE_EACH,
  revisionsOfKey,
} from '../helpers/kafka-e2e-books.js';
import {
  addRevisions,
  editEvent,
  messageKey,
  pageChanges,
  type Input,
  type Json,
} from '../helpers/kafka-e2e-inputs.js';
import { SHARED_SCHEMAS_URI } from '../helpers/schemas.js';

describe('kafka-e2e-basic: Kafka source → Kafka sink and error sink', { timeout: 300_000 }, () => {
  it('outputs match inputs one to one (keys, timestamps, per-page order), bad inputs become error events, offsets committed to the end', async (t) => {
    const started = Date.now();
    const run = await e2eRun(t, 'basic', {
      partitions: { input: 4 },
      api: { seed: 11, minMs: 1, maxMs: 8 },
    });
    const { bootstrap, topics, group, offsets, api } = run;

    const good = pageChanges(400, { pages: 25, seed: 12 });
    const missingRev = editEvent('e2e-missing', 7, 900);
    const bad: Input[] = [
      {
        id: 'e2e-bad-json',
        pageId: 3,
        revId: 0,
        key: messageKey(3),
        value: 'not an event: e2e-bad-json',
        dtMs: 0,
      },
      // page_change_kind outside the schema's enum: fails validation.
      editEvent('e2e-bad-schema', 4, 901, { page_change_kind: 'explode' }),
      editEvent('e2e-bad-domain', 5, 902, {
        meta: { domain: 'evil.example.org', uri: 'https://evil.example.org/wiki/X' },
      }),
      missingRev,
    ];
    // The bad inputs go between the good ones, so events after them have to keep flowing.
    const inputs = [
      ...good.slice(0, 150),
      ...bad.slice(0, 2),
      ...good.slice(150, 300),
      ...bad.slice(2),
      ...good.slice(300),
    ];
    addRevisions(api, inputs, { missing: new Set([missingRev.revId]) });
    const { ends } = await run.produce(inputs);
    assert.equal(ends.size, 4, 'the inputs are spread over all 4 partitions');

    // Layered on examples/kafka.yaml: only what differs for this test (mappings merge key by key).
    const override = await run.write('local.json', {
      stream_manager: {
        schema_uris: [SHARED_SCHEMAS_URI],
        source: {
          options: {
            bootstrap_servers: [bootstrap],
            topics: [topics.input],
            consumer_group: group,
            properties: { 'session.timeout.ms': '6000' },
          },
        },
        sink: { options: { bootstrap_servers: [bootstrap], kafka_topic_prefix: topics.prefix } },
        error_sink: { options: { bootstrap_servers: [bootstrap], kafka_topic_prefix: topics.prefix } },
      },
      enrich: { mediawiki_api_endpoint_template: api.url },
      runtime: { commit_interval_ms: 200, log_level: 'info' },
    });
    const service = run.start(['examples/kafka.yaml', override]);
    await run.finish(service, ends, 120_000);
    assert.deepEqual(parseSummaryLine(service.stderr())?.counts, {
      records: inputs.length,
      enriched: good.length,
      passed: 0,
      dropped: 0,
      failed: bad.length,
      unfinished: 0,
      ...{
        InvalidEventError: 1,
        SchemaValidationError: 1,
        DomainNotAllowedError: 1,
        MissingRevisionError: 1,
      },
    });

    const { outputs, errors, books } = await run.books(inputs);
    assert.deepEqual(books, EXACTLY_ONE_EACH, 'one outcome per input');

    // Outputs: one per good input, content from the API, key and timestamp from the event.
    assertOutputsOf(outputs, good);
    const byId = new Map(inputs.map((i) => [i.id, i]));
    for (const o of outputs) {
      assert.equal(o.timestamp, byId.get(o.id)!.dtMs, 'record timestamp is the event dt');
      assert.equal((o.event.meta as Json).stream, 'mediawiki.page_content_change.v1');
      assert.equal(o.event.$schema, '/mediawiki/page/change/1.2.0');
    }
    assertPerPageOrder(outputs);
    // Every page's outputs, in offset order, are its inputs in input order.
    for (const page of new Set(good.map((g) => g.pageId))) {
      const want = good.filter((g) => g.pageId === page).map((g) => g.revId);
      assert.deepEqual(revisionsOfKey(outputs, messageKey(page)), want, `page ${page}`);
      assert.equal(
        new Set(outputs.filter((o) => o.key === messageKey(page)).map((o) => o.partition)).size,
        1,
        `page ${page} in one partition`,
      );
    }

    // Error events: one per bad input, with its type and the raw input.
    assert.deepEqual(errors.map((e) => [e.id, e.event.error_type, e.event.raw_event]).sort(), [
      ['e2e-bad-domain', 'DomainNotAllowedError', bad[2]!.value],
      ['e2e-bad-json', 'InvalidEventError', bad[0]!.value],
      ['e2e-bad-schema', 'SchemaValidationError', bad[1]!.value],
      ['e2e-missing', 'MissingRevisionError', missingRev.value],
    ]);
    for (const e of errors) {
      assert.equal((e.event.meta as Json).stream, 'mw-page-content-change-enrich.error');
      assert.equal(e.event.emitter_id, 'mw-page-content-change-enrich');
    }
    assert.deepEqual(await offsets.read(ends), ends, 'committed = end offsets');
    console.log(
      `kafka-e2e-basic: ${inputs.length} inputs, ${outputs.length} outputs, ${errors.length} error events in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
