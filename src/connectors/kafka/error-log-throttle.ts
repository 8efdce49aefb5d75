/**
 * librdkafka reports an unreachable broker many times a second ("all broker connections are down"
 * about 20 times a second against a closed port). Each error is still counted in the metrics; the
 * log gets the first of each code and then at most one line per `intervalMs`, saying how many were
 * left out.
 */
export class ErrorLogThrottle {
  private readonly seen = new Map<number, { lastLogged: number; suppressed: number }>();

  constructor(private readonly intervalMs = 30_000) {}

  /** Whether to log an error with this code now, and how many of it were left out since the last. */
  admit(code: number, now = Date.now()): { log: boolean; suppressed: number } {
    const entry = this.seen.get(code);
    if (!entry || now - entry.lastLogged >= this.intervalMs) {
      const suppressed = entry?.suppressed ?? 0;
      this.seen.set(code, { lastLogged: now, suppressed: 0 });
      return { log: true, suppressed };
    }
    entry.suppressed++;
    return { log: false, suppressed: entry.suppressed };
  }
}
