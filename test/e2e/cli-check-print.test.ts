/**
 * `--check` loads the config, the stream configs and the schemas and checks the file paths without
 * connecting anywhere or writing anything; `--print-config` prints the resolved config, defaults
 * filled in and secrets masked.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ensureBuilt, pageContentChange, runCli, writeCliJob } from '../helpers/cli.js';
import { pageChangeEvent } from '../helpers/events.js';
import { jobConfig, type Json } from '../helpers/job-harness.js';

before(() => ensureBuilt());

/** Nothing listens here: a run that connected would fail or hang, --check must not care. */
const DEAD = '127.0.0.1:1';

const kafkaEverywhere: Json = {
  stream_manager: {
    source: {
      connector: 'kafka',
      options: {
        path: undefined,
        bootstrap_servers: DEAD,
        consumer_group: 'check',
        properties: {
          'sasl.username': 'svc',
          'sasl.password': 'hunter2',
          'security.protocol': 'SASL_SSL',
          'sasl.mechanism': 'PLAIN',
        },
      },
    },
    sink: {
      connector: 'kafka',
      options: { path: undefined, bootstrap_servers: DEAD, properties: { 'max.request.size': '10485760' } },
    },
    error_sink: { connector: 'kafka', options: { path: undefined, bootstrap_servers: [DEAD] } },
  },
};

describe('--check and --print-config', () => {
  test('--check: a good config with Kafka everywhere and a dead broker → exit 0, nothing connected or written', async (t) => {
    const { paths, config } = await writeCliJob(
      t,
      [pageChangeEvent()],
      `http://${DEAD}/w/api.php`,
      kafkaEverywhere,
    );
    const run = await runCli(t, [...pageContentChange(config), '--check']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, 'configuration ok\n');
    assert.equal(existsSync(paths.output), false);
  });

  test('--check: a file job whose paths and schemas are fine → exit 0, no output file created', async (t) => {
    const { paths, config } = await writeCliJob(t, [pageChangeEvent()], `http://${DEAD}/w/api.php`);
    const run = await runCli(t, [...pageContentChange(config), '--check']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(existsSync(paths.output), false);
    assert.equal(existsSync(paths.errors), false);
  });

  test('--check: a librdkafka property librdkafka does not know → exit 2 naming the properties key, nothing connected', async (t) => {
    const unknownProperty: Json = {
      stream_manager: {
        ...(kafkaEverywhere.stream_manager as Json),
        sink: {
          connector: 'kafka',
          options: { path: undefined, bootstrap_servers: DEAD, properties: { 'no.such.property': 'x' } },
        },
      },
    };
    const { paths, config } = await writeCliJob(
      t,
      [pageChangeEvent()],
      `http://${DEAD}/w/api.php`,
      unknownProperty,
    );
    const run = await runCli(t, [...pageContentChange(config), '--check']);
    assert.equal(run.code, 2, run.stderr);
    assert.ok(
      run.stderr.startsWith('configuration error: stream_manager.sink.options.properties'),
      run.stderr,
    );
    assert.match(run.stderr, /no\.such\.property/);
    assert.equal(existsSync(paths.output), false);
  });

  for (const [what, overrides, key] of [
    [
      'a stream the stream config lacks',
      { stream_manager: { sink: { stream: 'no.such.stream:1.0.0' } } },
      'no.such.stream',
    ],
    [
      'a schema version no repository has',
      { stream_manager: { sink: { stream: 'mediawiki.page_content_change.v1:9.9.9' } } },
      'stream_manager.schema_uris',
    ],
    ['an unknown key', { enrich: { batch_sise: 10 } }, 'enrich.batch_sise'],
    ['a sink writing over the source', {}, 'stream_manager.sink.options.path'],
  ] as const) {
    test(`--check: ${what} → exit 2 naming ${key}`, async (t) => {
      const endpoint = `http://${DEAD}/w/api.php`;
      const { paths, config } = await writeCliJob(t, [pageChangeEvent()], endpoint, overrides);
      if (what === 'a sink writing over the source') {
        const onSource = { stream_manager: { sink: { options: { path: paths.input } } } };
        await writeFile(config, JSON.stringify(jobConfig(paths, endpoint, onSource)));
      }
      const run = await runCli(t, [...pageContentChange(config), '--check']);
      assert.equal(run.code, 2, run.stderr);
      assert.ok(run.stderr.startsWith(`configuration error: ${key}`), run.stderr);
    });
  }

  test('--print-config: the resolved config with every default, secrets masked, exit 0', async (t) => {
    const { paths, config } = await writeCliJob(
      t,
      [pageChangeEvent()],
      `http://${DEAD}/w/api.php`,
      kafkaEverywhere,
    );
    const run = await runCli(t, [...pageContentChange(config), '--print-config']);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /hunter2/);
    const printed = parseYaml(run.stdout) as Json;
    const sm = printed.stream_manager as { source: { options: Json } };
    assert.deepEqual(sm.source.options.properties, {
      'sasl.username': 'svc',
      'sasl.password': '********',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'PLAIN',
    });
    // Defaults filled in, from the declarations.
    assert.equal(sm.source.options.offsets_initializer, 'earliest');
    assert.equal(sm.source.options.max_buffered_bytes, 64 * 1024 * 1024);
    assert.equal((printed.enrich as Json).maxlag, 5);
    assert.equal((printed.enrich as Json).request_timeout, 5, 'the test config sets 5 s');
    assert.deepEqual((printed.enrich as { retry: Json }).retry.max_retries, 3);
    assert.equal((printed.runtime as Json).max_in_flight, 1000);
    assert.equal((printed.runtime as Json).max_json_depth, 64);
    assert.equal(existsSync(paths.output), false);
  });
});
