/**
 * The whole job, file in → file out, against a zero-latency stub Action API in another process, side
 * by side with the CPU floor (bench/floor.ts) for the same events in the same run. Prints one line per
 * scenario and a table (floor µs/event, service µs/event, ratio), and writes the table with the
 * machine to bench/results/<YYYY-MM-DD>.json.
 *
 * What is counted: floor: CPU of this process over the floor loop only (answers built before, warm-up
 * pass first). Service: CPU of this process (user + system) over `runPageContentChangeJob`, which
 * includes reading the input file, the HTTP client and writing the output file; the stub API's CPU is
 * reported on its own (`stub_cpu_us_per_event`) and is not in the service's figure or the ratio.
 *
 *   npm run bench            (BENCH_SCALE=0.2 for a quicker, smaller run)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { runPageContentChangeJob } from '../src/runtime/main.js';
import { checkCorpus, contentBytesFor, generateCorpus, pageChangeValidator } from './corpus.js';
import { measureFloor } from './floor.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const schemaDir = join(root, 'schemas/primary/jsonschema');
const scale = Number(process.env.BENCH_SCALE ?? 1);

interface Scenario {
  name: string;
  events: number;
  /** Fixed-shape events over this many pages; undefined: the realistic corpus. */
  pages?: number;
  /** Content bytes of every revision; 'corpus': contentBytesFor(rev_id). */
  contentBytes: number | 'corpus';
  batchSize: number;
}

const scenarios: Scenario[] = [
  { name: 'small pages (1 KB), batch 50', events: 20_000, pages: 5_000, contentBytes: 1_000, batchSize: 50 },
  { name: 'small pages (1 KB), batch 1', events: 5_000, pages: 5_000, contentBytes: 1_000, batchSize: 1 },
  {
    name: 'hot pages (1 KB), 20 pages, batch 50',
    events: 10_000,
    pages: 20,
    contentBytes: 1_000,
    batchSize: 50,
  },
  {
    name: 'large pages (100 KB), batch 50',
    events: 2_000,
    pages: 2_000,
    contentBytes: 100_000,
    batchSize: 50,
  },
  { name: 'realistic corpus, batch 50', events: 20_000, contentBytes: 'corpus', batchSize: 50 },
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
      content_slots: {
        main: {
          slot_role: 'main',
          content_model: 'wikitext',
          content_format: 'text/x-wiki',
          origin_rev_id: i + 1,
        },
      },
    },
    wiki_id: 'enwiki',
  });
}

interface Stub {
  port: number;
  /** Stops the stub; resolves to the CPU µs it spent serving. */
  stop: () => Promise<number>;
}

async function startStub(contentBytes: number | 'corpus'): Promise<Stub> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/stub-api.ts')], {
    env: { ...process.env, CONTENT_BYTES: String(contentBytes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  while (!out.includes('\n')) await once(child.stdout, 'data');
  const port = Number(out.split('\n')[0]);
  let stopped: Promise<number> | undefined;
  const stop = async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    const match = /cpu (\d+)/.exec(out);
    return match ? Number(match[1]) : Number.NaN;
  };
  return { port, stop: () => (stopped ??= stop()) };
}

interface Row {
  scenario: string;
  events: number;
  enriched: number;
  passed: number;
  floor_cpu_us_per_event: number;
  service_cpu_us_per_event: number;
  ratio: number;
  stub_cpu_us_per_event: number;
  service_events_per_s: number;
  service_out_mb_per_s: number;
  floor_seconds: number;
  service_seconds: number;
}

async function runService(s: Scenario, lines: readonly string[], dir: string) {
  const stub = await startStub(s.contentBytes);
  try {
    const input = join(dir, 'in.ndjson');
    await writeFile(input, `${lines.join('\n')}\n`);
    const config = {
      stream_manager: {
        job_name: 'bench',
        stream_config_uri: join(root, 'examples/stream-config.yaml'),
        schema_uris: [schemaDir],
        source: { stream: 'mediawiki.page_change.v1:1.2.0', connector: 'file', options: { path: input } },
        sink: {
          stream: 'mediawiki.page_content_change.v1:1.2.0',
          connector: 'file',
          options: { path: join(dir, 'out.ndjson') },
        },
        error_sink: {
          stream: 'mw-page-content-change-enrich.error:2.1.0',
          connector: 'file',
          options: { path: join(dir, 'err.ndjson') },
        },
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
    const { summary } = await runPageContentChangeJob(config, {
      logger: pino({ level: 'silent' }),
      signals: [],
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const outBytes = (await stat(join(dir, 'out.ndjson'))).size;
    const errors = await readFile(join(dir, 'err.ndjson'), 'utf8');
    const stubMicros = await stub.stop();
    return { stubMicros, summary, seconds, cpuMicros: cpu.user + cpu.system, outBytes, errors };
  } catch (err) {
    await stub.stop();
    throw err;
  }
}

async function run(s: Scenario, validate: Awaited<ReturnType<typeof pageChangeValidator>>): Promise<Row> {
  const count = Math.max(100, Math.round(s.events * scale));
  let lines: string[];
  let fetched = count;
  if (s.pages === undefined) {
    const corpus = generateCorpus(count);
    await checkCorpus(corpus.lines, schemaDir);
    lines = corpus.lines;
    fetched = corpus.stats.fetched;
    const kinds = Object.entries(corpus.stats.kinds)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    console.log(
      `  corpus: ${kinds}; ${corpus.stats.wikis} wikis, the largest ${(corpus.stats.topWikiShare * 100).toFixed(0)} % of events`,
    );
  } else {
    lines = [];
    for (let i = 0; i < count; i++) lines.push(event(i, s.pages));
  }
  const bytes = s.contentBytes;
  const bytesFor = bytes === 'corpus' ? contentBytesFor : () => bytes;
  const floor = measureFloor(lines, { batchSize: s.batchSize, bytesFor, validate });

  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-bench-'));
  try {
    const service = await runService(s, lines, dir);
    const { outcomes } = service.summary;
    if (outcomes.enriched !== fetched || outcomes.passed !== count - fetched || service.errors.length !== 0) {
      throw new Error(
        `${s.name}: expected ${fetched} enriched, ${count - fetched} passed; got ${JSON.stringify(service.summary)}\n${service.errors.slice(0, 2000)}`,
      );
    }
    const serviceMicros = service.cpuMicros / count;
    return {
      scenario: s.name,
      events: count,
      enriched: outcomes.enriched,
      passed: outcomes.passed,
      floor_cpu_us_per_event: round(floor.cpuMicrosPerEvent),
      service_cpu_us_per_event: round(serviceMicros),
      ratio: Math.round((serviceMicros / floor.cpuMicrosPerEvent) * 100) / 100,
      stub_cpu_us_per_event: round(service.stubMicros / count),
      service_events_per_s: Math.round(count / service.seconds),
      service_out_mb_per_s: Math.round((service.outBytes / 1e6 / service.seconds) * 10) / 10,
      floor_seconds: round(floor.seconds),
      service_seconds: round(service.seconds),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return n >= 100 ? Math.round(n) : Math.round(n * 10) / 10;
}

function table(rows: readonly Row[]): string {
  const head = [
    'scenario',
    'events',
    'floor µs/event',
    'service µs/event',
    'ratio',
    'stub µs/event',
    'service events/s',
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.events),
    String(r.floor_cpu_us_per_event),
    String(r.service_cpu_us_per_event),
    `${r.ratio.toFixed(2)}×`,
    String(r.stub_cpu_us_per_event),
    String(r.service_events_per_s),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  total_memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  os: `${osType()} ${release()}`,
  node: process.version,
};
const command = `${scale === 1 ? '' : `BENCH_SCALE=${scale} `}npm run bench`;
console.log(
  `${command}: node ${process.version}, ${machine.cpus} × ${machine.cpu}; stub API in a separate process on the same machine`,
);
const validate = await pageChangeValidator(schemaDir);
const started = performance.now();
const rows: Row[] = [];
for (const s of scenarios) {
  const row = await run(s, validate);
  rows.push(row);
  console.log(
    [
      s.name.padEnd(40),
      `${row.events} events`.padStart(14),
      `${row.service_events_per_s} events/s`.padStart(16),
      `${row.service_out_mb_per_s.toFixed(1)} MB/s out`.padStart(14),
      `${row.service_cpu_us_per_event} µs CPU/event`.padStart(18),
    ].join(' '),
  );
}
console.log(`\n${table(rows)}`);
const date = new Date().toISOString().slice(0, 10);
const results = join(root, 'bench/results');
await mkdir(results, { recursive: true });
const file = join(results, `${date}.json`);
const report = {
  date,
  command,
  bench_scale: scale,
  seconds: Math.round((performance.now() - started) / 1000),
  machine,
  counted: {
    floor_cpu_us_per_event:
      'CPU (user + system) of one process over: JSON.parse of each input line, ajv validation of input and output against mediawiki/page/change 1.2.0 (compiled once), JSON.parse of each Action API answer (batches of batch_size revisions per wiki, built before timing), attaching content_body, JSON.stringify of the output; after a warm-up pass over the first 2,000 events',
    service_cpu_us_per_event:
      'CPU (user + system) of the bench process over runPageContentChangeJob, file source to file sink, against the stub API in another process; includes file reading and writing and the HTTP client; excludes the stub',
    stub_cpu_us_per_event: 'CPU of the stub API process while serving that run, not counted in the ratio',
    ratio: 'service_cpu_us_per_event / floor_cpu_us_per_event',
  },
  rows,
};
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwritten to ${join('bench/results', `${date}.json`)}`);
