/**
 * Errors of the AWS runtime. Each class has a `kind` and a bundle-proof `instanceof` (see
 * `markErrorClass` in @soe/core); the worker retries `transient` errors through SQS and marks the
 * execution FAILED on any other, the handlers answer `invalid_input` errors instead of throwing.
 */
import { type ErrorKind, errorKind, markErrorClass, SoeError } from '@soe/core';

/** Base class of the errors raised by `@soe/aws`. */
export class SoeAwsError extends SoeError {
  override readonly code: string = 'SOE_AWS';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SoeAwsError';
  }
}
markErrorClass(SoeAwsError, 'SoeAwsError');

/** A signal message names an execution that has no stored context. Permanent: a retry cannot create it. */
export class UnknownExecutionError extends SoeAwsError {
  override readonly code = 'SOE_UNKNOWN_EXECUTION';
  override readonly kind: ErrorKind = 'invalid_input';
  readonly executionId: string;
  constructor(executionId: string, options?: ErrorOptions) {
    super(`execution '${executionId}' not found: it has no stored context`, options);
    this.name = 'UnknownExecutionError';
    this.executionId = executionId;
  }
}
markErrorClass(UnknownExecutionError, 'UnknownExecutionError');

/** An SQS message body is not a signal message `{ v: 1, id, executionId, signals }`. Permanent. */
export class MalformedMessageError extends SoeAwsError {
  override readonly code = 'SOE_MALFORMED_MESSAGE';
  override readonly kind: ErrorKind = 'invalid_input';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MalformedMessageError';
  }
}
markErrorClass(MalformedMessageError, 'MalformedMessageError');

/** A request to the start, signal or status handler is malformed (names the field at fault). */
export class RequestValidationError extends SoeAwsError {
  override readonly code = 'SOE_BAD_REQUEST';
  override readonly kind: ErrorKind = 'invalid_input';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RequestValidationError';
  }
}
markErrorClass(RequestValidationError, 'RequestValidationError');

/** A single context value is larger than the runtime stores. Names the field so the author can find it. */
export class ValueTooLargeError extends SoeAwsError {
  override readonly code = 'SOE_VALUE_TOO_LARGE';
  override readonly kind: ErrorKind = 'invalid_input';
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
markErrorClass(ValueTooLargeError, 'ValueTooLargeError');

/**
 * A request goes past one of the runtime's limits (a value's size, a name's length, a queue message's
 * size). Permanent; names what is too large, how large it is and the limit.
 */
export class LimitExceededError extends SoeAwsError {
  override readonly code = 'SOE_LIMIT_EXCEEDED';
  override readonly kind: ErrorKind = 'invalid_input';
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
markErrorClass(LimitExceededError, 'LimitExceededError');

/**
 * Thrown by fault injection (`chaos.crashAfterCommitRate`) right after a node run committed and before
 * its broadcasts were sent: it stands for a worker that died there. Retryable, so the message comes back.
 */
export class SimulatedCrashError extends SoeAwsError {
  override readonly code = 'SOE_SIMULATED_CRASH';
  override readonly kind: ErrorKind = 'transient';
  constructor(message = 'simulated worker crash after commit', options?: ErrorOptions) {
    super(message, options);
    this.name = 'SimulatedCrashError';
  }
}
markErrorClass(SimulatedCrashError, 'SimulatedCrashError');

/**
 * Too many writers raced for one record or log position, or DynamoDB kept leaving a batch unprocessed:
 * transient, the message comes back and the work is claimed again.
 */
export class ContentionError extends SoeAwsError {
  override readonly code = 'SOE_CONTENTION';
  override readonly kind: ErrorKind = 'transient';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ContentionError';
  }
}
markErrorClass(ContentionError, 'ContentionError');

/**
 * A read saw the table in a state a committed write never leaves: a log with a gap, a record whose
 * payload chunk is missing. It happens when a read races a rewrite or a page boundary, so it is
 * transient: a fresh read finds the table whole.
 */
export class InconsistentReadError extends SoeAwsError {
  override readonly code = 'SOE_INCONSISTENT_READ';
  override readonly kind: ErrorKind = 'transient';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InconsistentReadError';
  }
}
markErrorClass(InconsistentReadError, 'InconsistentReadError');

/**
 * SQS refused entries of a SendMessageBatch. A sender fault (a malformed entry) fails again and is
 * `internal`; any other refusal is `transient`.
 */
export class QueueSendError extends SoeAwsError {
  override readonly code = 'SOE_QUEUE_SEND';
  override readonly kind: ErrorKind;
  constructor(message: string, senderFault: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QueueSendError';
    this.kind = senderFault ? 'internal' : 'transient';
  }
}
markErrorClass(QueueSendError, 'QueueSendError');

/** How the worker treats an error: retried through SQS, or final. */
export type ErrorClass = 'transient' | 'permanent';

/**
 * How the worker treats an error: `transient` when @soe/core's one classifier (`errorKind`) says a
 * retry may help (throttling, 5xx, network, errors of kind `transient`), else `permanent`.
 */
export function classifyError(err: unknown): ErrorClass {
  return errorKind(err) === 'transient' ? 'transient' : 'permanent';
}

/** `Name: message` of an error, as the status shows it (the conformance runner reads the name back). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
