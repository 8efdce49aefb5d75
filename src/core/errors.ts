/**
 * Every failure an input can end in, as a stable `error_type` for error events.
 * The list is the contract with consumers of the error stream: add, never rename.
 */
export const ERROR_TYPES = [
  /** The input is not JSON, or not a JSON object. */
  'InvalidEventError',
  /** The input is JSON but fails its schema (or the pinned source schema). */
  'SchemaValidationError',
  /** meta.domain is not in the configured allowlist; no request was made. */
  'DomainNotAllowedError',
  /** The wanted revision is in `badrevids` or its page is `missing`. */
  'MissingRevisionError',
  /** The Action API answered with an HTTP status that is not 200. */
  'HttpStatusError',
  /** Connect or read timeout. */
  'TimeoutError',
  /** Connection refused, reset, DNS failure and other socket errors. */
  'ConnectionError',
  /** `error.code == maxlag`: replica lag too high. */
  'MaxlagError',
  /** `error.code == readonly`: the wiki is in read-only mode. */
  'ReadonlyError',
  /** Any other `error.code` from the Action API. */
  'ApiError',
  /** The response body is not JSON or lacks the expected shape. */
  'ResponseFormatError',
  /** The output event does not validate against the sink schema. */
  'OutputValidationError',
  /** The serialised output is larger than the sink accepts. */
  'OversizeEventError',
  /** The revision's content is larger than `enrich.max_content_size`; the output was not built. */
  'ContentTooLargeError',
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

export interface EnrichmentErrorOptions {
  /** Whether the failure policy may retry the operation that produced it. */
  retryable?: boolean;
  /** Server-requested delay before a retry (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** Structured context for logs (status, api code, revision id...). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** A failure with a stable type, whether it may be retried, and context that logs well. */
export class EnrichmentError extends Error {
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(type: ErrorType, message: string, options: EnrichmentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = type;
    this.type = type;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { type: this.type, message: this.message, retryable: this.retryable, ...this.details };
  }
}

export function isEnrichmentError(value: unknown): value is EnrichmentError {
  return value instanceof EnrichmentError;
}

/** A configuration problem: names the offending key; the CLI exits with code 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
    /** What was met (kept so that a caller can tell an unreachable service from a wrong setting). */
    cause?: unknown,
  ) {
    super(`${key}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'ConfigError';
  }
}
