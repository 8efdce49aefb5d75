/**
 * Whether the service can do its work now, for `/readyz`: not before its parts are up, not while it
 * waits for something it cannot reach (each waiting part says what), not once it is stopping.
 * Liveness (`/healthz`) is another question: a service waiting for its broker is alive.
 */
export class Readiness {
  private readonly waits = new Map<string, string>();
  private running = false;
  private stopping = false;

  /** `part` cannot go on until something comes back; `why` is shown on `/readyz` and the status page. */
  wait(part: string, why: string): void {
    this.waits.set(part, why);
  }

  /** `part` is no longer waiting. */
  clear(part: string): void {
    this.waits.delete(part);
  }

  /** Everything is built and the pipeline runs. */
  markRunning(): void {
    this.running = true;
  }

  markStopping(): void {
    this.stopping = true;
  }

  get ready(): boolean {
    return this.running && !this.stopping && this.waits.size === 0;
  }

  get alive(): boolean {
    return !this.stopping;
  }

  /** Why not ready, one line per reason; empty when ready. */
  reasons(): string[] {
    if (this.stopping) return ['stopping'];
    const reasons = [...this.waits].map(([part, why]) => `${part}: ${why}`);
    if (!this.running && reasons.length === 0) reasons.push('starting');
    return reasons;
  }
}
