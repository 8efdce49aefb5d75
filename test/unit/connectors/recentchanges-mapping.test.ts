/**
 * Recent-changes rows → page_change 1.2.0 events, over the real answers of MediaWiki 1.39 in
 * ../shared/mediawiki-fixtures/more/ (a fresh wiki after creates, edits, a move, a delete, an
 * undelete and revision deletions, read anonymously and as an admin). Every derived event must be
 * valid against the shared page/change 1.2.0 schema, of the kind the row stands for, in row order,
 * with what the row says and nothing it does not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import {
  parseRecentChanges,
  parseRevisions,
  parseSiteInfo,
  type RecentChange,
  type RevisionFacts,
} from '../../../src/connectors/recentchanges/answers.js';
import {
  deriveEvents,
  LatestRevisions,
  type RevisionLookup,
} from '../../../src/connectors/recentchanges/derive.js';
import {
  eventId,
  eventKeyOf,
  pageUrlFor,
  planRow,
  revisionEntity,
  sha1Base36,
  type WikiContext,
} from '../../../src/connectors/recentchanges/mapping.js';
import { Validator, type Validate } from '../../../src/core/validator.js';
import { sharedSchemaRepository } from '../../helpers/schemas.js';

type Json = Record<string, unknown>;

const FIXTURES = new URL('../../../../shared/mediawiki-fixtures/', import.meta.url);

/** A captured answer: most files wrap it as `{request, status, headers, body}`, some are the body. */
function fixture(name: string): Json {
  const doc = JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Json;
  return 'body' in doc ? (doc.body as Json) : doc;
}

function rowsOf(name: string): RecentChange[] {
  return parseRecentChanges(fixture(name)).rows;
}

const WIKI: WikiContext = {
  wikiId: 'localwiki',
  domain: 'wiki.local.test',
  stream: 'mediawiki.page_change.v1',
  pageUrl: pageUrlFor('http://wiki.local.test', '/index.php/$1'),
};
const DERIVED_AT = new Date('2026-11-29T17:00:00.000Z');

/**
 * What the source's prop=revisions lookups would have answered for the fixture wiki's log rows:
 * the move's null revision 13 (same content as ToMove's creation, rcid 6), ToDelete's latest
 * revision after its undeletion (its rows 7 and 8 were removed from recent changes by the deletion),
 * and RevDel's revisions 9 and 10 as an anonymous reader sees them after the revision deletions.
 */
const LOOKUP_FACTS: ReadonlyMap<number, RevisionFacts> = new Map<number, RevisionFacts>([
  [
    13,
    {
      revid: 13,
      parentid: 6,
      timestamp: '2026-11-29T16:27:32Z',
      size: 24,
      minor: true,
      sha1: 'cbaff7488b1d7df9fb45ab96474fee6ae84a6ee2',
      user: 'Admin',
      userid: 1,
      comment: 'test move',
    },
  ],
  [
    8,
    {
      revid: 8,
      parentid: 7,
      timestamp: '2026-11-29T16:27:31Z',
      size: 23,
      minor: false,
      sha1: 'a1c7d7069f2aef93fb5e8e0fb4f041ab05cb0cd4',
      user: 'Admin',
      userid: 1,
      comment: 'edit ToDelete',
    },
  ],
  [
    9,
    {
      revid: 9,
      parentid: 0,
      timestamp: '2026-11-29T16:27:31Z',
      size: 10,
      minor: false,
      sha1: 'f6c860ccdb9f0e68af98a1bdf65527ce9c336d81',
      userhidden: true,
      commenthidden: true,
    },
  ],
  [
    10,
    {
      revid: 10,
      parentid: 9,
      timestamp: '2026-11-29T16:27:31Z',
      size: 17,
      minor: false,
      sha1hidden: true,
      user: 'Admin',
      userid: 1,
      comment: 'revdel r2 summary',
    },
  ],
]);

function fakeLookup(calls: string[]): RevisionLookup {
  return {
    async revisions(ids) {
      calls.push(`revisions ${ids.join('|')}`);
      return new Map(ids.flatMap((id) => (LOOKUP_FACTS.has(id) ? [[id, LOOKUP_FACTS.get(id)!]] : [])));
    },
    async latestAt(pageId, timestamp) {
      calls.push(`latestAt ${pageId} ${timestamp}`);
      return pageId === 6 ? LOOKUP_FACTS.get(8) : undefined;
    },
  };
}

describe('recent-changes rows → page_change events (real MediaWiki 1.39 answers)', () => {
  let validate: Validate;

  before(async () => {
    validate = await new Validator(sharedSchemaRepository()).forSchema('/mediawiki/page/change/1.2.0');
  });

  it('plans every row of the fixture wiki as the kind it stands for', () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    assert.equal(rows.length, 88);
    const plans = new Map(rows.map((row) => [row.rcid, planRow(row)]));
    const kinds = rows.map((row) => plans.get(row.rcid)!.kind);
    assert.equal(kinds.filter((k) => k === 'create').length, rows.filter((r) => r.type === 'new').length);
    assert.equal(kinds.filter((k) => k === 'edit').length, rows.filter((r) => r.type === 'edit').length);
    assert.deepEqual(
      rows.filter((r) => r.type === 'log').map((r) => [r.rcid, plans.get(r.rcid)!.kind]),
      [
        [13, 'move'],
        [14, 'delete'],
        [15, 'undelete'],
        [16, 'visibility_change'],
        [17, 'visibility_change'],
        [91, 'delete'],
      ],
    );
    assert.deepEqual(plans.get(13), { kind: 'move', revid: 13, target: { ns: 0, title: 'Moved' } });
    assert.deepEqual(plans.get(16), {
      kind: 'visibility_change',
      revids: [10],
      before: { content: false, comment: false, user: false },
      after: { content: true, comment: false, user: false },
    });
    assert.deepEqual(plans.get(17), {
      kind: 'visibility_change',
      revids: [9],
      before: { content: false, comment: false, user: false },
      after: { content: false, comment: true, user: true },
    });
  });

  it('derives a valid event of the right kind for every row, in row order, keyed by wiki and page', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const calls: string[] = [];
    const latest = new LatestRevisions();
    const kinds: string[] = [];
    const underivable: string[] = [];
    for (const row of rows) {
      const derived = await deriveEvents(row, WIKI, fakeLookup(calls), latest, DERIVED_AT);
      underivable.push(...derived.underivable);
      for (const { event } of derived.events) {
        const result = validate(event);
        assert.ok(
          result.valid,
          `rcid ${row.rcid}: ${result.valid ? '' : result.message}\n${JSON.stringify(event)}`,
        );
        assert.equal(event.dt, row.timestamp, 'dt is the time of the change');
        assert.equal(event.wiki_id, 'localwiki');
        assert.equal((event.meta as Json).domain, 'wiki.local.test');
        assert.equal((event.meta as Json).stream, 'mediawiki.page_change.v1');
        assert.equal((event.meta as Json).dt, DERIVED_AT.toISOString(), 'meta.dt is the time of derivation');
        assert.equal('request_id' in (event.meta as Json), false, 'no request id is invented');
        assert.equal((event.page as Json).page_id, row.pageid);
        kinds.push(`${row.rcid}:${String(event.page_change_kind)}`);
      }
    }
    // Creates and edits come from the rows themselves; the log rows from the lookups. The two
    // deletions name no revision and the pages' earlier rows were removed with them: left out.
    assert.equal(kinds.length, 88 - 2);
    assert.deepEqual(
      kinds.filter((k) => !/:(create|edit)$/.test(k)),
      ['13:move', '15:undelete', '16:visibility_change', '17:visibility_change'],
    );
    assert.deepEqual(underivable, [
      'delete of page 6: its latest revision was in no row this source read',
      'delete of page 35: its latest revision was in no row this source read',
    ]);
    assert.deepEqual(calls, [
      'revisions 13',
      'latestAt 6 2026-11-29T16:27:32Z',
      'revisions 10',
      'revisions 9',
    ]);
    assert.equal(eventKeyOf('localwiki', 3), '{"wiki_id":"localwiki","page_id":3}');
  });

  it('maps a create and an edit field by field, with the revision sha1 in base 36', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const row = (rcid: number) => rows.find((r) => r.rcid === rcid)!;
    const latest = new LatestRevisions();
    const [create] = (await deriveEvents(row(3), WIKI, fakeLookup([]), latest, DERIVED_AT)).events;
    assert.deepEqual(create!.event, {
      $schema: '/mediawiki/page/change/1.2.0',
      changelog_kind: 'insert',
      comment: 'create Alpha',
      dt: '2026-11-29T16:27:30Z',
      meta: {
        stream: 'mediawiki.page_change.v1',
        domain: 'wiki.local.test',
        uri: 'http://wiki.local.test/index.php/Alpha',
        id: eventId('localwiki', 3, 0),
        dt: '2026-11-29T17:00:00.000Z',
      },
      page: { namespace_id: 0, page_id: 3, page_title: 'Alpha' },
      page_change_kind: 'create',
      performer: { user_text: 'Admin', user_id: 1 },
      revision: {
        comment: 'create Alpha',
        editor: { user_text: 'Admin', user_id: 1 },
        is_comment_visible: true,
        is_content_visible: true,
        is_editor_visible: true,
        is_minor_edit: false,
        rev_dt: '2026-11-29T16:27:30Z',
        rev_id: 3,
        rev_parent_id: 0,
        rev_sha1: sha1Base36('9f47244037a8fe362dbf2983197f68c89fcac131'),
        rev_size: 100,
      },
      wiki_id: 'localwiki',
    });
    const [edit] = (await deriveEvents(row(4), WIKI, fakeLookup([]), latest, DERIVED_AT)).events;
    const revision = edit!.event.revision as Json;
    assert.equal(edit!.event.changelog_kind, 'update');
    assert.equal(revision.is_minor_edit, true);
    assert.equal(revision.rev_parent_id, 3);
    assert.equal(revision.rev_size, 116);
    assert.deepEqual(latest.get(3), revision, 'the page latest revision is remembered for a deletion');
    // A template: the namespace is part of the title, and the URL keeps the colon.
    const [template] = (await deriveEvents(row(2), WIKI, fakeLookup([]), latest, DERIVED_AT)).events;
    assert.deepEqual(template!.event.page, { namespace_id: 10, page_id: 2, page_title: 'Template:Greeting' });
    assert.equal((template!.event.meta as Json).uri, 'http://wiki.local.test/index.php/Template:Greeting');
  });

  it('leaves out what a revision deletion hides, as the row shows it', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const row = (rcid: number) => rows.find((r) => r.rcid === rcid)!;
    // rcid 9: creation whose user and comment are hidden.
    const [hiddenUser] = (await deriveEvents(row(9), WIKI, fakeLookup([]), new LatestRevisions(), DERIVED_AT))
      .events;
    const event = hiddenUser!.event;
    assert.equal('performer' in event, false);
    assert.equal('comment' in event, false);
    const revision = event.revision as Json;
    assert.equal('editor' in revision, false);
    assert.equal('comment' in revision, false);
    assert.equal(revision.is_editor_visible, false);
    assert.equal(revision.is_comment_visible, false);
    assert.equal(revision.is_content_visible, true);
    // rcid 10: edit whose content is hidden: no sha1, content not visible (the enrichment passes it).
    const [hiddenContent] = (
      await deriveEvents(row(10), WIKI, fakeLookup([]), new LatestRevisions(), DERIVED_AT)
    ).events;
    const hiddenRevision = hiddenContent!.event.revision as Json;
    assert.equal('rev_sha1' in hiddenRevision, false);
    assert.equal(hiddenRevision.is_content_visible, false);
    assert.equal(hiddenRevision.rev_size, 17);
  });

  it('maps a move onto the new title, with the old one as prior state and the null revision', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const move = rows.find((r) => r.rcid === 13)!;
    const latest = new LatestRevisions();
    const { events } = await deriveEvents(move, WIKI, fakeLookup([]), latest, DERIVED_AT);
    assert.equal(events.length, 1);
    const event = events[0]!.event;
    assert.equal(event.page_change_kind, 'move');
    assert.equal(event.changelog_kind, 'update');
    assert.deepEqual(event.page, { namespace_id: 0, page_id: 5, page_title: 'Moved' });
    assert.deepEqual(event.prior_state, { page: { page_title: 'ToMove' } });
    assert.equal((event.meta as Json).uri, 'http://wiki.local.test/index.php/Moved');
    assert.equal(event.comment, 'test move');
    assert.deepEqual(event.performer, { user_text: 'Admin', user_id: 1 });
    assert.equal('created_redirect_page' in event, false, 'the redirect has no row: not invented');
    assert.equal('is_redirect' in (event.page as Json), false);
    assert.deepEqual(event.revision, revisionEntity(LOOKUP_FACTS.get(13)!));
    assert.equal((event.revision as Json).rev_id, 13);
  });

  it('names the latest revision a deletion removed when an earlier row announced it, and forgets the page', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const deletion = rows.find((r) => r.rcid === 14)!;
    const latest = new LatestRevisions();
    // What a source that polled between the edit and the deletion read: ToDelete's edit row (rcid 8,
    // removed from recent changes by the deletion), in the shape of the rows around it.
    const edit: RecentChange = {
      type: 'edit',
      ns: 0,
      title: 'ToDelete',
      pageid: 6,
      revid: 8,
      old_revid: 7,
      rcid: 8,
      user: 'Admin',
      userid: 1,
      minor: false,
      newlen: 23,
      timestamp: '2026-11-29T16:27:31Z',
      comment: 'edit ToDelete',
      sha1: 'a1c7d7069f2aef93fb5e8e0fb4f041ab05cb0cd4',
    };
    const [announced] = (await deriveEvents(edit, WIKI, fakeLookup([]), latest, DERIVED_AT)).events;
    const { events, underivable } = await deriveEvents(deletion, WIKI, fakeLookup([]), latest, DERIVED_AT);
    assert.deepEqual(underivable, []);
    const event = events[0]!.event;
    assert.equal(event.page_change_kind, 'delete');
    assert.equal(event.changelog_kind, 'delete');
    assert.equal(event.comment, 'test delete');
    assert.deepEqual(event.revision, announced!.event.revision);
    assert.ok(validate(event).valid);
    assert.equal(latest.has(6), false);
    // The undeletion asks for the latest revision made up to its own time.
    const undeletion = rows.find((r) => r.rcid === 15)!;
    const calls: string[] = [];
    const restored = (await deriveEvents(undeletion, WIKI, fakeLookup(calls), latest, DERIVED_AT)).events[0]!
      .event;
    assert.deepEqual(calls, ['latestAt 6 2026-11-29T16:27:32Z']);
    assert.equal(restored.page_change_kind, 'undelete');
    assert.equal(restored.changelog_kind, 'insert');
    assert.equal(restored.comment, 'test undelete');
    assert.equal((restored.revision as Json).rev_id, 8);
    assert.equal((latest.get(6) as Json).rev_id, 8);
  });

  it('keeps the later revision as the latest when a row written late names an earlier one', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const latest = new LatestRevisions();
    await deriveEvents(
      rows.find((r) => r.rcid === 4)!,
      WIKI,
      fakeLookup([]),
      latest,
      DERIVED_AT,
    );
    await deriveEvents(
      rows.find((r) => r.rcid === 3)!,
      WIKI,
      fakeLookup([]),
      latest,
      DERIVED_AT,
    );
    assert.equal((latest.get(3) as Json).rev_id, 4);
  });

  it('maps a revision deletion to a visibility_change of the revision, with what changed as prior state', async () => {
    const rows = rowsOf('more/recentchanges-anon.json');
    const contentHidden = rows.find((r) => r.rcid === 16)!;
    const [content] = (
      await deriveEvents(contentHidden, WIKI, fakeLookup([]), new LatestRevisions(), DERIVED_AT)
    ).events;
    const event = content!.event;
    assert.equal(event.page_change_kind, 'visibility_change');
    assert.equal(event.comment, 'test revdel content');
    assert.deepEqual(event.prior_state, { revision: { is_content_visible: true } });
    const revision = event.revision as Json;
    assert.equal(revision.rev_id, 10);
    assert.equal(revision.is_content_visible, false);
    assert.equal(revision.is_comment_visible, true);
    assert.equal(revision.comment, 'revdel r2 summary');

    const userHidden = rows.find((r) => r.rcid === 17)!;
    const [user] = (await deriveEvents(userHidden, WIKI, fakeLookup([]), new LatestRevisions(), DERIVED_AT))
      .events;
    assert.deepEqual(user!.event.prior_state, {
      revision: { is_comment_visible: true, is_editor_visible: true },
    });
    const hidden = user!.event.revision as Json;
    assert.equal(hidden.rev_id, 9);
    assert.equal(hidden.is_editor_visible, false);
    assert.equal(hidden.is_comment_visible, false);
    assert.equal(hidden.is_content_visible, true);
    assert.equal('editor' in hidden, false);
  });

  it('reads the same rows from an admin session, where hidden fields come back but stay out of the events', async () => {
    const admin = rowsOf('more/recentchanges-admin.json');
    const anon = rowsOf('more/recentchanges-anon.json');
    for (const rcid of [9, 10, 11]) {
      const fromAdmin = await deriveEvents(
        admin.find((r) => r.rcid === rcid)!,
        WIKI,
        fakeLookup([]),
        new LatestRevisions(),
        DERIVED_AT,
      );
      const fromAnon = await deriveEvents(
        anon.find((r) => r.rcid === rcid)!,
        WIKI,
        fakeLookup([]),
        new LatestRevisions(),
        DERIVED_AT,
      );
      assert.deepEqual(fromAdmin.events, fromAnon.events, `rcid ${rcid}`);
    }
  });

  it('rows that are no page change make no event: a suppression is not in recent changes at all', () => {
    const suppression = (
      fixture('more/logevents-all-admin.json').query as { logevents: Json[] }
    ).logevents.find((e) => e.type === 'suppress');
    assert.ok(suppression, 'the fixture wiki suppressed a revision');
    const rows = rowsOf('more/recentchanges-admin.json');
    assert.equal(
      rows.some((r) => r.logtype === 'suppress'),
      false,
    );
    // A log entry whose target was hidden (log revision deletion): no title or ids, no event.
    const [hidden] = parseRecentChanges({
      query: {
        recentchanges: [
          {
            type: 'log',
            rcid: 20,
            timestamp: '2026-11-29T16:27:40Z',
            actionhidden: true,
            logtype: 'delete',
            logaction: 'delete',
            logparams: {},
          },
        ],
      },
    }).rows;
    assert.deepEqual(planRow(hidden!), { kind: 'none', reason: 'log entry with its action hidden' });
    const protect: RecentChange = {
      ...rows.find((r) => r.rcid === 13)!,
      logtype: 'protect',
      logaction: 'protect',
      logparams: {},
    };
    assert.deepEqual(planRow(protect), { kind: 'none', reason: 'protect/protect' });
  });
});

describe('the lookups and the wiki identity, from real answers', () => {
  it('reads revisions from prop=revisions; deleted ones are absent, hidden parts flagged', () => {
    const moved = parseRevisions(fixture('revisions-after-move.json')).revisions;
    assert.deepEqual([...moved.keys()], [13]);
    assert.equal(moved.get(13)!.timestamp, '2026-11-24T21:44:42Z');
    assert.equal(moved.get(13)!.pageid, 7);
    const restored = parseRevisions(fixture('revisions-after-undelete.json')).revisions;
    assert.deepEqual([...restored.keys()], [7, 8]);
    assert.equal(restored.get(8)!.parentid, 7);
    const hidden = parseRevisions(fixture('revisions-revdel-content-hidden-anon.json')).revisions.get(10)!;
    assert.equal(hidden.sha1hidden, true);
    assert.equal((revisionEntity(hidden) as Json).is_content_visible, false);
    for (const name of [
      'revisions-deleted-page-anon.json',
      'revisions-deleted-page-admin.json',
      'revisions-badrevid.json',
    ]) {
      assert.equal(parseRevisions(fixture(name)).revisions.size, 0, name);
    }
  });

  it('pages with continue, from the real answer', () => {
    const page = parseRecentChanges(fixture('recentchanges-paged.json'));
    assert.equal(page.rows.length, 3);
    assert.deepEqual(page.continueParams, { rccontinue: '20261124214441|4', continue: '-||' });
  });

  it('takes wiki_id and meta.domain from siteinfo, and builds canonical URLs as MediaWiki does', () => {
    const site = parseSiteInfo({
      query: {
        general: {
          wikiid: 'enwiki',
          servername: 'en.wikipedia.org',
          server: '//en.wikipedia.org',
          base: 'https://en.wikipedia.org/wiki/Main_Page',
          articlepath: '/wiki/$1',
          time: '2026-11-29T16:27:12Z',
        },
      },
    });
    assert.equal(site.wikiId, 'enwiki');
    assert.equal(site.serverName, 'en.wikipedia.org');
    const url = pageUrlFor(site.canonicalOrigin, site.articlePath);
    assert.equal(url('Talk:Foo_bar/baz'), 'https://en.wikipedia.org/wiki/Talk:Foo_bar/baz');
    assert.equal(
      url("Rock_'n'_roll?_(song)_&_100%"),
      'https://en.wikipedia.org/wiki/Rock_%27n%27_roll%3F_(song)_%26_100%25',
    );
    assert.equal(url('Ünïcödé'), 'https://en.wikipedia.org/wiki/%C3%9Cn%C3%AFc%C3%B6d%C3%A9');
  });

  it('gives sha1 in base 36 as MediaWiki stores it, and one stable UUID per event', () => {
    // The sha1 of empty text, as MediaWiki stores it (rev_sha1 of an empty revision).
    assert.equal(sha1Base36('da39a3ee5e6b4b0d3255bfef95601890afd80709'), 'phoiac9h4m842xq45sp7s6u21eteeq1');
    assert.equal(sha1Base36('not hex'), undefined);
    const id = eventId('enwiki', 42, 0);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(eventId('enwiki', 42, 0), id);
    assert.notEqual(eventId('enwiki', 42, 1), id);
    assert.notEqual(eventId('dewiki', 42, 0), id);
  });
});
