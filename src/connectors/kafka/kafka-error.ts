import { RdKafka } from '@confluentinc/kafka-javascript';

/** librdkafka error codes this package branches on (negative: local to the client, positive: broker). */
export const codes = RdKafka.CODES.ERRORS;

/**
 * A librdkafka failure as a real Error: the binding's errors are plain objects or strings in some
 * paths, and its flags (fatal, retriable, transaction must abort) only exist on some of them.
 */
export class KafkaClientError extends Error {
  readonly code: number;
  /** The client instance is unusable (fenced, or an idempotence invariant broke). */
  readonly fatal: boolean;
  /** The same call may succeed when repeated. */
  readonly retriable: boolean;
  /** The open transaction can only be aborted. */
  readonly abortable: boolean;

  constructor(
    message: string,
    code: number,
    flags: { fatal?: boolean; retriable?: boolean; abortable?: boolean } = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'KafkaClientError';
    this.code = code;
    this.fatal = flags.fatal ?? code === codes.ERR__FATAL;
    this.retriable = flags.retriable ?? false;
    this.abortable = flags.abortable ?? false;
  }
}

export function toKafkaError(e: unknown, context?: string): KafkaClientError {
  if (e instanceof KafkaClientError) return e;
  const raw = (typeof e === 'object' && e !== null ? e : {}) as Partial<RdKafka.LibrdKafkaError>;
  const code = typeof raw.code === 'number' ? raw.code : -1;
  const message = typeof raw.message === 'string' ? raw.message : String(e);
  return new KafkaClientError(
    context ? `${context}: ${message}` : message,
    code,
    {
      fatal: raw.isFatal === true || undefined,
      retriable: raw.isRetriable === true || undefined,
      abortable: raw.isTxnRequiresAbort === true || undefined,
    },
    e,
  );
}

/** Codes that mean "the cluster is (briefly) unreachable or moving": retry the same call later. */
const TRANSIENT = new Set<number>([
  codes.ERR__TRANSPORT,
  codes.ERR__ALL_BROKERS_DOWN,
  codes.ERR__TIMED_OUT,
  codes.ERR__WAIT_COORD,
  codes.ERR_REQUEST_TIMED_OUT,
  codes.ERR_NETWORK_EXCEPTION,
  codes.ERR_COORDINATOR_NOT_AVAILABLE,
  codes.ERR_COORDINATOR_LOAD_IN_PROGRESS,
  codes.ERR_NOT_COORDINATOR,
  codes.ERR_LEADER_NOT_AVAILABLE,
  codes.ERR_NOT_LEADER_FOR_PARTITION,
  codes.ERR_REBALANCE_IN_PROGRESS,
  codes.ERR_CONCURRENT_TRANSACTIONS,
  codes.ERR_UNSTABLE_OFFSET_COMMIT,
]);

export function isTransient(err: KafkaClientError): boolean {
  return !err.fatal && !err.abortable && (err.retriable || TRANSIENT.has(err.code));
}

/** The group no longer counts this member as the owner of what it tried to commit. */
export function isNotGroupMember(err: KafkaClientError): boolean {
  return (
    err.code === codes.ERR_ILLEGAL_GENERATION ||
    err.code === codes.ERR_UNKNOWN_MEMBER_ID ||
    err.code === codes.ERR_FENCED_INSTANCE_ID
  );
}

/** Wraps a binding call that reports through a node-style callback. */
export function callback<T = void>(
  context: string,
  start: (cb: (err: unknown, value: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(toKafkaError(err, context)) : resolve(value)));
    } catch (e) {
      reject(toKafkaError(e, context));
    }
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Repeats `attempt` while it fails with a transient error, with capped exponential backoff, until
 * `deadlineMs` from now; the last error is thrown.
 */
export async function retryTransient<T>(
  deadlineMs: number,
  attempt: () => Promise<T>,
  onRetry?: (err: KafkaClientError) => void,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await attempt();
    } catch (e) {
      const err = toKafkaError(e);
      if (!isTransient(err) || Date.now() + delay > deadline) throw err;
      onRetry?.(err);
      await sleep(delay);
    }
  }
}

/**
 * librdkafka's consumer reports being fenced (FENCED_INSTANCE_ID: the group knows its
 * group.instance.id under another member) as its one fatal error in the classic group protocol.
 */
export function isFence(err: KafkaClientError): boolean {
  return err.fatal && (err.code === codes.ERR__FATAL || err.code === codes.ERR_FENCED_INSTANCE_ID);
}
