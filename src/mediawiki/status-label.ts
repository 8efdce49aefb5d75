/** The statuses the failure policy tells apart keep their number; any other is its class (`4xx`). */
const NAMED_STATUSES: ReadonlySet<number> = new Set([
  200, 204, 301, 302, 304, 400, 403, 404, 408, 429, 500, 501, 502, 503, 504,
]);

/** A metric label from a status the server chose: from a closed set, whatever it sends. */
export function statusLabel(status: number): string {
  if (NAMED_STATUSES.has(status)) return String(status);
  return status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : 'other';
}

/** The status label of a request that ended in `error`: its HTTP status when it had one, else `none`. */
export function statusLabelOf(error: {
  readonly type: string;
  readonly details: Record<string, unknown>;
}): string {
  return error.type === 'HttpStatusError' ? statusLabel(Number(error.details.status)) : 'none';
}
