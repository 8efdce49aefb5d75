/**
 * Per-second rates of counters over the last `windowMs`, from samples the caller adds every few
 * seconds. It keeps only the samples inside the window plus the one just before it (the base the
 * rate is measured from), and at most `maxSamples`, so its memory is bounded however long it runs.
 */
export class RateWindow {
  private readonly samples: { time: number; values: ReadonlyMap<string, number> }[] = [];

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxSamples = 64,
  ) {}

  add(time: number, values: ReadonlyMap<string, number>): void {
    this.samples.push({ time, values });
    // The oldest sample stays while the next one is still inside the window.
    while (this.samples.length > 1 && this.samples[1]!.time <= time - this.windowMs) this.samples.shift();
    while (this.samples.length > this.maxSamples) this.samples.shift();
  }

  get size(): number {
    return this.samples.length;
  }

  /**
   * Rates from the oldest kept sample to `current` at `time`, and the seconds they span; `undefined`
   * until a sample at least `minSpanMs` old exists. A counter the base sample lacks started at 0
   * (counters are created at their first increment).
   */
  rates(
    time: number,
    current: ReadonlyMap<string, number>,
    minSpanMs = 1_000,
  ): { perSecond: Map<string, number>; spanSeconds: number } | undefined {
    const base = this.samples[0];
    if (base === undefined || time - base.time < minSpanMs) return undefined;
    const spanSeconds = (time - base.time) / 1000;
    const perSecond = new Map<string, number>();
    for (const [key, value] of current) {
      perSecond.set(key, Math.max(0, value - (base.values.get(key) ?? 0)) / spanSeconds);
    }
    return { perSecond, spanSeconds };
  }
}
