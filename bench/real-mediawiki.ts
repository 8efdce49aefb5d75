/**
 * Throughput of the whole job against a real MediaWiki (Debian's 1.39, SQLite, `php -S` with 4
 * workers, on this machine): a fresh wiki gets BENCH_PAGES pages and BENCH_REVISIONS revisions in all
 * (a create, then edits round-robin), one page_change event per revision, and the job runs in-process
 * (`runPageContentChangeJob`, file in → file out) with batch sizes 1, 10 and 50. A recording proxy in a
 * child process, in front of the wiki, counts the requests. Every output is checked against the text
 * the wiki stored. Run by hand (seeding takes about two minutes):
 *
 *   node --import tsx bench/real-mediawiki.ts          (BENCH_PAGES=300 BENCH_REVISIONS=3000)
 *
 * The wiki shares the machine's cores with the job, so the figures measure both together.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { formatSummary, runPageContentChangeJob } from '../src/runtime/main.js';
import { startWiki, type SeededPage } from '../test/helpers/mediawiki-real.js';
import {
  WIKI_DOMAIN,
  pageChangeEvent,
  sessionUser,
  startRecordingProxy,
} from '../test/helpers/real-wiki-events.js';
import { SHARED_SCHEMAS_URI } from '../test/helpers/schemas.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PAGES = Number(process.env.BENCH_PAGES ?? 300);
const REVISIONS = Number(process.env.BENCH_REVISIONS ?? 3000);
const BATCH_SIZES = [1, 10, 50];
/** Debian's MediaWiki, as scripts/mediawiki.sh serves it. */
const MW_ROOT = '/usr/share/mediawiki';

type ProxyMessage = { apiUrl: string } | { requests: number; revisions: number };

/** Child process mode: the proxy, so that its work does not share the job's event loop. */
async function proxyChild(target: string): Promise<void> {
  const proxy = await startRecordingProxy(target);
  process.on('message', (message: string) => {
    if (message === 'count') {
      const reply: ProxyMessage = {
        requests: proxy.requests.length,
        revisions: proxy.requests.reduce((n, r) => n + r.revIds.length, 0),
      };
      process.send!(reply);
      proxy.requests.length = 0;
    } else if (message === 'stop') {
      void proxy.close().then(() => process.disconnect());
    }
  });
  process.send!({ apiUrl: proxy.apiUrl } satisfies ProxyMessage);
}

async function ask(child: ChildProcess, message: string): Promise<ProxyMessage> {
  child.send(message);
  const [reply] = (await once(child, 'message')) as [ProxyMessage];
  return reply;
}

/** 300–1,000 bytes of wikitext, different for every revision. */
function pageText(page: number, version: number): string {
  const line = `Line of page ${page}, version ${version}: some [[link]] and ''emphasis'' — ünïcödé.\n`;
  return `== Page ${page} ==\n${line.repeat(3 + ((page * 7 + version * 3) % 10))}End of version ${version}.`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-real-bench-'));
  const wiki = await startWiki().catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  let proxyProcess: ChildProcess | undefined;
  try {
    const bot = await wiki.login();
    const performer = await sessionUser(bot);
    const seeded: SeededPage[] = [];
    const seedStart = performance.now();
    for (let i = 0; i < REVISIONS; i++) {
      const page = i % PAGES;
      seeded.push(
        await bot.edit({ title: `Bench page ${page}`, text: pageText(page, Math.floor(i / PAGES)) }),
      );
      if ((i + 1) % 500 === 0) process.stderr.write(`seeded ${i + 1} of ${REVISIONS} revisions\n`);
    }
    const seedSeconds = (performance.now() - seedStart) / 1000;
    // The edits queued thousands of jobs (link and cache updates); the wiki would otherwise run them
    // during the benchmark's requests ($wgJobRunRate), and the first run would pay for them.
    await promisify(execFile)('php', [join(MW_ROOT, 'maintenance', 'runJobs.php')], {
      env: { ...process.env, MW_CONFIG_FILE: join(wiki.dir, 'LocalSettings.php') },
      maxBuffer: 64 << 20,
    });

    const input = join(dir, 'page-change.ndjson');
    const events = seeded.map((r) =>
      pageChangeEvent(r, { kind: r.parentRevId === 0 ? 'create' : 'edit', performer }),
    );
    await writeFile(input, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    const expected = new Map(seeded.map((r) => [r.revId, r.text]));

    proxyProcess = fork(fileURLToPath(import.meta.url), ['--proxy', wiki.apiUrl], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [hello] = (await once(proxyProcess, 'message')) as [ProxyMessage];
    if (!('apiUrl' in hello)) throw new Error('the proxy did not start');

    console.log(
      `MediaWiki 1.39 (php -S, 4 workers, SQLite); ${PAGES} pages, ${REVISIONS} revisions seeded in ${seedSeconds.toFixed(1)} s`,
    );
    console.log('batch  events  seconds  events/s  requests  revisions/request  content mismatches  summary');
    for (const batchSize of BATCH_SIZES) {
      const output = join(dir, `out-${batchSize}.ndjson`);
      const config = {
        stream_manager: {
          job_name: 'mw-page-content-change-enrich',
          stream_config_uri: join(root, 'examples', 'stream-config.yaml'),
          schema_uris: [SHARED_SCHEMAS_URI],
          source: { stream: 'mediawiki.page_change.v1:1.2.0', connector: 'file', options: { path: input } },
          sink: {
            stream: 'mediawiki.page_content_change.v1:1.2.0',
            connector: 'file',
            options: { path: output },
          },
          error_sink: {
            stream: 'mw-page-content-change-enrich.error:2.1.0',
            connector: 'file',
            options: { path: join(dir, `errors-${batchSize}.ndjson`) },
          },
        },
        enrich: {
          mediawiki_api_endpoint_template: hello.apiUrl,
          allowed_domains: [WIKI_DOMAIN],
          user_agent: 'mediawiki-event-enrichment-bench/0.1 (real MediaWiki benchmark; bench@example.org)',
          batch_size: batchSize,
        },
        runtime: { log_level: 'silent' },
      };
      const started = performance.now();
      const { summary } = await runPageContentChangeJob(config, {
        logger: pino({ level: 'silent' }),
        signals: [],
      });
      const seconds = (performance.now() - started) / 1000;
      const counted = await ask(proxyProcess, 'count');
      if (!('requests' in counted)) throw new Error('unexpected proxy answer');
      let mismatches = 0;
      for (const line of (await readFile(output, 'utf8')).split('\n')) {
        if (line.length === 0) continue;
        const event = JSON.parse(line) as {
          revision: { rev_id: number; content_slots: { main: { content_body?: string } } };
        };
        if (event.revision.content_slots.main.content_body !== expected.get(event.revision.rev_id))
          mismatches++;
      }
      console.log(
        [
          String(batchSize).padStart(5),
          String(summary.records).padStart(6),
          seconds.toFixed(2).padStart(7),
          (summary.records / seconds).toFixed(0).padStart(8),
          String(counted.requests).padStart(8),
          (counted.revisions / Math.max(1, counted.requests)).toFixed(1).padStart(17),
          String(mismatches).padStart(18),
          ` ${formatSummary(summary)}`,
        ].join('  '),
      );
    }
  } finally {
    proxyProcess?.send('stop');
    if (proxyProcess) await once(proxyProcess, 'exit');
    await wiki.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--proxy') await proxyChild(process.argv[3]!);
else await main();
