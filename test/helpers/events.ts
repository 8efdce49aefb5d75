/**
 * Test fixtures for `mediawiki/page/change` events. Each call returns new objects, so a test may
 * mutate its event freely.
 */

type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges `overrides` into a copy of `base`: objects merge key by key; arrays and other values replace;
 * a key set to `undefined` in `overrides` removes that key. Neither argument is modified.
 */
export function deepMerge<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return structuredClone(overrides) as T;
  const out: JsonObject = structuredClone(base);
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else
      out[key] =
        isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out as T;
}

/** The event's performer, who is also the revision's editor (a new object each time). */
const exampleUser = () => ({
  user_id: 42,
  user_text: 'Example',
  groups: ['*', 'user'],
  is_bot: false,
  is_system: false,
  is_temp: false,
  edit_count: 10,
  registration_dt: '2020-01-01T00:00:00Z',
});

/**
 * A valid `mediawiki/page/change/1.2.0` event: an edit of enwiki page 1 (`Main_Page`) making revision 2,
 * with one `main` wikitext slot and no `content_body`, from stream `mediawiki.page_change.v1`.
 */
export function pageChangeEvent(overrides: JsonObject = {}): JsonObject {
  const base: JsonObject = {
    $schema: '/mediawiki/page/change/1.2.0',
    changelog_kind: 'update',
    comment: 'fixture edit',
    dt: '2024-05-01T12:00:00Z',
    meta: {
      stream: 'mediawiki.page_change.v1',
      domain: 'en.wikipedia.org',
      uri: 'https://en.wikipedia.org/wiki/Main_Page',
      id: '5f0b4e4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      request_id: 'c0ffee00-0000-4000-8000-000000000001',
      dt: '2024-05-01T12:00:01Z',
    },
    page: {
      page_id: 1,
      page_title: 'Main_Page',
      namespace_id: 0,
      is_redirect: false,
    },
    page_change_kind: 'edit',
    performer: exampleUser(),
    revision: {
      rev_id: 2,
      rev_parent_id: 1,
      rev_dt: '2024-05-01T12:00:00Z',
      rev_sha1: 'c3a1c1d1e7b9e4b2f0a0d7e1f2a3b4c5d6e7f8a9',
      rev_size: 20,
      comment: 'fixture edit',
      is_minor_edit: false,
      is_comment_visible: true,
      is_content_visible: true,
      is_editor_visible: true,
      editor: exampleUser(),
      content_slots: {
        main: {
          slot_role: 'main',
          content_model: 'wikitext',
          content_format: 'text/x-wiki',
          content_sha1: 'c3a1c1d1e7b9e4b2f0a0d7e1f2a3b4c5d6e7f8a9',
          content_size: 20,
          origin_rev_id: 2,
        },
      },
    },
    wiki_id: 'enwiki',
  };
  return deepMerge(base, overrides);
}
