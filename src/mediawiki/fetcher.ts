import type { Dispatcher } from 'undici';
import { boundedMemo } from '../core/bounded-memo.js';
import { EnrichmentError, isEnrichmentError } from '../core/errors.js';
import { noopMetrics, type Metrics } from '../core/metrics.js';
import { RevisionBatcher } from './batch.js';
import { ActionApiClient } from './client.js';
import { compileDomainAllowlist } from './domain-allowlist.js';
import { resolveWikiTarget, type WikiTarget } from './endpoint.js';
import { FetcherClosedError, domainNotAllowedError, responseFormatError } from './errors.js';
import { canonicalWikiDomain } from './wiki-domain.js';
import { resolveMediaWikiOptions, type MediaWikiClientOptions } from './options.js';
import { statusLabelOf } from './status-label.js';
import {
  buildRevisionsQuery,
  mentionedIds,
  parseRevisionsResponse,
  resolveRevisionResults,
  type RevisionResult,
  type RevisionsResponsePart,
} from './revisions.js';
import type { RevisionContent, RevisionFetcher, RevisionRequest } from './types.js';

export { statusLabel } from './status-label.js';
export {
  DEFAULT_MEDIAWIKI_OPTIONS,
  resolveMediaWikiOptions,
  type MediaWikiClientOptions,
} from './options.js';

/** The subset of a pino logger the fetcher writes to. */
export interface FetcherLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RevisionFetcherDeps {
  /**
   * undici dispatcher; when absent the fetcher creates an Agent (keep-alive, `connectTimeoutMs`) and
   * closes it on close(). A given one keeps its own connect timeout and stays open.
   */
  readonly dispatcher?: Dispatcher;
  readonly metrics?: Metrics;
  readonly logger?: FetcherLogger;
  /** Wall clock for the recency of missing revisions and for Retry-After dates. */
  readonly now?: () => number;
  /** Jitter source, [0, 1). */
  readonly random?: () => number;
}

const silentLogger: FetcherLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The Action API revision fetcher: allowlist, batching per wiki, retries per revision, global
 * concurrency budget. Metrics: counters `mediawiki_requests_total{status,error_type}` (status is the
 * HTTP status the failure policy names, else its class such as `4xx`, or `none`; error_type `none`
 * on success), `mediawiki_revisions_requested_total`, `mediawiki_retries_total{reason}`; histograms
 * `mediawiki_request_duration_seconds{status}`, `mediawiki_batch_revisions`.
 */
export function createRevisionFetcher(
  options: MediaWikiClientOptions,
  deps: RevisionFetcherDeps = {},
): RevisionFetcher {
  const resolved = resolveMediaWikiOptions(options);
  const metrics = deps.metrics ?? noopMetrics;
  const logger = deps.logger ?? silentLogger;
  const now = deps.now ?? Date.now;
  const isAllowed = compileDomainAllowlist(resolved.allowedDomains);
  const client = new ActionApiClient(resolved, { dispatcher: deps.dispatcher, now, metrics });
  // Bounded: with a wildcard pattern the inputs choose how many distinct wikis there are.
  const targetFor = boundedMemo(
    (domain: string) => resolveWikiTarget(resolved.endpointTemplate, domain, resolved.httpRoutes),
    MAX_CACHED_TARGETS,
  );
  let closed = false;

  async function requestPart(target: WikiTarget, params: URLSearchParams): Promise<RevisionsResponsePart> {
    let status = 'none';
    try {
      const response = await client.get(target, params);
      status = '200';
      const part = readPart(response.body, response.retryAfterMs);
      metrics.count('mediawiki_requests_total', { status, error_type: 'none' });
      return part;
    } catch (error) {
      if (isEnrichmentError(error)) {
        if (status === 'none') status = statusLabelOf(error);
        metrics.count('mediawiki_requests_total', { status, error_type: error.type });
        logger.warn({ err: error, domain: target.domain, url: target.url }, 'Action API request failed');
      }
      throw error;
    }
  }

  async function runBatch(
    target: WikiTarget,
    revIds: readonly number[],
    found?: (revision: RevisionContent) => void,
  ): Promise<Map<number, RevisionResult>> {
    metrics.count('mediawiki_revisions_requested_total', undefined, revIds.length);
    logger.debug({ domain: target.domain, revisions: revIds.length }, 'fetching revisions');
    const parts: RevisionsResponsePart[] = [];
    let continueParams: Readonly<Record<string, string>> | undefined;
    // Each continued answer must bring at least one revision, so a batch needs at most one request per id.
    for (let request = 0; request <= revIds.length; request += 1) {
      let part: RevisionsResponsePart;
      try {
        part = await requestPart(
          target,
          buildRevisionsQuery(revIds, { maxlag: resolved.maxlag ?? undefined, continueParams }),
        );
      } catch (error) {
        if (!isEnrichmentError(error)) throw error;
        return partialResults(revIds, parts, error);
      }
      if (parts.length > 0 && mentionedIds(part).length === 0) {
        return partialResults(
          revIds,
          parts,
          responseFormatError('continuation brought no revision', { continueParams }),
        );
      }
      if (part.continueParams === undefined) {
        parts.push(part);
        return resolveRevisionResults(revIds, parts);
      }
      // More answers follow: what this one found is passed on now and not kept (only the ids are),
      // so a batch of large contents holds one answer at a time rather than all of them.
      parts.push(found ? handOver(part, found) : part);
      continueParams = part.continueParams;
    }
    return partialResults(
      revIds,
      parts,
      responseFormatError('continuation does not end', { continueParams }),
    );
  }

  const batcher = new RevisionBatcher(resolved, runBatch, {
    metrics,
    now,
    random: deps.random ?? Math.random,
  });

  return {
    fetch(request: RevisionRequest): Promise<RevisionContent> {
      if (closed) return Promise.reject(new FetcherClosedError());
      // The job checks the domain first; this repeats it so that no caller can aim requests elsewhere,
      // and from here on only the canonical name is used (allowlist, template, routes, Host header).
      const domain = canonicalWikiDomain(request.domain);
      if (domain === undefined) {
        return Promise.reject(domainNotAllowedError(request.domain, 'not_host_name'));
      }
      if (!isAllowed(domain)) return Promise.reject(domainNotAllowedError(request.domain));
      if (!Number.isSafeInteger(request.revId) || request.revId < 0) {
        return Promise.reject(
          new EnrichmentError('InvalidEventError', `revision id ${String(request.revId)} is not a valid id`, {
            details: { rev_id: request.revId },
          }),
        );
      }
      return batcher.submit(targetFor(domain), request.revId, request.ingestedAtMs);
    },
    whenUnsaturated: () => batcher.whenUnsaturated(),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      batcher.close(new FetcherClosedError());
      await client.close();
    },
  };
}

const MAX_CACHED_TARGETS = 1000;

/**
 * Gives each revision `part` found to `found` and returns the part without them, so that it no
 * longer holds their contents (the batcher does not read the final result of a revision it was
 * given early). A revision one answer could not read and a later answer of the batch brings is
 * thus given its content.
 */
function handOver(
  part: RevisionsResponsePart,
  found: (revision: RevisionContent) => void,
): RevisionsResponsePart {
  const kept = new Map<number, RevisionContent | EnrichmentError>();
  for (const [revId, revision] of part.revisions) {
    if (isEnrichmentError(revision)) kept.set(revId, revision);
    else found(revision);
  }
  return { ...part, revisions: kept };
}

/** The parsed answer; a failure of the parser that is not already classified is the answer's fault. */
function readPart(body: Buffer, retryAfterMs: number | undefined): RevisionsResponsePart {
  try {
    return parseRevisionsResponse(body, { retryAfterMs });
  } catch (error) {
    if (isEnrichmentError(error)) throw error;
    throw responseFormatError('answer could not be read', { cause: String(error) });
  }
}

/**
 * After a request of a batch failed: the revisions earlier answers already settled keep their
 * result; every other one shares the failure and is retried (or not) on its own.
 */
function partialResults(
  revIds: readonly number[],
  parts: readonly RevisionsResponsePart[],
  error: EnrichmentError,
): Map<number, RevisionResult> {
  const settled = resolveRevisionResults(revIds, parts);
  const results = new Map<number, RevisionResult>();
  for (const revId of revIds) {
    const answered = parts.some((p) => p.revisions.has(revId) || p.badRevIds.has(revId));
    const result = settled.get(revId);
    results.set(revId, answered && result !== undefined ? result : { ok: false, error });
  }
  return results;
}
