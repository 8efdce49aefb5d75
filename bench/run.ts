/**
 * Throughput of the whole job, file in → file out, against a stub Action API in another process.
 * Prints one line per scenario: events/s, output MB/s, requests made, CPU time of this process.
 *
 *   npm run bench            (BENCH_SCALE=0.2 for a quicker, smaller run)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { runPageContentChangeJob } from '../src/runtime/main.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const scale = Number(process.env.BENCH_SCALE ?? 1);

interface Scenario {
  name: string;
  events: number;
  pages: number;
  contentBytes: number;
  batchSize: number;
}

const scenarios: Scenario[] = [
  { name: 'small pages (1 KB), batch 50', events: 20_000, pages: 5_000, contentBytes: 1_000, batchSize: 50 },
  { name: 'small pages (1 KB), batch 1', events: 5_000, pages: 5_000, contentBytes: 1_000, batchSize: 1 },
  { name: 'hot pages (1 KB), 20 pages, batch 50', events: 10_000, pages: 20, contentBytes: 1_000, batchSize: 50 },
  { name: 'large pages (100 KB), batch 50', events: 2_000, pages: 2_000, contentBytes: 100_000, batchSize: 50 },
];

function event(i: number, pages: number): string {
  const pageId = (i % pages) + 1;
  const dt = '2026-11-24T00:00:00Z';
  return JSON.stringify({
    $schema: '/mediawiki/page/change/1.2.0',
    changelog_kind: 'update',
    dt,
    meta: { domain: 'en.wikipedia.org', dt, stream: 'mediawiki.page_change.v1', id: `id-${i}` },
    page: { page_id: pageId, page_title: `Page_${pageId}`, namespace_id: 0, is_redirect: false },
    page_change_kind: 'edit',
    performer: { user_text: 'Bench', user_id: 1 },
    revision: {
      rev_id: i + 1,
      rev_dt: dt,
      rev_parent_id: i,
      rev_size: 1000,
      is_content_visible: true,
      content_slots: { main: { slot_role: 'main', content_model: 'wikitext', content_format: 'text/x-wiki', origin_rev_id: i + 1 } },
    },
    wiki_id: 'enwiki',
  });
}

async function startStub(contentBytes: number): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/stub-api.ts')], {
    env: { ...process.env, CONTENT_BYTES: String(contentBytes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(chunk.toString().trim()), stop: () => child.kill('SIGTERM') };
}

async function run(s: Scenario): Promise<string> {
  const events = Math.max(100, Math.round(s.events * scale));
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-bench-'));
  const stub = await startStub(s.contentBytes);
  try {
    const input = join(dir, 'in.ndjson');
    const lines: string[] = [];
    for (let i = 0; i < events; i++) lines.push(event(i, s.pages));
    await writeFile(input, `${lines.join('\n')}\n`);
    const config = {
      stream_manager: {
        job_name: 'bench',
        stream_config_uri: join(root, 'examples/stream-config.yaml'),
        schema_uris: [join(root, 'schemas/primary/jsonschema')],
        source: { stream: 'mediawiki.page_change.v1:1.2.0', connector: 'file', options: { path: input } },
        sink: { stream: 'mediawiki.page_content_change.v1:1.2.0', connector: 'file', options: { path: join(dir, 'out.ndjson') } },
        error_sink: { stream: 'mw-page-content-change-enrich.error:2.1.0', connector: 'file', options: { path: join(dir, 'err.ndjson') } },
      },
      enrich: {
        mediawiki_api_endpoint_template: `http://127.0.0.1:${stub.port}/w/api.php`,
        batch_size: s.batchSize,
        max_concurrent_requests: 8,
      },
      runtime: { max_in_flight: 2_000 },
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { summary } = await runPageContentChangeJob(config, { logger: pino({ level: 'silent' }), signals: [] });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const outBytes = (await stat(join(dir, 'out.ndjson'))).size;
    const errors = (await readFile(join(dir, 'err.ndjson'), 'utf8')).length;
    if (summary.outcomes.enriched !== events || errors !== 0) {
      throw new Error(`${s.name}: expected ${events} enriched, got ${JSON.stringify(summary)}`);
    }
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return [
      s.name.padEnd(40),
      `${events} events`.padStart(14),
      `${Math.round(events / seconds)} events/s`.padStart(16),
      `${(outBytes / 1e6 / seconds).toFixed(1)} MB/s out`.padStart(14),
      `${((cpuSeconds / events) * 1e6).toFixed(0)} µs CPU/event`.padStart(18),
    ].join(' ');
  } finally {
    stub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, BENCH_SCALE=${scale}; stub API in a separate process on the same machine`);
for (const s of scenarios) console.log(await run(s));
