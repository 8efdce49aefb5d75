import { ConfigError } from './errors.js';

/**
 * `http_client_routes`: URL prefix → replacement prefix, as eventutilities-python has them
 * (`{"https://meta.wikimedia.org": "http://localhost:6500"}`). A routed request keeps the original
 * host in its `Host` header, because the local proxy it is sent to chooses the backend by it.
 *
 * A route applies to a URL with the same scheme, host and port (scheme and host compared without
 * case and without a trailing dot of the host, the port after defaults are filled in) whose path is
 * the route's path or continues it after a `/`. Routes are compared as parsed URLs, not as strings:
 * a host written in capitals or with a trailing dot, or a longer host that merely starts like the
 * route's (`https://meta.wikimedia.org.evil`), can neither skip a route nor be caught by one that is
 * not its own. The longest matching path wins.
 */
export type HttpRoutes = Readonly<Record<string, string>>;

export interface RoutedUrl {
  url: string;
  /** Host header to send, when the request was routed elsewhere. */
  host?: string;
}

interface Origin {
  readonly protocol: string;
  readonly host: string;
  readonly port: string;
  /** The path without a trailing `/` (`''` for the root). */
  readonly path: string;
}

function parseOrigin(url: string): Origin | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  return {
    protocol: parsed.protocol,
    host: parsed.hostname.toLowerCase().replace(/\.$/, ''),
    port: parsed.port,
    path: parsed.pathname.replace(/\/+$/, ''),
  };
}

/** Why a route prefix or target cannot be used, or undefined when it can. */
function routeProblem(prefix: string, target: string): string | undefined {
  let from: URL;
  let to: URL;
  try {
    from = new URL(prefix);
    to = new URL(target);
  } catch {
    return 'is not an absolute URL';
  }
  for (const url of [from, to]) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
    if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
    if (url.search !== '' || url.hash !== '') return 'must not have a query or a fragment';
  }
  return undefined;
}

/** Throws a `ConfigError` naming `key` for a route whose prefix or target is not a plain http(s) URL. */
export function checkHttpRoutes(routes: HttpRoutes, key = 'http_client_routes'): void {
  for (const [prefix, target] of Object.entries(routes)) {
    const problem = routeProblem(prefix, target);
    if (problem !== undefined) {
      throw new ConfigError(key, `route ${JSON.stringify(prefix)} → ${JSON.stringify(target)} ${problem}`);
    }
  }
}

function matches(route: Origin, url: Origin): boolean {
  return (
    route.protocol === url.protocol &&
    route.host === url.host &&
    route.port === url.port &&
    (url.path === route.path || url.path.startsWith(`${route.path}/`))
  );
}

export function routeUrl(url: string, routes: HttpRoutes): RoutedUrl {
  const origin = parseOrigin(url);
  if (origin === undefined) return { url };
  let best: { route: Origin; target: string } | undefined;
  for (const [prefix, target] of Object.entries(routes)) {
    // A route that does not parse never matches; `checkHttpRoutes` reports it at start.
    const route = parseOrigin(prefix);
    if (route === undefined || routeProblem(prefix, target) !== undefined) continue;
    if (matches(route, origin) && (best === undefined || route.path.length > best.route.path.length)) {
      best = { route, target };
    }
  }
  if (best === undefined) return { url };
  const parsed = new URL(url);
  const rest = parsed.pathname.slice(best.route.path.length) + parsed.search;
  return { url: best.target.replace(/\/+$/, '') + rest, host: parsed.host };
}
