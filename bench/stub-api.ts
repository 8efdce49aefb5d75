/**
 * A fast stand-in Action API for benchmarks, run as its own process so that its CPU is not the
 * service's: every revision id exists, with a `main` slot of wikitext (deterministic per id) of
 * `CONTENT_BYTES` bytes, or, with `CONTENT_BYTES=corpus`, of the realistic corpus's size for that
 * revision. Answers in MediaWiki 1.39's formatversion=2 shape (bench/api-answer.ts). Prints its
 * port; on SIGTERM prints the CPU time in µs (user + system) it spent since it
 * began listening, then exits.
 */
import { createServer } from 'node:http';
import { answerBody } from './api-answer.js';
import { contentBytesFor } from './corpus.js';

const setting = process.env.CONTENT_BYTES ?? '1000';
const fixed = Number(setting);
const bytesFor = setting === 'corpus' ? contentBytesFor : () => fixed;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ids = (url.searchParams.get('revids') ?? '').split('|').filter(Boolean).map(Number);
  const body = answerBody(ids, bytesFor);
  res
    .writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
});
server.keepAliveTimeout = 60_000;
// Counted from here: loading the module (tsx compiles it) is not serving.
let cpu0 = process.cpuUsage();
server.listen(0, '127.0.0.1', () => {
  cpu0 = process.cpuUsage();
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`cpu ${cpu.user + cpu.system}\n`, () => process.exit(0));
});
