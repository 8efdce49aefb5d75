/**
 * The recent-changes source against a real MediaWiki (scripts/mediawiki.sh): the wiki named by a
 * host name, the actions page_change events stand for (moves, undeletions and revision deletions
 * besides the edits and deletions `WikiSession` makes), a row withheld from the wiki's database and
 * put back later (a row written late), and the job config that reads the wiki's recent changes.
 *
 *     const wiki = await startWiki();
 *     const site = await nameWiki(wiki);               // $wgServer = http://wiki.local.test
 *     const config = recentChangesJobConfig(site, paths, { since: 'now' });
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { RecentChangesSource } from '../../src/connectors/recentchanges/source.js';
import { readRecentChangesOptions } from '../../src/connectors/recentchanges/options.js';
import { RECENTCHANGES_SOURCE_OPTIONS } from '../../src/connectors/recentchanges/options.js';
import type { SourceRecord } from '../../src/connectors/types.js';
import { compileConfigSchema } from '../../src/core/config-schema.js';
import { noopMetrics } from '../../src/core/metrics.js';
import { OptionReader } from '../../src/core/options.js';
import { deepMerge } from './events.js';
import {
  JOB_NAME,
  SINK_STREAM,
  SOURCE_STREAM,
  ERROR_STREAM,
  STREAM_CONFIG_PATH,
  type Json,
} from './job-harness.js';
import type { RealWiki, WikiSession } from './mediawiki-real.js';
import { SHARED_SCHEMAS_URI } from './schemas.js';

const execFileAsync = promisify(execFile);

/** The wiki's host name in events (`meta.domain`); never resolved: `http_client_routes` maps it. */
export const RC_WIKI_DOMAIN = 'wiki.local.test';
export const RC_USER_AGENT = 'mediawiki-event-enrichment-tests/0.1 (recent changes; tests@example.org)';

export interface NamedWiki {
  /** `http://wiki.local.test/api.php`: the URL the config names. */
  readonly apiUrl: string;
  /** Maps the name to the wiki's port. */
  readonly routes: Record<string, string>;
  readonly wiki: RealWiki;
}

/**
 * Gives the wiki a host name (`$wgServer`, hence siteinfo's `servername` and the events'
 * `meta.domain`): a wiki served as 127.0.0.1 names no wiki the enrichment accepts. The extra
 * settings file is read on every request, so no restart is needed.
 */
export async function nameWiki(wiki: RealWiki, domain = RC_WIKI_DOMAIN): Promise<NamedWiki> {
  await writeFile(join(wiki.dir, 'LocalSettings.extra.php'), `<?php\n$wgServer = "http://${domain}";\n`);
  return { apiUrl: `http://${domain}/api.php`, routes: { [`http://${domain}`]: wiki.server }, wiki };
}

async function csrf(session: WikiSession): Promise<string> {
  const answer = await session.get({ action: 'query', meta: 'tokens' });
  return String(((answer.query as Json).tokens as Json).csrftoken);
}

export async function movePage(session: WikiSession, from: string, to: string): Promise<void> {
  const answer = await session.post({
    action: 'move',
    from,
    to,
    reason: 'test move',
    token: await csrf(session),
  });
  if (typeof answer.move !== 'object') throw new Error(`move of ${from} failed: ${JSON.stringify(answer)}`);
}

export async function undeletePage(session: WikiSession, title: string): Promise<void> {
  const answer = await session.post({
    action: 'undelete',
    title,
    reason: 'test undelete',
    token: await csrf(session),
  });
  if (typeof answer.undelete !== 'object')
    throw new Error(`undelete of ${title} failed: ${JSON.stringify(answer)}`);
}

/** Revision deletion of the given fields (`content`, `comment`, `user`) of a revision that is not the current one. */
export async function hideRevision(
  session: WikiSession,
  title: string,
  revId: number,
  fields: readonly string[],
): Promise<void> {
  const answer = await session.post({
    action: 'revisiondelete',
    type: 'revision',
    target: title,
    ids: String(revId),
    hide: fields.join('|'),
    reason: 'test revision deletion',
    token: await csrf(session),
  });
  const result = answer.revisiondelete as Json | undefined;
  const items = (result?.items ?? []) as Json[];
  if (result?.status !== 'Success' || items.some((i) => Array.isArray(i.errors) && i.errors.length > 0)) {
    throw new Error(`revisiondelete of ${revId} failed: ${JSON.stringify(answer)}`);
  }
}

/** Runs PHP with PDO on the wiki's SQLite database (php-sqlite3 comes with the wiki's packages). */
async function sqlite(wiki: RealWiki, script: string, ...args: string[]): Promise<string> {
  const prelude =
    '$db = new PDO("sqlite:" . $argv[1]); $db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);' +
    ' $db->exec("PRAGMA busy_timeout = 10000");';
  const { stdout } = await execFileAsync('php', [
    '-r',
    prelude + script,
    join(wiki.dir, 'data', 'wiki.sqlite'),
    ...args,
  ]);
  return stdout;
}

/** A recent-changes row as the database holds it (`rc_*` columns). */
export type StoredRow = Record<string, string | number | null>;

/**
 * Takes the recent-changes row of a revision out of the wiki's database, as if the wiki had not yet
 * written it (MediaWiki writes it after the edit's transaction); `putRowBack` writes it later, with
 * its own id and time, so that it appears behind rows read since.
 */
export async function withholdRow(wiki: RealWiki, revId: number): Promise<StoredRow> {
  const out = await sqlite(
    wiki,
    '$s = $db->prepare("SELECT * FROM recentchanges WHERE rc_this_oldid = ?"); $s->execute([(int)$argv[2]]);' +
      ' $row = $s->fetch(PDO::FETCH_ASSOC); if (!$row) { fwrite(STDERR, "no row"); exit(1); }' +
      ' $db->prepare("DELETE FROM recentchanges WHERE rc_id = ?")->execute([$row["rc_id"]]); echo json_encode($row);',
    String(revId),
  );
  return JSON.parse(out) as StoredRow;
}

export async function putRowBack(wiki: RealWiki, row: StoredRow): Promise<void> {
  await sqlite(
    wiki,
    '$row = json_decode($argv[2], true); $cols = array_keys($row);' +
      ' $sql = "INSERT INTO recentchanges (" . implode(",", $cols) . ") VALUES (" . implode(",", array_fill(0, count($cols), "?")) . ")";' +
      ' $db->prepare($sql)->execute(array_values($row));',
    JSON.stringify(row),
  );
}

export interface RcPaths {
  readonly output: string;
  readonly errors: string;
  readonly position: string;
}

/**
 * The whole job reading the wiki's recent changes: the source through `http_client_routes`, the
 * wiki's own api.php for content (`http://{domain}/api.php`, routed too), only the wiki's domain
 * allowed, file sinks appending (a position file requires it).
 */
export function recentChangesJobConfig(site: NamedWiki, paths: RcPaths, sourceOptions: Json = {}): Json {
  return deepMerge(
    {
      stream_manager: {
        job_name: JOB_NAME,
        stream_config_uri: STREAM_CONFIG_PATH,
        schema_uris: [SHARED_SCHEMAS_URI],
        http_client_routes: site.routes,
        source: {
          stream: `${SOURCE_STREAM}:1.2.0`,
          connector: 'mediawiki_recentchanges',
          options: {
            api_url: site.apiUrl,
            position_file: paths.position,
            poll_interval_ms: 200,
            user_agent: RC_USER_AGENT,
          },
        },
        sink: {
          stream: `${SINK_STREAM}:1.2.0`,
          connector: 'file',
          options: { path: paths.output, append: true },
        },
        error_sink: {
          stream: `${ERROR_STREAM}:2.1.0`,
          connector: 'file',
          options: { path: paths.errors, append: true },
        },
      },
      enrich: {
        mediawiki_api_endpoint_template: 'http://{domain}/api.php',
        allowed_domains: [RC_WIKI_DOMAIN],
        user_agent: RC_USER_AGENT,
      },
      runtime: { log_level: 'silent', commit_interval_ms: 50, drain_timeout_ms: 10_000 },
    },
    { stream_manager: { source: { options: sourceOptions } } },
  );
}

const checkOptions = compileConfigSchema(RECENTCHANGES_SOURCE_OPTIONS);

/**
 * The source alone, read by a loop that commits each record as soon as it has it (as the runtime
 * does once a record's output is acknowledged): the page_change events in the order the source
 * yields them.
 */
export function readSource(site: NamedWiki, options: Json = {}) {
  const source = new RecentChangesSource(
    readRecentChangesOptions(
      new OptionReader(
        { api_url: site.apiUrl, poll_interval_ms: 200, user_agent: RC_USER_AGENT, ...options },
        'source.options',
      ).checkedBy(checkOptions),
    ),
    { stream: SOURCE_STREAM, routes: site.routes, logger: pino({ level: 'silent' }), metrics: noopMetrics },
  );
  const records: SourceRecord[] = [];
  const done = (async () => {
    for await (const record of source.records()) {
      records.push(record);
      await source.commit(new Map([[record.partition, record.offset + 1]]));
    }
  })();
  return {
    source,
    records,
    events: () => records.map((r) => JSON.parse(r.value.toString('utf8')) as Json),
    async stop(): Promise<void> {
      source.stop();
      await done;
      await source.close();
    },
  };
}
