/**
 * Two builds of the service side by side: each `dist` folder's `runPageContentChangeJob`, file →
 * file against the API simulator (no latency), in alternation, so that a busy spell of a shared
 * machine falls on both. For a change's effect: build the commit before it in a folder of its own
 * (`git worktree add <dir> <commit>`, `ln -s "$PWD/node_modules" <dir>/`, then
 * `npx tsc -p tsconfig.build.json` there) and compare its `dist` with this checkout's.
 *
 *   node --import tsx bench/side-by-side.ts <dist A> <dist B>
 *
 * Environment: EVENTS (20000), CONTENT_BYTES (1000, or `corpus` for the realistic corpus), PAGES
 * (5000), BATCH (50), PAIRS (3), RUNS (4 runs in each process: the earlier ones warm it up, the
 * last one's CPU per event is printed).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startSimulator } from './api-simulator-process.js';
import { serviceIn } from './built-service.js';
import { generateCorpus } from './corpus.js';
import { fixedEvent } from './fixed-events.js';
import { filePaths, fileJobConfig } from './job-config.js';

const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);

const events = Number(process.env.EVENTS ?? 20_000);
const content = process.env.CONTENT_BYTES === 'corpus' ? 'corpus' : Number(process.env.CONTENT_BYTES ?? 1000);
const pages = Number(process.env.PAGES ?? 5000);
const batchSize = Number(process.env.BATCH ?? 50);
const pairs = Number(process.env.PAIRS ?? 3);
const runs = Number(process.env.RUNS ?? 4);

const [first, ...rest] = process.argv.slice(2);
if (first === '--one' && rest.length === 1) console.log(await measure(rest[0]!));
else if (first !== undefined && rest.length === 1) {
  // Each measurement in a process of its own: one build's heap and compiled code do not weigh on
  // the other's.
  for (let pair = 1; pair <= pairs; pair++) {
    for (const dist of [first, rest[0]!]) {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', SELF, '--one', dist]);
      console.log(`pair ${pair}  ${dist}: ${stdout.trim()} µs of CPU per event`);
    }
  }
} else throw new Error('usage: side-by-side.ts <dist A> <dist B>');

/** CPU per event of the last of `runs` runs of the build in `dist`. */
async function measure(dist: string): Promise<string> {
  const { runPageContentChangeJob } = (await serviceIn(dist)).main;
  const lines =
    content === 'corpus'
      ? generateCorpus(events).lines
      : Array.from({ length: events }, (_, i) => fixedEvent(i, pages, 1, content));
  const api = await startSimulator({ CONTENT_BYTES: content });
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrich-side-by-side-'));
  try {
    const paths = filePaths(dir);
    await writeFile(paths.input, `${lines.join('\n')}\n`);
    const config = fileJobConfig(paths, api.endpoint, { enrich: { batch_size: batchSize } });
    let micros = 0;
    for (let r = 0; r < runs; r++) {
      const cpu0 = process.cpuUsage();
      await runPageContentChangeJob(config, { logger: pino({ level: 'silent' }), signals: [] });
      const cpu = process.cpuUsage(cpu0);
      micros = (cpu.user + cpu.system) / lines.length;
    }
    return micros.toFixed(1);
  } finally {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
