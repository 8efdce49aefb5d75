import type { RdKafka } from '@confluentinc/kafka-javascript';
import type { ConsumerHandlers, SourceConsumer } from './consumer-client.js';
import { codes, KafkaClientError } from './kafka-error.js';
import type { Partition } from './partition-ownership.js';

/** How long a consume call waits while the consumer is being replaced, before answering "no records". */
const SWAP_POLL_MS = 100;

/**
 * The consumer the source's parts call, whose librdkafka client can be replaced under them. A
 * consumer fenced by the group (FENCED_INSTANCE_ID, fatal) is unusable for good; the parts (poll
 * loop, committer, rebalance handler, lifecycle) hold this object instead, so a new client can take
 * its place without rebuilding them.
 *
 * Each client gets its own callbacks: once replaced, what the old one still reports (a late
 * revocation while it closes, a commit answer, its errors) does not reach the parts, which by then
 * talk to the new one. While a replacement runs (`beginSwap` … `endSwap`) the calls behave as for a
 * consumer that lost its assignment: no records, commits refused as from a fenced member, pause and
 * unassign without effect.
 */
export class ReplaceableConsumer implements SourceConsumer {
  private current: SourceConsumer;
  private generation = 0;
  private swapping = false;

  constructor(
    private readonly open: (handlers: ConsumerHandlers) => SourceConsumer,
    private readonly handlers: ConsumerHandlers,
  ) {
    this.current = this.openGeneration();
  }

  /** The client now in use (the transactional source hands it to the producer). */
  get client(): SourceConsumer {
    return this.current;
  }

  get replacing(): boolean {
    return this.swapping;
  }

  /**
   * From now on the current client's callbacks are ignored and calls answer as for a lost member.
   * Returns the old client, for the caller to close.
   */
  beginSwap(): SourceConsumer {
    this.swapping = true;
    this.generation++;
    return this.current;
  }

  /** A new client takes the old one's place (not yet connected: the lifecycle connects it). */
  endSwap(): void {
    this.current = this.openGeneration();
    this.swapping = false;
  }

  private openGeneration(): SourceConsumer {
    const generation = this.generation;
    const live = () => generation === this.generation;
    // The callbacks run later, once `client` is set (librdkafka calls none during construction).
    const client: SourceConsumer = this.open({
      onRebalance: (err, assignment) => {
        if (live()) this.handlers.onRebalance(err, assignment);
        // A replaced client may still be told to give its partitions up while it closes: let it,
        // or its close waits for an answer nobody else will give.
        else if (err?.code === codes.ERR__REVOKE_PARTITIONS)
          tryQuietly(() => client.incrementalUnassign(assignment));
      },
      onCommitResult: (err, offsets) => {
        if (live()) this.handlers.onCommitResult(err, offsets);
      },
      onClientError: (err) => {
        if (live()) this.handlers.onClientError(err);
      },
    });
    return client;
  }

  consume(count: number, cb: (err: unknown, messages: RdKafka.Message[]) => void): void {
    if (this.swapping) {
      setTimeout(() => cb(undefined, []), SWAP_POLL_MS);
      return;
    }
    // What a replaced client answers (its fatal error, records of partitions it no longer holds)
    // belongs to the past: the loop gets nothing from it.
    const generation = this.generation;
    this.current.consume(count, (err, messages) => {
      if (generation === this.generation) cb(err, messages);
      else cb(undefined, []);
    });
  }

  commit(offsets: RdKafka.TopicPartitionOffset[]): void {
    if (this.swapping) {
      throw new KafkaClientError('commit: the consumer is being replaced', codes.ERR_FENCED_INSTANCE_ID);
    }
    this.current.commit(offsets);
  }

  pause(partitions: Partition[]): void {
    if (!this.swapping) this.current.pause(partitions);
  }

  resume(partitions: Partition[]): void {
    if (!this.swapping) this.current.resume(partitions);
  }

  incrementalAssign(partitions: Partition[]): void {
    if (!this.swapping) this.current.incrementalAssign(partitions);
  }

  incrementalUnassign(partitions: Partition[]): void {
    if (!this.swapping) this.current.incrementalUnassign(partitions);
  }

  assignmentLost(): boolean {
    return this.swapping || this.current.assignmentLost();
  }

  isConnected(): boolean {
    return !this.swapping && this.current.isConnected();
  }

  connect(options: { timeout: number }, cb: (err: unknown, metadata: RdKafka.Metadata) => void): void {
    this.current.connect(options, cb);
  }

  getMetadata(
    options: { topic?: string; timeout: number },
    cb: (err: unknown, metadata: RdKafka.Metadata) => void,
  ): void {
    this.current.getMetadata(options, cb);
  }

  setDefaultConsumeTimeout(timeoutMs: number): void {
    this.current.setDefaultConsumeTimeout(timeoutMs);
  }

  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void {
    this.current.setDefaultIsTimeoutOnlyForFirstMessage(value);
  }

  subscribe(topics: string[]): void {
    this.current.subscribe(topics);
  }

  unsubscribe(): void {
    this.current.unsubscribe();
  }

  disconnect(cb: (err: unknown, metrics: RdKafka.ClientMetrics) => void): void {
    this.current.disconnect(cb);
  }
}

function tryQuietly(f: () => void): void {
  try {
    f();
  } catch {
    // The client is being closed; nothing depends on this call.
  }
}
