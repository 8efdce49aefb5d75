/**
 * Where a part that cannot go on until something outside comes back (a broker, a schema
 * repository) says so, and says when it is over. The runtime turns it into `/readyz` and the status
 * page; a part keeps waiting, with backoff, rather than stopping the process.
 */
export interface Waits {
  /** `part` waits; `why` says for what (shown to operators, so no secrets). */
  wait(part: string, why: string): void;
  /** `part` no longer waits. */
  clear(part: string): void;
}

export const noWaits: Waits = { wait() {}, clear() {} };
