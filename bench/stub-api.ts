/**
 * A fast stand-in Action API for benchmarks, run as its own process so that its CPU is not the
 * service's: every revision id exists, with a `main` slot of `CONTENT_BYTES` bytes of wikitext
 * (deterministic per id). Answers in MediaWiki 1.39's formatversion=2 shape. Prints its port.
 */
import { createServer } from 'node:http';

const size = Number(process.env.CONTENT_BYTES ?? 1000);
const base = 'Lorem ipsum [[dolor]] sit amet, {{consectetur}} adipiscing elit. '.repeat(Math.ceil(size / 64) + 1);

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const ids = (url.searchParams.get('revids') ?? '').split('|').filter(Boolean).map(Number);
  const revisions = ids.map((revid) => ({
    revid,
    parentid: revid - 1,
    timestamp: '2026-11-24T00:00:00Z',
    size,
    sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    slots: { main: { contentmodel: 'wikitext', contentformat: 'text/x-wiki', content: `${revid} ${base.slice(0, size - 12)}` } },
  }));
  const body = JSON.stringify({ batchcomplete: true, query: { pages: [{ pageid: 1, ns: 0, title: 'Bench', revisions }] } });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
