/** The MediaWiki layer's public surface. */
export type { RevisionContent, RevisionFetcher, RevisionRequest, SlotContent } from './types.js';
export { createRevisionFetcher, type FetcherLogger, type RevisionFetcherDeps } from './fetcher.js';
export {
  DEFAULT_MEDIAWIKI_OPTIONS,
  REVIDS_HIGH_LIMIT,
  REVIDS_LIMIT,
  resolveMediaWikiOptions,
  type MediaWikiClientOptions,
} from './options.js';
export {
  DEFAULT_RETRY_POLICY,
  decide,
  parseRetryAfter,
  type RetryDecision,
  type RetryPolicy,
} from './retry-policy.js';
export { DEFAULT_ALLOWED_DOMAINS, compileDomainAllowlist, type DomainAllowlist } from './domain-allowlist.js';
export { FetcherClosedError } from './errors.js';
export { canonicalWikiDomain } from './wiki-domain.js';
