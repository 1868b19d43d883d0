import type { StepCaptureOptions } from '@soe/core';
import { RequestValidationError } from './errors.js';

/** What the deployed functions read from their environment. */
export interface RuntimeEnv {
  tableName: string;
  queueUrl: string;
  delayQueueUrl?: string;
  /** The queue's redrive maxReceiveCount (the worker marks FAILED on the last attempt). */
  maxReceiveCount?: number;
  /** Days telemetry is kept. */
  telemetryTtlDays?: number;
  /** Days every item of an execution is kept (DynamoDB TTL); unset: kept until deleted. */
  executionRetentionDays?: number;
  /** Step I/O capture: `SOE_CAPTURE_MAX_CHARS` (0 turns it off) and `SOE_REDACT_FIELDS` (comma-separated names). */
  capture?: StepCaptureOptions;
}

/**
 * Reads the settings the stack gives every function: `TABLE_NAME`, `QUEUE_URL` (required),
 * `DELAY_QUEUE_URL`, `MAX_RECEIVE_COUNT`, `TELEMETRY_TTL_DAYS`, `SOE_EXECUTION_RETENTION_DAYS`. Throws at cold start, naming the
 * variable, instead of failing on the first request.
 * @example
 * export const handler = createWorkerHandler({ dynamo, sqs, ...readRuntimeEnv(), toolsRegistry });
 */
export function readRuntimeEnv(env: Record<string, string | undefined> = process.env): RuntimeEnv {
  const required = (name: string): string => {
    const v = env[name];
    if (!v) throw new RequestValidationError(`environment variable ${name} is not set`);
    return v;
  };
  const number = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new RequestValidationError(`environment variable ${name} must be a positive number, got '${v}'`);
    return n;
  };
  const out: RuntimeEnv = { tableName: required('TABLE_NAME'), queueUrl: required('QUEUE_URL') };
  if (env.DELAY_QUEUE_URL) out.delayQueueUrl = env.DELAY_QUEUE_URL;
  const max = number('MAX_RECEIVE_COUNT');
  if (max !== undefined) out.maxReceiveCount = max;
  const ttl = number('TELEMETRY_TTL_DAYS');
  if (ttl !== undefined) out.telemetryTtlDays = ttl;
  const retention = number('SOE_EXECUTION_RETENTION_DAYS');
  if (retention !== undefined) out.executionRetentionDays = retention;
  const capture = readCaptureEnv(env);
  if (capture) out.capture = capture;
  return out;
}

/** Step I/O capture settings from `SOE_CAPTURE_MAX_CHARS` and `SOE_REDACT_FIELDS`, if either is set. */
export function readCaptureEnv(env: Record<string, string | undefined>): StepCaptureOptions | undefined {
  const out: StepCaptureOptions = {};
  const max = env.SOE_CAPTURE_MAX_CHARS;
  if (max !== undefined && max !== '') {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 0)
      throw new RequestValidationError(`environment variable SOE_CAPTURE_MAX_CHARS must be a whole number of at least 0, got '${max}'`);
    out.maxChars = n;
  }
  const names = (env.SOE_REDACT_FIELDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length) out.redact = names;
  return Object.keys(out).length ? out : undefined;
}
