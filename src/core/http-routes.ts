/**
 * `http_client_routes`: URL prefix → replacement prefix, as eventutilities-python has them
 * (`{"https://meta.wikimedia.org": "http://localhost:6500"}`). A routed request keeps the original
 * host in its `Host` header, because the local proxy it is sent to chooses the backend by it.
 */
export type HttpRoutes = Readonly<Record<string, string>>;

export interface RoutedUrl {
  url: string;
  /** Host header to send, when the request was routed elsewhere. */
  host?: string;
}

export function routeUrl(url: string, routes: HttpRoutes): RoutedUrl {
  let best: string | undefined;
  for (const prefix of Object.keys(routes)) {
    if (url.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  if (best === undefined) return { url };
  return { url: routes[best] + url.slice(best.length), host: new URL(url).host };
}
