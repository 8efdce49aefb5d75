/**
 * A stand-in Action API for the quick start, where no wiki is reachable: answers
 * `action=query&prop=revisions&revids=…&rvslots=*&formatversion=2` from `examples/revisions.json`
 * (domain → revision id → slot role → {contentmodel, contentformat, content}), choosing the wiki by
 * the Host header as WMF's local API proxy does. Unknown ids come back in `badrevids`, as MediaWiki
 * answers them. Prints `listening on http://127.0.0.1:PORT` and serves until SIGTERM.
 *
 *   node --import tsx examples/example-api-server.ts [PORT]
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

type Slots = Record<string, { contentmodel: string; contentformat: string; content: string }>;
const store = JSON.parse(readFileSync(new URL('./revisions.json', import.meta.url), 'utf8')) as Record<string, Record<string, Slots>>;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const wiki = store[(req.headers.host ?? '').replace(/:\d+$/, '')] ?? {};
  const revids = (url.searchParams.get('revids') ?? '').split('|').filter(Boolean);
  const revisions = revids.filter((id) => wiki[id]).map((id) => ({ revid: Number(id), slots: wiki[id] }));
  const bad = revids.filter((id) => !wiki[id]);
  const body = {
    batchcomplete: true,
    query: {
      ...(revisions.length ? { pages: [{ pageid: 0, ns: 0, title: 'Example', revisions }] } : {}),
      ...(bad.length ? { badrevids: Object.fromEntries(bad.map((id) => [id, { revid: Number(id), missing: true }])) } : {}),
    },
  };
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
