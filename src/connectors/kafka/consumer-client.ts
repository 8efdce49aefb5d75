import { RdKafka } from '@confluentinc/kafka-javascript';
import type { LifecycleConsumer } from './consumer-lifecycle.js';
import type { CommittingConsumer } from './offset-committer.js';
import type { KafkaSourceConfig } from './options.js';
import { logLibrdkafka } from './logger.js';
import type { PollingConsumer } from './poll-loop.js';
import type { KafkaClientDeps } from './producer-client.js';
import { configErrorFromClient } from './properties.js';
import type { RebalancingConsumer } from './rebalance.js';

/** Present in the binding (lib/kafka-consumer.js) but missing from its typings. */
interface ConsumerExtras {
  setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void;
  incrementalAssign(partitions: RdKafka.TopicPartition[]): void;
  incrementalUnassign(partitions: RdKafka.TopicPartition[]): void;
  assignmentLost(): boolean;
}

export type KafkaConsumerClient = RdKafka.KafkaConsumer & ConsumerExtras;

/** Everything the source uses of a consumer: what a test fakes. */
export type SourceConsumer = PollingConsumer & CommittingConsumer & RebalancingConsumer & LifecycleConsumer;

/** The consumer's callbacks into the source. */
export interface ConsumerHandlers {
  onRebalance(err: RdKafka.LibrdKafkaError | undefined, assignment: RdKafka.TopicPartition[]): void;
  onCommitResult(
    err: RdKafka.LibrdKafkaError | undefined,
    offsets: RdKafka.TopicPartitionOffset[] | undefined,
  ): void;
  onClientError(err: RdKafka.LibrdKafkaError): void;
}

/**
 * librdkafka defaults changed for this source (properties override them): its prefetch is bounded
 * to 2 MiB (default 64 MiB), so that commit results and rebalance events queued behind it arrive
 * sooner; and a partition whose prefetch was full is fetched again after 50 ms instead of 1 s,
 * without which a slow-pulling runtime waits for that second over and over (a 20,000-record run
 * through source and transactional sink went from 2,100 to 19,000 records/s locally). Statistics
 * every 5 s give the high watermarks of the consumer lag (consumer-lag.ts); 0 turns them off.
 */
const LIBRDKAFKA_DEFAULTS = {
  'queued.max.messages.kbytes': 2048,
  'fetch.queue.backoff.ms': 50,
  'statistics.interval.ms': 5000,
} as const;

/**
 * librdkafka's KafkaConsumer (the binding's lower-level API: it lets the source decide when to poll,
 * when to answer a rebalance and what to commit, which the KafkaJS-style `run()` loop hides).
 */
export function createKafkaConsumer(
  config: KafkaSourceConfig,
  deps: KafkaClientDeps,
  propertiesKey: string,
  handlers: ConsumerHandlers,
): KafkaConsumerClient {
  const conf: RdKafka.ConsumerGlobalConfig = {
    ...LIBRDKAFKA_DEFAULTS,
    ...config.properties,
    'bootstrap.servers': config.bootstrapServers,
    'group.id': config.consumerGroup,
    // Static membership: a restarted instance rejoins under the same id and gets its partitions back
    // at once, where a new member would wait for the dead one's session.timeout.ms (45 s) to expire.
    // The broker fences the older of two members with one id (FENCED_INSTANCE_ID, fatal: see
    // fence-recovery.ts); under EXACTLY_ONCE the transactional.id comes from the same instance_id,
    // so a restarted instance fences its zombie's producer too.
    'group.instance.id': config.instanceId,
    'client.id': deps.clientId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'partition.assignment.strategy': 'cooperative-sticky',
    ...(config.deliveryGuarantee === 'EXACTLY_ONCE' ? { 'isolation.level': 'read_committed' as const } : {}),
    rebalance_cb: (err: RdKafka.LibrdKafkaError | undefined, assignment: RdKafka.TopicPartition[]) =>
      handlers.onRebalance(err, assignment),
    // The binding's commit calls only queue the commit; the broker's answer comes through this
    // callback, served by a poll call.
    offset_commit_cb: true,
  };
  let consumer: RdKafka.KafkaConsumer;
  try {
    consumer = new RdKafka.KafkaConsumer(conf, { 'auto.offset.reset': config.startPosition });
  } catch (e) {
    throw configErrorFromClient(e, propertiesKey);
  }
  consumer.on('event.error', (err) => handlers.onClientError(err));
  consumer.on('event.log', (event) => {
    logLibrdkafka(deps.logger, deps.clientId, event);
    // A fatal error (for a consumer: fenced) reaches the application once, through whichever poll or
    // commit meets it first, and not at all while the loop only waits; librdkafka's FATAL log line
    // comes every time, so it is taken as the error too.
    if (event.fac === 'FATAL') handlers.onClientError(fatalFromLog(event.message));
  });
  consumer.on('offset.commit', (err, offsets) => handlers.onCommitResult(err, offsets));
  // The binding emits librdkafka's statistics as `{ message: <JSON> }`, served by poll calls.
  consumer.on('event.stats', (event: { message: string }) => deps.lag?.onStatistics(event.message));
  return consumer as KafkaConsumerClient;
}

function fatalFromLog(message: string | undefined): RdKafka.LibrdKafkaError {
  const code = RdKafka.CODES.ERRORS.ERR__FATAL;
  return { code, errno: code, message: message ?? 'fatal error', origin: 'local', isFatal: true };
}
