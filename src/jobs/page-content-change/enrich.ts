import type { MarkLiteral } from '../../core/json-literals.js';
import { isPlainObject } from '../../core/json-schema.js';
import { setOwn } from '../../core/own-key.js';
import type { RevisionContent } from '../../mediawiki/types.js';

type Json = Record<string, unknown>;

export interface EnrichResult {
  event: Json;
  /** Slots whose text the wiki hides (`texthidden`): emitted without `content_body`. */
  hiddenSlots: number;
}

/**
 * page_change + the revision's slots → page_content_change (before output normalisation).
 * For each slot the wiki returned, `content_body` := its content; a role the event lacks is added with
 * its model and format. Sizes, sha1 and origin_rev_id stay as the event has them; `prior_state` is not
 * enriched. Only the objects on the path to the slots are new: the rest is shared with the input,
 * which is never mutated (the output projection builds the final object anyway).
 */
export function enrichEvent(event: Json, revision: RevisionContent): EnrichResult {
  const inputRevision = (event.revision ?? {}) as Json;
  const inputSlots = (inputRevision.content_slots ?? {}) as Record<string, Json>;
  const slots: Record<string, Json> = { ...inputSlots };
  let hiddenSlots = 0;
  for (const [role, slot] of Object.entries(revision.slots)) {
    const existing = Object.hasOwn(inputSlots, role) ? inputSlots[role] : undefined;
    const out: Json = existing
      ? { ...existing }
      : {
          slot_role: role,
          ...(slot.contentModel !== undefined ? { content_model: slot.contentModel } : {}),
          ...(slot.contentFormat !== undefined ? { content_format: slot.contentFormat } : {}),
        };
    if (slot.textHidden || slot.content === undefined) {
      hiddenSlots++;
      delete out.content_body;
    } else {
      out.content_body = slot.content;
    }
    setOwn(slots, role, out);
  }
  return { event: { ...event, revision: { ...inputRevision, content_slots: slots } }, hiddenSlots };
}

/** `page_change_kind` values whose revision content is fetched. */
export const ENRICHED_KINDS: ReadonlySet<string> = new Set([
  'create',
  'edit',
  'move',
  'undelete',
  'visibility_change',
]);

/**
 * For serialising `event` (an output built from an enrichment with `revision`): each slot whose
 * `content_body` is still the content the answer held as a JSON literal gets `mark`'s stand-in
 * instead, so that the literal is written rather than the text serialised again. Only the objects
 * on the path to those slots are copied; `event` itself is not changed.
 */
export function markContentLiterals(event: Json, revision: RevisionContent, mark: MarkLiteral): Json {
  const outRevision = event.revision;
  if (!isPlainObject(outRevision) || !isPlainObject(outRevision.content_slots)) return event;
  const outSlots = outRevision.content_slots;
  let marked: Record<string, unknown> | undefined;
  for (const [role, slot] of Object.entries(revision.slots)) {
    if (slot.contentJson === undefined || slot.content === undefined) continue;
    const out = Object.hasOwn(outSlots, role) ? outSlots[role] : undefined;
    if (!isPlainObject(out) || out.content_body !== slot.content) continue;
    marked ??= { ...outSlots };
    setOwn(marked, role, { ...out, content_body: mark(slot.contentJson, slot.content) });
  }
  if (marked === undefined) return event;
  return { ...event, revision: { ...outRevision, content_slots: marked } };
}
