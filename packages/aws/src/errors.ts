/**
 * Errors of the AWS runtime. Each class sets `name` (errors cross bundle boundaries, so callers match
 * on `name` or `retryable`, not only on `instanceof`) and says whether a retry can help: the worker
 * retries transient errors through SQS and marks the execution FAILED on permanent ones.
 */
import { isRetryable, SoeError } from '@soe/core';

/** Base class of the errors raised by `@soe/aws`. */
export class SoeAwsError extends SoeError {
  override readonly code: string = 'SOE_AWS';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SoeAwsError';
  }
}

/** A signal message names an execution that has no stored context. Permanent: a retry cannot create it. */
export class UnknownExecutionError extends SoeAwsError {
  override readonly code = 'SOE_UNKNOWN_EXECUTION';
  readonly executionId: string;
  constructor(executionId: string, options?: ErrorOptions) {
    super(`execution '${executionId}' not found: it has no stored context`, options);
    this.name = 'UnknownExecutionError';
    this.executionId = executionId;
  }
}

/** An SQS message body is not a signal message `{ v: 1, id, executionId, signals }`. Permanent. */
export class MalformedMessageError extends SoeAwsError {
  override readonly code = 'SOE_MALFORMED_MESSAGE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedMessageError';
  }
}

/** A request to the start, signal or status handler is malformed (names the field at fault). */
export class RequestValidationError extends SoeAwsError {
  override readonly code = 'SOE_BAD_REQUEST';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RequestValidationError';
  }
}

/** A single context value is larger than the runtime stores. Names the field so the author can find it. */
export class ValueTooLargeError extends SoeAwsError {
  override readonly code = 'SOE_VALUE_TOO_LARGE';
  readonly field: string;
  readonly bytes: number;
  readonly limitBytes: number;
  constructor(executionId: string, field: string, bytes: number, limitBytes: number, options?: ErrorOptions) {
    super(
      `execution '${executionId}', field '${field}': a single value of ${bytes} bytes is larger than the ${limitBytes}-byte limit of one context value`,
      options,
    );
    this.name = 'ValueTooLargeError';
    this.field = field;
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/**
 * A request goes past one of the runtime's limits (a value's size, a name's length, a queue message's
 * size). Permanent; names what is too large, how large it is and the limit.
 */
export class LimitExceededError extends SoeAwsError {
  override readonly code = 'SOE_LIMIT_EXCEEDED';
  readonly what: string;
  readonly limit: number;
  readonly actual: number;
  constructor(what: string, actual: number, limit: number, unit: string, hint = '', options?: ErrorOptions) {
    super(`${what} is ${actual} ${unit}: the limit is ${limit} ${unit}${hint ? `. ${hint}` : ''}`, options);
    this.name = 'LimitExceededError';
    this.what = what;
    this.limit = limit;
    this.actual = actual;
  }
}

/**
 * Thrown by fault injection (`chaos.crashAfterCommitRate`) right after a node run committed and before
 * its broadcasts were sent: it stands for a worker that died there. Retryable, so the message comes back.
 */
export class SimulatedCrashError extends SoeAwsError {
  override readonly code = 'SOE_SIMULATED_CRASH';
  override readonly retryable = true;
  constructor(message = 'simulated worker crash after commit', options?: ErrorOptions) {
    super(message, options);
    this.name = 'SimulatedCrashError';
  }
}

/** How the worker treats an error: retried through SQS, or final. */
export type ErrorClass = 'transient' | 'permanent';

/**
 * Sorts an error: SOE errors marked retryable, AWS throttling and 5xx errors, and network failures are
 * transient; everything else (invalid config, unknown tool, template errors, AWS validation errors such
 * as an oversized item) is permanent. AWS errors are recognised by `name`, `$retryable` and the HTTP
 * status in `$metadata`, because the SDK's classes differ between bundles.
 */
export function classifyError(err: unknown): ErrorClass {
  // One classifier for every runtime: the engine's (see isRetryable in @soe/core).
  return isRetryable(err) ? 'transient' : 'permanent';
}

/** `Name: message` of an error, as the status shows it (the conformance runner reads the name back). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
