/** How the AWS runtime sorts errors: its own classes' kinds, the worker's transient/permanent split, the handlers' answers. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { type ErrorKind, errorKind, SignalRefusedError, TemplateError, TransientError, WorkflowValidationError } from '@soe/core';
import { describe, expect, it } from 'vitest';
import { isClientError, toHandlerError } from '../src/handler-error.js';
import {
  ContentionError,
  classifyError,
  InconsistentReadError,
  LimitExceededError,
  MalformedMessageError,
  QueueSendError,
  RequestValidationError,
  SimulatedCrashError,
  UnknownExecutionError,
  ValueTooLargeError,
} from '../src/index.js';

const sdkError = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${name} happened`), { name, ...extra });

describe('the AWS runtime error classes', () => {
  it.each<[string, unknown, ErrorKind]>([
    ['UnknownExecutionError', new UnknownExecutionError('e1'), 'invalid_input'],
    ['MalformedMessageError', new MalformedMessageError('not JSON'), 'invalid_input'],
    ['RequestValidationError', new RequestValidationError("'executionId' is required"), 'invalid_input'],
    ['ValueTooLargeError', new ValueTooLargeError('e1', 'f', 10, 5), 'invalid_input'],
    ['LimitExceededError', new LimitExceededError('a message', 300, 256, 'KiB'), 'invalid_input'],
    ['SimulatedCrashError', new SimulatedCrashError(), 'transient'],
    ['ContentionError', new ContentionError('too much contention'), 'transient'],
    ['InconsistentReadError', new InconsistentReadError('log position 3 expected, found 4'), 'transient'],
    ['QueueSendError (SQS busy)', new QueueSendError('SQS refused 1 of 1 messages', false), 'transient'],
    ['QueueSendError (a sender fault)', new QueueSendError('SQS refused 1 of 1 messages', true), 'internal'],
  ])('%s is %s', (_, err, kind) => {
    expect(errorKind(err)).toBe(kind);
    expect(classifyError(err)).toBe(kind === 'transient' ? 'transient' : 'permanent');
  });
});

describe('the worker retries transient errors and ends on permanent ones', () => {
  it.each([
    [new TransientError('busy'), 'transient'],
    [sdkError('ThrottlingException'), 'transient'],
    [sdkError('ProvisionedThroughputExceededException'), 'transient'],
    [sdkError('Whatever', { $metadata: { httpStatusCode: 503 } }), 'transient'],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'transient'],
    [new Error('wrapped', { cause: sdkError('InternalServerError') }), 'transient'],
    [new WorkflowValidationError('bad'), 'permanent'],
    [
      sdkError('ValidationException', { message: 'Item size has exceeded the maximum allowed size', $metadata: { httpStatusCode: 400 } }),
      'permanent',
    ],
    [new Error('plain'), 'permanent'],
    ['a string', 'permanent'],
  ])('%s is %s', (err, expected) => {
    expect(classifyError(err)).toBe(expected);
  });
});

/** smithy's own name lists (the AWS SDK v3 retry strategy's), read from the installed package. */
function smithyNames(): string[] {
  const retryEntry = createRequire(import.meta.url).resolve('@smithy/core/retry');
  const constants = join(dirname(retryEntry).replace('dist-cjs', 'dist-es'), 'service-error-classification', 'constants.js');
  return [...readFileSync(constants, 'utf8').matchAll(/"([A-Za-z0-9]+)"/g)].map((m) => m[1]!);
}

describe('in step with the AWS SDK', () => {
  const names = smithyNames();

  it('finds the SDK lists', () => expect(names).toEqual(expect.arrayContaining(['ThrottlingException', 'ECONNRESET', 'TimeoutError'])));

  it('every error the SDK retries is transient here', () => {
    const statuses = [undefined, 400, 403, 429, 500, 502, 503, 504];
    const missed: string[] = [];
    for (const name of names) {
      for (const status of statuses) {
        const err = sdkError(name, status ? { $metadata: { httpStatusCode: status } } : {});
        const asCode = Object.assign(new Error('net'), { code: name });
        for (const e of [err, asCode]) {
          const sdkRetries = isThrottlingError(e) || isTransientError(e) || isServerError(e);
          if (sdkRetries && errorKind(e) !== 'transient') missed.push(`${e.name}/${(e as { code?: string }).code ?? ''}/${status}`);
        }
      }
    }
    expect(missed).toEqual([]);
  });
});

describe('the handlers answer invalid input and throw the rest', () => {
  it.each([
    ['a rejected config', new WorkflowValidationError('bad')],
    ['a template error', new TemplateError('bad')],
    ['an unknown execution', new UnknownExecutionError('e1')],
    ['a refused signal', new SignalRefusedError('refused', 'not-listened')],
    ['a malformed request', new RequestValidationError('bad')],
    ['a limit', new LimitExceededError('x', 2, 1, 'bytes')],
    ['a request of the wrong shape', new TypeError("Cannot read properties of undefined (reading 'map')")],
  ])('%s is answered', (_, err) => expect(isClientError(err)).toBe(true));

  it.each([
    ['throttling', sdkError('ThrottlingException')],
    ['a bug', new Error('boom')],
    ['contention', new ContentionError('busy')],
  ])('%s is thrown', (_, err) => expect(isClientError(err)).toBe(false));

  it('the answer carries the type, message, code and issues', () => {
    const err = new WorkflowValidationError([{ workflow: 'main', node: 'A', field: 'tool_name', message: 'missing' }]);
    expect(toHandlerError(err)).toEqual({
      error: {
        type: 'WorkflowValidationError',
        code: 'SOE_INVALID_WORKFLOW',
        message: err.message,
        issues: [{ workflow: 'main', node: 'A', field: 'tool_name', message: 'missing' }],
      },
    });
  });
});
