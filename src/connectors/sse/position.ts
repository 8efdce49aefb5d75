/**
 * EventStreams positions. Every event's SSE `id` is a JSON array with one entry per topic-partition
 * the connection reads: `{"topic": "eqiad.mediawiki.page_change.v1", "partition": 0, "timestamp":
 * 1764431234568}` (the public service: the last event's Kafka timestamp + 1) or `{…, "offset": N}`.
 * Sent back as the `Last-Event-ID` header it replaces the stream's topic list, each entry starting
 * at its offset, or at the first event at or after its timestamp.
 *
 * A partition that has delivered nothing on a connection keeps the server's resolved start, which
 * is `"offset": -1` ("the end") when the connection started at the end, or when the timestamp it was
 * sent has no event yet. Sent back as it is, such a partition (typically the idle `codfw.` topic)
 * would restart at the end of the next connection and lose what arrived in between; so before an
 * id is kept as a position, such an entry becomes the timestamp that partition started from on that
 * connection (see `resumable`).
 */

export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read; wins over `timestamp` when both are set (as the server reads them). */
  readonly offset?: number;
  /** Milliseconds since the epoch: the first event at or after it is read next. */
  readonly timestamp?: number;
}

/** A resumable position: every entry has a non-negative offset or a timestamp. */
export type EventId = readonly PartitionPosition[];

/** Kafka topic names: letters, digits, `.`, `_`, `-`, at most 249. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The entries of an SSE `id` as EventStreams sends them; undefined when it is not such an array. */
export function parseEventId(text: string): PartitionPosition[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return entriesOf(value);
}

function entriesOf(value: unknown): PartitionPosition[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const entries: PartitionPosition[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    const { topic, partition, offset, timestamp } = item as Record<string, unknown>;
    if (typeof topic !== 'string' || !TOPIC.test(topic)) return undefined;
    if (!Number.isSafeInteger(partition) || (partition as number) < 0) return undefined;
    const hasOffset = Number.isSafeInteger(offset);
    const hasTimestamp = Number.isSafeInteger(timestamp) && (timestamp as number) >= 0;
    if (!hasOffset && !hasTimestamp) return undefined;
    entries.push({
      topic,
      partition: partition as number,
      ...(hasOffset ? { offset: offset as number } : { timestamp: timestamp as number }),
    });
  }
  return entries;
}

export function partitionKey(entry: { topic: string; partition: number }): string {
  return `${entry.topic}/${entry.partition}`;
}

/**
 * The id with every partition that has delivered nothing on its connection set to the time it
 * started from there (`startOf`): the timestamp sent for it in `Last-Event-ID`, else `since`, else
 * the time the connection was opened. Nothing it could have delivered since is skipped, whatever the
 * other partitions delivered, and however late.
 *
 * A partition has delivered nothing when its offset is negative (the end); and, on a service that
 * identifies events by timestamp (the public one: its ids carry timestamps), whenever it shows an
 * offset at all: that is the server's resolution of a start time in the Kafka cluster of the data
 * centre that answered, which means nothing to the other one the next connection may reach.
 */
export function resumable(
  entries: readonly PartitionPosition[],
  startOf: (entry: PartitionPosition) => number,
): EventId {
  const byTimestamp = entries.some((e) => e.offset === undefined);
  return entries.map((entry) =>
    entry.offset !== undefined && (entry.offset < 0 || byTimestamp)
      ? { topic: entry.topic, partition: entry.partition, timestamp: startOf(entry) }
      : entry,
  );
}

/** What a position file holds: the stream's URL (a position means nothing for another) and the id. */
export interface SsePosition {
  readonly url: string;
  readonly last_event_id: EventId;
}

/** Checks a position file's content; throws saying what is wrong. */
export function parsePosition(value: unknown): SsePosition {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('is not an EventStreams position ({"url": …, "last_event_id": […]})');
  }
  const { url, last_event_id: id } = value as Record<string, unknown>;
  if (typeof url !== 'string' || url === '') throw new Error('has no "url"');
  const entries = entriesOf(id);
  if (entries === undefined || entries.some((e) => e.offset !== undefined && e.offset < 0)) {
    throw new Error('has no valid "last_event_id" (an array of {topic, partition, offset ≥ 0 or timestamp})');
  }
  return { url, last_event_id: entries };
}
