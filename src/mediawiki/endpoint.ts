import { routeUrl, type HttpRoutes } from '../core/http-routes.js';
import { canonicalWikiDomain } from './wiki-domain.js';

/** Where the requests for one wiki go. Requests with equal `key` may share a batch. */
export interface WikiTarget {
  /** The canonical wiki name (`canonicalWikiDomain`). */
  readonly domain: string;
  /** The api.php URL, after `http_client_routes`. */
  readonly url: string;
  /** `Host` header to send, when the URL's host is not the wiki's (fixed endpoint or routed). */
  readonly host?: string;
  readonly key: string;
}

/**
 * `{domain}` in the template is replaced by the domain (`https://{domain}/w/api.php`). A template
 * without it is a fixed endpoint (WMF: `http://localhost:6500/w/api.php`) whose proxy picks the wiki
 * by the `Host` header. Throws a TypeError for a domain that is not in canonical form: the fetcher
 * canonicalises before it gets here, so that the template, the routes and the Host header all see
 * the name the allowlist saw.
 */
export function resolveWikiTarget(endpointTemplate: string, domain: string, routes: HttpRoutes): WikiTarget {
  if (canonicalWikiDomain(domain) !== domain) {
    throw new TypeError(`${JSON.stringify(domain)} is not a canonical wiki name`);
  }
  const perDomain = endpointTemplate.includes('{domain}');
  const url = perDomain ? endpointTemplate.replaceAll('{domain}', domain) : endpointTemplate;
  const routed = routeUrl(url, routes);
  const host = perDomain ? routed.host : domain;
  return { domain, url: routed.url, host, key: `${routed.url}\n${host ?? ''}` };
}
