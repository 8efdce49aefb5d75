import { defineEnrichmentJob } from '../page-content-change/job.js';

/**
 * WMF's sibling of page-content-change: a reconciliation batch compares the wikis with the content
 * history and emits page_change-shaped events (kinds edit, move and delete) for what is missing or
 * wrong; this job enriches them exactly as page-content-change does, from its own input stream
 * (`mediawiki.content_history_reconcile.v1`) into its own output and error streams
 * (`mediawiki.content_history_reconcile_enriched.v1`, `<job_name>.error`). Reconciled revisions
 * are old by their ingestion time, so a missing one is an error event at once, not retried.
 */
export const contentHistoryReconcile = defineEnrichmentJob(
  'content-history-reconcile',
  "mediawiki.content_history_reconcile events in (page_change-shaped, from a reconciliation batch), the same events with each revision's content out, as page-content-change enriches them",
);
