/**
 * Drop-in for eventutilities-python: a configuration of the shape WMF deploys its enrichment jobs
 * with (every key of spec.md's list, string-valued Kafka properties, the stream config from the
 * EventStreamConfig API through http_client_routes), with only the bootstrap servers, the endpoints,
 * the schema path and — so that tests on one broker do not meet — the topic prefix and consumer
 * group swapped. Run on the real broker, it enriches.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { parseSummaryLine } from '../helpers/cli.js';
import { e2eRun, JOB_NAME } from '../helpers/kafka-e2e.js';
import { assertOutputsOf, assertPerPageOrder, EXACTLY_ONE_EACH } from '../helpers/kafka-e2e-books.js';
import { addRevisions, pageChanges } from '../helpers/kafka-e2e-inputs.js';
import { SHARED_SCHEMAS_URI } from '../helpers/schemas.js';

/** A stand-in for meta.wikimedia.org's EventStreamConfig API; records what it was asked. */
async function streamConfigApi(t: TestContext, topics: { input: string; prefix: string }) {
  const asked: string[] = [];
  const streams = {
    'mediawiki.page_change.v1': {
      schema_title: 'mediawiki/page/change',
      topics: [topics.input],
      message_key_fields: { wiki_id: 'wiki_id', page_id: 'page.page_id' },
    },
    'mediawiki.page_content_change.v1': {
      schema_title: 'mediawiki/page/change',
      topics: [`${topics.prefix}mediawiki.page_content_change.v1`],
      message_key_fields: { wiki_id: 'wiki_id', page_id: 'page.page_id' },
    },
    [`${JOB_NAME}.error`]: { schema_title: 'error', topics: [`${topics.prefix}${JOB_NAME}.error`] },
  };
  const server = createServer((req, res) => {
    asked.push(`${String(req.headers.host)} ${req.url ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ streams }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

describe('kafka-e2e-wmf-config: a WMF production config, endpoints swapped', { timeout: 300_000 }, () => {
  it('is accepted as it is and enriches on the real broker', async (t) => {
    const run = await e2eRun(t, 'wmf', { partitions: { input: 3 }, api: { seed: 31, minMs: 1, maxMs: 5 } });
    const inputs = pageChanges(300, { pages: 20, seed: 32 });
    addRevisions(run.api, inputs);
    const { ends, total } = await run.produce(inputs);
    const meta = await streamConfigApi(t, run.topics);
    const kafka = (extra: Record<string, unknown>) => ({ bootstrap_servers: [run.bootstrap], ...extra });
    const producerProperties = { 'max.request.size': '10485760', 'compression.type': 'zstd' };

    const config = await run.write('wmf.json', {
      stream_manager: {
        job_name: JOB_NAME,
        stream_config_uri: 'https://meta.wikimedia.org/w/api.php',
        schema_uris: [SHARED_SCHEMAS_URI],
        http_client_routes: { 'https://meta.wikimedia.org': meta.url },
        process_async_enabled_default: true,
        process_batch_size_default: 1,
        process_max_workers_default: 1,
        source: {
          stream: 'mediawiki.page_change.v1:1.2.0',
          connector: 'kafka',
          parallelism: 2,
          options: kafka({
            topics: [run.topics.input],
            consumer_group: run.group,
            offsets_initializer: 'earliest',
            properties: { 'session.timeout.ms': '6000', 'security.protocol': 'PLAINTEXT' },
          }),
        },
        sink: {
          stream: 'mediawiki.page_content_change.v1:1.2.0',
          connector: 'kafka',
          options: kafka({
            kafka_topic_prefix: run.topics.prefix,
            delivery_guarantee: 'AT_LEAST_ONCE',
            properties: producerProperties,
          }),
        },
        error_sink: {
          stream: `${JOB_NAME}.error:2.1.0`,
          connector: 'kafka',
          options: kafka({
            kafka_topic_prefix: run.topics.prefix,
            delivery_guarantee: 'AT_LEAST_ONCE',
            properties: producerProperties,
          }),
        },
      },
      enrich: {
        mediawiki_api_endpoint_template: run.api.url,
        // Debian's bundle; unused by the plain-HTTP endpoint here, but read and checked at start.
        ssl_ca_bundle_path: '/etc/ssl/certs/ca-certificates.crt',
        request_timeout: 65,
        max_content_size: 58720256,
        user_agent: 'mediawiki-event-enrichment-tests/0.1 (wmf config; tests@example.org)',
      },
    });

    const service = run.start(config, 'wmf');
    await run.finish(service, ends, 120_000);
    const { outputs, errors, books } = await run.books(inputs);
    assert.deepEqual(books, EXACTLY_ONE_EACH);
    assert.equal(outputs.length, total);
    assert.deepEqual(errors, []);
    assertOutputsOf(outputs, inputs);
    assertPerPageOrder(outputs);
    assert.match(
      parseSummaryLine(service.stderr())?.line ?? '',
      new RegExp(`records=${total} enriched=${total} `),
    );
    // The stream config came through the route, asked for with the original host.
    assert.ok(meta.asked.length > 0);
    for (const line of meta.asked)
      assert.match(line, /^meta\.wikimedia\.org \/w\/api\.php\?action=streamconfigs&/);
  });
});
