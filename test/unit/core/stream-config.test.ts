import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../../src/core/errors.js';
import { loadStreamConfigs, parseStreamRef, schemaUriFor } from '../../../src/core/stream-config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stream-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  await writeFile(join(dir, name), text);
  return pathToFileURL(join(dir, name)).href;
}

function configErrorFor(key: string, message: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.key, key);
    assert.match(e.message, message);
    return true;
  };
}

const PAGE_CHANGE = {
  schema_title: 'mediawiki/page/change',
  topics: ['eqiad.mediawiki.page_change.v1', 'codfw.mediawiki.page_change.v1'],
  message_key_fields: { wiki_id: 'wiki_id', page_id: 'page.page_id' },
  destination_event_service: 'eventgate-main',
};

describe('parseStreamRef', () => {
  it('splits the stream name from the pinned version', () => {
    assert.deepEqual(parseStreamRef('mediawiki.page_change.v1:1.2.0'), {
      stream: 'mediawiki.page_change.v1',
      version: '1.2.0',
    });
    assert.deepEqual(parseStreamRef('mediawiki.page_change.v1'), {
      stream: 'mediawiki.page_change.v1',
      version: undefined,
    });
  });

  it('names the key of a bad reference', () => {
    assert.throws(
      () => parseStreamRef(':1.2.0', 'sink.stream'),
      configErrorFor('sink.stream', /has no stream name/),
    );
    assert.throws(() => parseStreamRef('s:1.2/0'), configErrorFor('stream', /invalid schema version/));
    assert.throws(() => parseStreamRef('s:'), configErrorFor('stream', /invalid schema version/));
  });
});

describe('loadStreamConfigs from a file', () => {
  it('reads JSON with explicit topics and message key fields', async () => {
    const uri = await configFile(
      'streams.json',
      JSON.stringify({
        streams: { 'mediawiki.page_change.v1': PAGE_CHANGE, 'other.stream': { schema_title: 'x' } },
      }),
    );
    const configs = await loadStreamConfigs(uri, ['mediawiki.page_change.v1']);
    const settings = configs.get('mediawiki.page_change.v1');
    assert.deepEqual(settings, {
      stream: 'mediawiki.page_change.v1',
      schema_title: 'mediawiki/page/change',
      topics: ['eqiad.mediawiki.page_change.v1', 'codfw.mediawiki.page_change.v1'],
      message_key_fields: { wiki_id: 'wiki_id', page_id: 'page.page_id' },
      settings: PAGE_CHANGE,
    });
    assert.equal(configs.get('mediawiki.page_change.v1'), settings, 'resolved once');
    assert.deepEqual(configs.get('other.stream').topics, ['other.stream']);
    assert.equal(schemaUriFor(settings, '1.2.0'), '/mediawiki/page/change/1.2.0');
    assert.equal(schemaUriFor(settings, undefined), '/mediawiki/page/change/latest');
  });

  it('reads YAML with topic prefixes and regex stream names', async () => {
    const uri = await configFile(
      'streams.yaml',
      [
        'streams:',
        '  /^mediawiki\\.job\\..+/:',
        '    schema_title: mediawiki/job',
        '    topic_prefixes: [eqiad., codfw.]',
        "    topics: ['/^(eqiad\\.|codfw\\.)mediawiki\\.job\\..+/']",
        '  /^mediawiki\\.job\\.special$/:',
        '    schema_title: never/chosen',
        '  mediawiki.job.special:',
        '    schema_title: mediawiki/job/special',
        '  /^MW\\.CASE$/i:',
        '    schema_title: case/insensitive',
      ].join('\n'),
    );
    const configs = await loadStreamConfigs(uri, ['mediawiki.job.refreshLinks', 'mw.case']);
    const job = configs.get('mediawiki.job.refreshLinks');
    assert.equal(job.schema_title, 'mediawiki/job');
    assert.deepEqual(job.topics, ['eqiad.mediawiki.job.refreshLinks', 'codfw.mediawiki.job.refreshLinks']);
    assert.equal(job.message_key_fields, undefined);
    // An exact name wins over an earlier regex that also matches.
    assert.equal(configs.get('mediawiki.job.special').schema_title, 'mediawiki/job/special');
    assert.equal(configs.get('mw.case').schema_title, 'case/insensitive');
  });

  it('names a stream that is not configured', async () => {
    const uri = await configFile('one.json', JSON.stringify({ streams: { a: { schema_title: 'a' } } }));
    await assert.rejects(
      loadStreamConfigs(uri, ['a', 'mediawiki.page_change.v1']),
      configErrorFor('mediawiki.page_change.v1', /not in the stream config/),
    );
    const configs = await loadStreamConfigs(uri, ['a']);
    assert.throws(() => configs.get('b'), configErrorFor('b', /not in the stream config \(file:/));
  });

  it('refuses malformed settings with the key named', async () => {
    const uri = await configFile(
      'bad.json',
      JSON.stringify({
        streams: {
          untitled: { topics: ['t'] },
          badtopics: { schema_title: 's', topics: 't' },
          badkeys: { schema_title: 's', message_key_fields: { wiki_id: 1 } },
        },
      }),
    );
    const configs = await loadStreamConfigs(uri, []);
    assert.throws(() => configs.get('untitled'), configErrorFor('untitled.schema_title', /non-empty string/));
    assert.throws(() => configs.get('badtopics'), configErrorFor('badtopics.topics', /list of strings/));
    assert.throws(() => configs.get('badkeys'), configErrorFor('badkeys.message_key_fields', /field paths/));
    const noStreams = await configFile('empty.yaml', 'streamz: {}\n');
    await assert.rejects(
      loadStreamConfigs(noStreams, []),
      configErrorFor('stream_config_uri', /has no "streams" mapping/),
    );
    const badRegex = await configFile(
      'regex.json',
      JSON.stringify({ streams: { '/(/': { schema_title: 's' } } }),
    );
    await assert.rejects(loadStreamConfigs(badRegex, []), configErrorFor('/(/', /invalid stream name regex/));
    await assert.rejects(
      loadStreamConfigs('ftp://example.org/streams', []),
      configErrorFor('stream_config_uri', /must be a file/),
    );
  });
});

describe('loadStreamConfigs from the EventStreamConfig API', () => {
  const requests: URL[] = [];
  let body = '';
  let base = '';
  const server = createServer((req, res) => {
    requests.push(new URL(req.url ?? '/', 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/w/api.php`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchText = async (url: string): Promise<string> => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.text();
  };

  it('asks for all settings of exactly the wanted streams', async () => {
    requests.length = 0;
    body = JSON.stringify({
      streams: {
        'mediawiki.page_change.v1': PAGE_CHANGE,
        'mediawiki.page_content_change.v1': {
          schema_title: 'mediawiki/page/change',
          topic_prefixes: ['eqiad.'],
        },
      },
    });
    const configs = await loadStreamConfigs(
      base,
      ['mediawiki.page_change.v1', 'mediawiki.page_content_change.v1'],
      fetchText,
    );
    assert.equal(requests.length, 1);
    const url = requests[0]!;
    assert.equal(url.pathname, '/w/api.php');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      action: 'streamconfigs',
      format: 'json',
      all_settings: 'true',
      streams: 'mediawiki.page_change.v1|mediawiki.page_content_change.v1',
    });
    assert.deepEqual(configs.get('mediawiki.page_change.v1').topics, PAGE_CHANGE.topics);
    assert.deepEqual(configs.get('mediawiki.page_content_change.v1').topics, [
      'eqiad.mediawiki.page_content_change.v1',
    ]);
  });

  it('reports an API error and a stream the API does not know', async () => {
    body = JSON.stringify({ error: { code: 'badvalue', info: 'Unrecognized value for parameter "action"' } });
    await assert.rejects(
      loadStreamConfigs(base, ['a'], fetchText),
      configErrorFor('stream_config_uri', /answered badvalue: Unrecognized value/),
    );
    body = JSON.stringify({ streams: {} });
    await assert.rejects(
      loadStreamConfigs(base, ['a'], fetchText),
      configErrorFor('a', /not in the stream config \(http:\/\/127\.0\.0\.1/),
    );
  });

  it('needs fetchText for an http URI', async () => {
    await assert.rejects(
      loadStreamConfigs(base, ['a']),
      configErrorFor('stream_config_uri', /no HTTP client/),
    );
  });
});
