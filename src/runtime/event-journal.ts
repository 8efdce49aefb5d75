import type { EventName, Labels } from '../core/metrics.js';

export interface JournalEntry {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly fields: Labels;
}

/** The latest `perName` events of each name, newest first; memory stays bounded whatever happens. */
export class EventJournal {
  private readonly entries = new Map<EventName, JournalEntry[]>();

  constructor(private readonly perName = 20) {}

  record(name: EventName, fields: Labels, time = Date.now()): void {
    let list = this.entries.get(name);
    if (!list) this.entries.set(name, (list = []));
    list.unshift({ time, fields });
    if (list.length > this.perName) list.length = this.perName;
  }

  latest(name: EventName): readonly JournalEntry[] {
    return this.entries.get(name) ?? [];
  }
}
