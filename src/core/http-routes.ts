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

/** Why a route's prefix or target cannot be used, or undefined when both can. */
function routeProblem(prefix: string, target: string): string | undefined {
  for (const [what, value] of [
    ['prefix', prefix],
    ['target', target],
  ] as const) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `route ${what} ${JSON.stringify(value)} is not a URL`;
    }
    const problem =
      (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === ''
        ? 'must be an http:// or https:// URL'
        : url.username !== '' || url.password !== ''
          ? 'must not carry a user name or password'
          : url.search !== '' || url.hash !== ''
            ? 'must not have a query or a fragment'
            : undefined;
    if (problem !== undefined) return `route ${what} ${JSON.stringify(value)} ${problem}`;
  }
  return undefined;
}

/**
 * Throws a `ConfigError` naming the route (`<key>.<prefix>`) whose prefix or target is not a plain
 * http(s) URL.
 */
export function checkHttpRoutes(routes: HttpRoutes, key = 'http_client_routes'): void {
  for (const [prefix, target] of Object.entries(routes)) {
    const problem = routeProblem(prefix, target);
    if (problem !== undefined) throw new ConfigError(`${key}.${prefix}`, problem);
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
