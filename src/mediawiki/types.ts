/** What the job asks of the MediaWiki layer, and what it gets back. */

export interface RevisionRequest {
  /** `meta.domain` of the event: chooses the wiki (endpoint template or Host header). */
  readonly domain: string;
  readonly revId: number;
  /**
   * The event's ingestion time (`meta.dt`) in milliseconds since the epoch. A missing revision is
   * retried only while the event is recent by this clock; `dt` can be weeks old for imports.
   */
  readonly ingestedAtMs: number;
}

/** One content slot as the Action API returned it. */
export interface SlotContent {
  readonly role: string;
  readonly contentModel?: string;
  readonly contentFormat?: string;
  /** Absent when the slot's text is hidden (`texthidden`). */
  readonly content?: string;
  /**
   * A large `content`'s JSON string literal (quotes included) as the answer wrote it, whose
   * JSON.parse is `content`: the output writes these bytes instead of serialising the text again.
   */
  readonly contentJson?: Buffer;
  readonly textHidden: boolean;
}

export interface RevisionContent {
  readonly revId: number;
  readonly pageId?: number;
  /** Keyed by slot role (`main`, `mediainfo`, …). */
  readonly slots: Readonly<Record<string, SlotContent>>;
}

export interface RevisionFetcher {
  /**
   * Resolves with the revision's slots, or rejects with an `EnrichmentError` once the failure policy
   * gives up (a non-retryable failure at once, a retryable one after its retries).
   */
  fetch(request: RevisionRequest): Promise<RevisionContent>;
  /**
   * Undefined while another fetch could still join the next request; else a promise that settles
   * when it could: every request slot is taken and the batch next in line is full.
   */
  whenUnsaturated?(): Promise<void> | undefined;
  /** Stops batching timers and closes connections; pending fetches reject. */
  close(): Promise<void>;
}
