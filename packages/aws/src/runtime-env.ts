/** Reads the deployed functions' environment (the names of env-contract.ts) into typed settings, refusing bad values. */
import type { StepCaptureOptions } from '@soe/core';
import { ENV } from './env-contract.js';
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
  /** The start function's folder of deployed workflow files. */
  workflowsDir?: string;
  /** Step I/O capture: `SOE_CAPTURE_MAX_CHARS` (0 turns it off) and `SOE_REDACT_FIELDS` (comma-separated names). */
  capture?: StepCaptureOptions;
}

/**
 * Reads the settings the stack gives every function: `TABLE_NAME`, `QUEUE_URL` (required),
 * `DELAY_QUEUE_URL`, `MAX_RECEIVE_COUNT`, `TELEMETRY_TTL_DAYS`, `SOE_EXECUTION_RETENTION_DAYS`, `WORKFLOWS_DIR`
 * (the names of {@link ENV}, the contract the construct writes). Throws at cold start, naming the
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
  const out: RuntimeEnv = { tableName: required(ENV.tableName), queueUrl: required(ENV.queueUrl) };
  const delay = env[ENV.delayQueueUrl];
  if (delay) out.delayQueueUrl = delay;
  const max = number(ENV.maxReceiveCount);
  if (max !== undefined) out.maxReceiveCount = max;
  const ttl = number(ENV.telemetryTtlDays);
  if (ttl !== undefined) out.telemetryTtlDays = ttl;
  const retention = number(ENV.executionRetentionDays);
  if (retention !== undefined) out.executionRetentionDays = retention;
  const workflowsDir = env[ENV.workflowsDir];
  if (workflowsDir) out.workflowsDir = workflowsDir;
  const capture = readCaptureEnv(env);
  if (capture) out.capture = capture;
  return out;
}

/** Step I/O capture settings from `SOE_CAPTURE_MAX_CHARS` and `SOE_REDACT_FIELDS`, if either is set. */
export function readCaptureEnv(env: Record<string, string | undefined>): StepCaptureOptions | undefined {
  const out: StepCaptureOptions = {};
  const max = env[ENV.captureMaxChars];
  if (max !== undefined && max !== '') {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 0)
      throw new RequestValidationError(`environment variable ${ENV.captureMaxChars} must be a whole number of at least 0, got '${max}'`);
    out.maxChars = n;
  }
  const names = (env[ENV.redactFields] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length) out.redact = names;
  return Object.keys(out).length ? out : undefined;
}
