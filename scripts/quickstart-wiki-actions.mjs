// The quick start's part that talks to the wiki and reads the outputs (Node 20, no dependencies).
//
//   node scripts/quickstart-wiki-actions.mjs act ENV_FILE OUTPUT   edits, moves, deletes, undeletes and hides
//                                                                  a revision, each once the service has
//                                                                  emitted the events before it
//   node scripts/quickstart-wiki-actions.mjs print OUTPUT          the enriched events, one line each
//
// ENV_FILE is what scripts/mediawiki.sh wrote (MW_API_URL, MW_BOT_USER, MW_BOT_PASS); OUTPUT the service's
// page_content_change file.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [command, ...args] = process.argv.slice(2);
if (command === 'act') await act(args[0], args[1]);
else if (command === 'print') print(args[0]);
else {
  console.error('usage: quickstart-wiki-actions.mjs act ENV_FILE OUTPUT | print OUTPUT');
  process.exit(2);
}

function lines(path) {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** Waits until the service has written `count` outputs: a deletion needs the page's latest revision read first. */
async function outputs(path, count) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
    if (lines(path).length >= count) return;
  }
  throw new Error(`the service wrote fewer than ${count} outputs in 60 s to ${path}`);
}

/** A bot-password session: Node's fetch keeps no cookies, so the session cookie is kept here. */
async function login(api, user, password) {
  const cookies = new Map();
  const call = async (params, post) => {
    const body = new URLSearchParams({ format: 'json', formatversion: '2', ...params });
    const url = post ? api : `${api}?${body}`;
    const response = await fetch(url, {
      method: post ? 'POST' : 'GET',
      headers: {
        'user-agent': 'mediawiki-event-enrichment-quickstart/0.1 (local demo wiki)',
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      ...(post && { body }),
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const answer = await response.json();
    if (answer.error) throw new Error(`${params.action}: ${JSON.stringify(answer.error)}`);
    return answer;
  };
  const { logintoken } = (await call({ action: 'query', meta: 'tokens', type: 'login' })).query.tokens;
  const result = (
    await call({ action: 'login', lgname: user, lgpassword: password, lgtoken: logintoken }, true)
  ).login;
  if (result.result !== 'Success') throw new Error(`login failed: ${JSON.stringify(result)}`);
  const token = (await call({ action: 'query', meta: 'tokens' })).query.tokens.csrftoken;
  return (action, params) => call({ action, ...params, token }, true);
}

async function act(envFile, output) {
  const env = Object.fromEntries(
    readFileSync(envFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const wiki = await login(env.MW_API_URL, env.MW_BOT_USER, env.MW_BOT_PASS);
  const edit = async (title, text, summary) => {
    const { edit } = await wiki('edit', { title, text, summary });
    console.log(`  edit      ${title} (revision ${edit.newrevid})`);
    return edit.newrevid;
  };
  const first = await edit('Sandbox', "Hello, wiki! This is the '''first''' version.", 'first version');
  await edit('Sandbox', 'Hello again, wiki: the second version.', 'second version');
  await edit('Old name', 'A page about to be moved.', 'a page to move');
  await wiki('move', { from: 'Old name', to: 'New name', reason: 'a better name' });
  console.log('  move      Old name -> New name');
  await edit('Short-lived', 'This page will be deleted, then restored.', 'a page to delete');
  await outputs(output, 5);
  await wiki('delete', { title: 'Short-lived', reason: 'deleted for the demo' });
  console.log('  delete    Short-lived');
  await wiki('undelete', { title: 'Short-lived', reason: 'restored for the demo' });
  console.log('  undelete  Short-lived');
  await edit('Sandbox', 'The third version. The first one is about to be hidden.', 'third version');
  await outputs(output, 8);
  await wiki('revisiondelete', {
    type: 'revision',
    target: 'Sandbox',
    ids: String(first),
    hide: 'content',
    reason: 'hidden for the demo',
  });
  console.log(`  hide      the text of Sandbox revision ${first}`);
  await outputs(output, 9);
}

function print(output) {
  for (const line of lines(output)) {
    const event = JSON.parse(line);
    const slot = event.revision.content_slots?.main;
    const body = slot?.content_body;
    const content =
      body !== undefined
        ? JSON.stringify(body.length > 48 ? `${body.slice(0, 48)}…` : body)
        : event.page_change_kind === 'delete'
          ? '(deleted: no content)'
          : '(hidden: no content)';
    console.log(
      `  ${event.page_change_kind.padEnd(18)} ${event.page.page_title.padEnd(12)} rev ${String(event.revision.rev_id).padEnd(3)} ${content}`,
    );
  }
}
