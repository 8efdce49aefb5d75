import { request } from 'undici';
import type { FetchText } from '../core/schema-repository.js';
import { routeUrl, type HttpRoutes } from '../core/http-routes.js';

/** GET a URL as text for schema and stream-config lookups, through `http_client_routes`. */
export function createFetchText(routes: HttpRoutes, userAgent: string, timeoutMs = 10_000): FetchText {
  return async (url) => {
    const routed = routeUrl(url, routes);
    const headers: Record<string, string> = { 'user-agent': userAgent, accept: 'application/json, application/yaml, text/plain' };
    if (routed.host) headers.host = routed.host;
    const res = await request(routed.url, { headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${url} answered HTTP ${res.statusCode}`);
    return body;
  };
}
