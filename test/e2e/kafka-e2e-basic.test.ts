/**
 * The service on a real broker, Kafka in and Kafka out: page_change events written with kcat to a
 * 4-partition topic are enriched into the output topic, bad ones become error events on the error
 * topic, and the committed offsets reach the end of the input. The service runs from
 * `examples/kafka.yaml` with a second `--config` for this test's broker, topics, group and API, so
 * the documented example is checked against the code too.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ensureBuilt } from '../helpers/cli.js';
import { ensureKafka, uniqueName } from '../helpers/kafka.js';
import {
  account,
  addRevisions,
  assertPerPageOrder,
  contentOf,
  createE2eTopics,
  editEvent,
  endOffsets,
  groupOffsets,
  messageKey,
  pageChanges,
  produceInputs,
  randomLatency,
  readErrors,
  readInputs,
  readOutputs,
  seeded,
  startService,
  summaryCounts,
  waitUntil,
  writeConfig,
  type Input,
  type Json,
} from '../helpers/kafka-e2e.js';
import { startApi, tempDir } from '../helpers/job-harness.js';
import { SHARED_SCHEMAS_URI } from '../helpers/schemas.js';

let bootstrap: string;

describe('kafka-e2e-basic: Kafka source → Kafka sink and error sink', { timeout: 300_000 }, () => {
  before(async () => {
    [bootstrap] = await Promise.all([ensureKafka(), ensureBuilt()]);
  });

  it('outputs match inputs one to one (keys, timestamps, per-page order), bad inputs become error events, offsets committed to the end', async (t) => {
    const started = Date.now();
    const topics = await createE2eTopics(bootstrap, 'basic', { input: 4 });
    const group = uniqueName('e2e-basic');
    const offsets = await groupOffsets(t, bootstrap, group);
    const api = await startApi(t, { fallback: randomLatency(seeded(11), 1, 8) });

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
    await produceInputs(bootstrap, topics.input, inputs);
    const placed = await readInputs(bootstrap, topics.input, inputs);
    const ends = endOffsets([...placed.values()], topics.input);
    assert.equal(ends.size, 4, 'the inputs are spread over all 4 partitions');

    const dir = await tempDir(t, 'kafka-e2e-basic-');
    // Layered on examples/kafka.yaml: only what differs for this test (mappings merge key by key).
    const override = await writeConfig(dir, 'local.json', {
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
    const service = startService(t, ['examples/kafka.yaml', override]);

    await waitUntil('the committed offsets to reach the end of the input', () => offsets.reached(ends), {
      timeoutMs: 120_000,
      intervalMs: 300,
      services: [service],
    });
    const exit = await service.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, service.stderr());
    assert.deepEqual(summaryCounts(service.stderr()), {
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

    const outputs = await readOutputs(bootstrap, topics.output);
    const errors = await readErrors(bootstrap, topics.errors);
    const books = account(inputs, outputs, errors);
    assert.deepEqual(
      books,
      { lost: [], duplicates: 0, duplicatedInputs: 0, unknown: [] },
      'one outcome per input',
    );

    // Outputs: one per good input, content from the API, key and timestamp from the event.
    const byId = new Map(inputs.map((i) => [i.id, i]));
    assert.deepEqual(outputs.map((o) => o.id).sort(), good.map((g) => g.id).sort());
    for (const o of outputs) {
      const input = byId.get(o.id)!;
      const revision = o.event.revision as { rev_id: number; content_slots: { main: Json } };
      assert.equal(revision.rev_id, input.revId);
      assert.equal(revision.content_slots.main.content_body, contentOf(input.revId));
      assert.equal(o.key, messageKey(input.pageId), 'output key is {"wiki_id":…,"page_id":…} of the event');
      assert.equal(o.timestamp, input.dtMs, 'record timestamp is the event dt');
      assert.equal((o.event.meta as Json).stream, 'mediawiki.page_content_change.v1');
      assert.equal(o.event.$schema, '/mediawiki/page/change/1.2.0');
    }
    assertPerPageOrder(outputs);
    // Every page's outputs, in offset order, are its inputs in input order.
    for (const page of new Set(good.map((g) => g.pageId))) {
      const want = good.filter((g) => g.pageId === page).map((g) => g.revId);
      const got = outputs
        .filter((o) => o.key === messageKey(page))
        .sort((a, b) => a.offset - b.offset)
        .map((o) => (o.event.revision as Json).rev_id);
      assert.deepEqual(got, want, `page ${page}`);
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
