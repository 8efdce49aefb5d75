/**
 * A real MediaWiki for integration and end-to-end tests: `scripts/mediawiki.sh` creates a fresh wiki
 * in a temporary folder on a free port; a bot-password session edits, deletes and hides revisions
 * through the Action API.
 *
 *     const wiki = await startWiki();
 *     t.after(() => wiki.stop());
 *     const bot = await wiki.login();
 *     const [page] = await bot.seedPages([{ title: 'A', text: 'Hello' }]);  // { title, pageId, revId, text, … }
 *     await bot.hideRevisionContent(page.title, page.revId);  // after a later edit: not the current one
 *     await bot.deletePage(page.title);
 *
 * Fetch revisions anonymously (the service does): a session with `deletedhistory` sees deleted and
 * hidden content differently. `startWiki` throws with the script's output when the wiki cannot start,
 * so a test that needs it fails with the reason instead of being skipped.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/mediawiki.sh', import.meta.url));

export interface RealWiki {
  /** `http://127.0.0.1:PORT/api.php` */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT` */
  readonly server: string;
  readonly dir: string;
  readonly botUser: string;
  readonly botPassword: string;
  /** A logged-in session of the bot password (sysop and bot rights, limited by its grants). */
  login(): Promise<WikiSession>;
  /** Logs in and saves the pages in order (see `WikiSession.seedPages`). */
  seedPages(specs: readonly PageSpec[]): Promise<SeededPage[]>;
  /** Stops the server's process group and deletes the wiki's folder. Idempotent. */
  stop(): Promise<void>;
}

/** One saved revision, as needed to build the `page_change` event announcing it. */
export interface SeededPage {
  readonly title: string;
  readonly pageId: number;
  readonly revId: number;
  /** The revision before this one on the page; 0 for a page creation. */
  readonly parentRevId: number;
  /** The text as the wiki stores it (callers pass it in stored form: no trailing whitespace, tab-indented JSON). */
  readonly text: string;
  readonly contentModel: string;
  /** ISO 8601 (`2026-11-24T21:44:41Z`). */
  readonly timestamp: string;
  /** Bytes of the text. */
  readonly size: number;
  /** Hex SHA-1 of the text, as the Action API reports it. */
  readonly sha1: string;
}

export interface PageSpec {
  readonly title: string;
  readonly text: string;
  /** `wikitext` unless given; `json` needs the text in MediaWiki's form (`JSON.stringify(v, null, '\t')`). */
  readonly contentModel?: string;
}

/** Starts a fresh wiki in a new temporary folder on a port the OS picks. */
export async function startWiki(): Promise<RealWiki> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-enrichment-'));
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('bash', [SCRIPT, 'start', dir, '0'], {
      timeout: 600_000,
      maxBuffer: 1 << 20,
    }));
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    await execFileAsync('bash', [SCRIPT, 'stop', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`MediaWiki did not start: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const env = new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)] as const;
      }),
  );
  const value = (key: string): string => {
    const v = env.get(key);
    if (v === undefined) throw new Error(`scripts/mediawiki.sh printed no ${key}:\n${stdout}`);
    return v;
  };
  const apiUrl = value('MW_API_URL');
  const botUser = value('MW_BOT_USER');
  const botPassword = value('MW_BOT_PASS');
  let stopped = false;
  return {
    apiUrl,
    server: value('MW_SERVER'),
    dir,
    botUser,
    botPassword,
    login: () => WikiSession.login(apiUrl, botUser, botPassword),
    seedPages: async (specs) => (await WikiSession.login(apiUrl, botUser, botPassword)).seedPages(specs),
    async stop() {
      if (stopped) return;
      stopped = true;
      await execFileAsync('bash', [SCRIPT, 'stop', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

type Json = Record<string, unknown>;

/** An Action API session with its own cookie jar (Node's fetch keeps none). */
export class WikiSession {
  private readonly cookies = new Map<string, string>();
  private csrfToken: string | undefined;

  private constructor(readonly apiUrl: string) {}

  static async login(apiUrl: string, user: string, password: string): Promise<WikiSession> {
    const session = new WikiSession(apiUrl);
    const tokens = await session.get({ action: 'query', meta: 'tokens', type: 'login' });
    const lgtoken = field(tokens, 'query', 'tokens', 'logintoken');
    const login = await session.post({ action: 'login', lgname: user, lgpassword: password, lgtoken });
    if (field(login, 'login', 'result') !== 'Success')
      throw new Error(`login failed: ${JSON.stringify(login)}`);
    return session;
  }

  async get(params: Record<string, string>): Promise<Json> {
    const url = new URL(this.apiUrl);
    for (const [k, v] of Object.entries({ format: 'json', formatversion: '2', ...params }))
      url.searchParams.set(k, v);
    return this.send(url, { method: 'GET' });
  }

  async post(params: Record<string, string>): Promise<Json> {
    const body = new URLSearchParams({ format: 'json', formatversion: '2', ...params });
    return this.send(new URL(this.apiUrl), { method: 'POST', body });
  }

  /** Creates or edits a page; fails when the edit saved nothing (same text again). */
  async edit(spec: PageSpec): Promise<SeededPage> {
    const contentModel = spec.contentModel ?? 'wikitext';
    const result = await this.post({
      action: 'edit',
      title: spec.title,
      text: spec.text,
      contentmodel: contentModel,
      summary: 'test fixture',
      token: await this.token(),
    });
    const edit = result.edit as Json | undefined;
    if (edit?.result !== 'Success' || typeof edit.newrevid !== 'number') {
      throw new Error(`edit of ${spec.title} saved no revision: ${JSON.stringify(result)}`);
    }
    return {
      title: String(edit.title),
      pageId: Number(edit.pageid),
      revId: edit.newrevid,
      parentRevId: Number(edit.oldrevid ?? 0),
      text: spec.text,
      contentModel: String(edit.contentmodel),
      timestamp: String(edit.newtimestamp),
      size: Buffer.byteLength(spec.text),
      sha1: createHash('sha1').update(spec.text).digest('hex'),
    };
  }

  /** Saves the pages one after another (SQLite takes one writer at a time). */
  async seedPages(specs: readonly PageSpec[]): Promise<SeededPage[]> {
    const pages: SeededPage[] = [];
    for (const spec of specs) pages.push(await this.edit(spec));
    return pages;
  }

  async deletePage(title: string): Promise<void> {
    const result = await this.post({
      action: 'delete',
      title,
      reason: 'test fixture',
      token: await this.token(),
    });
    if (!isObject(result.delete)) throw new Error(`delete of ${title} failed: ${JSON.stringify(result)}`);
  }

  /**
   * Revision deletion of the content (`hidden`), or its undoing; MediaWiki refuses to hide the
   * page's current revision.
   */
  async hideRevisionContent(title: string, revId: number, hidden = true): Promise<void> {
    const result = await this.post({
      action: 'revisiondelete',
      type: 'revision',
      target: title,
      ids: String(revId),
      [hidden ? 'hide' : 'show']: 'content',
      reason: 'test fixture',
      token: await this.token(),
    });
    const rd = result.revisiondelete as Json | undefined;
    const items = Array.isArray(rd?.items) ? (rd.items as Json[]) : [];
    // The top-level status says Success even when an item failed (e.g. revdelete-hide-current).
    if (
      rd?.status !== 'Success' ||
      items.some((item) => Array.isArray(item.errors) && item.errors.length > 0)
    ) {
      throw new Error(
        `revisiondelete of ${revId} (${hidden ? 'hide' : 'show'}) failed: ${JSON.stringify(result)}`,
      );
    }
  }

  private async token(): Promise<string> {
    this.csrfToken ??= field(
      await this.get({ action: 'query', meta: 'tokens' }),
      'query',
      'tokens',
      'csrftoken',
    );
    return this.csrfToken;
  }

  private async send(url: URL, init: { method: string; body?: URLSearchParams }): Promise<Json> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, {
      ...init,
      headers: { 'user-agent': 'mediawiki-event-enrichment-tests/1.0', ...(cookie ? { cookie } : {}) },
    });
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const at = pair.indexOf('=');
      if (at > 0) this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`${init.method} ${url.search}: HTTP ${response.status}: ${text}`);
    const json = JSON.parse(text) as Json;
    if (isObject(json.error)) throw new Error(`Action API error: ${JSON.stringify(json.error)}`);
    return json;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(json: Json, ...path: string[]): string {
  let value: unknown = json;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  if (typeof value !== 'string') throw new Error(`no ${path.join('.')} in ${JSON.stringify(json)}`);
  return value;
}
