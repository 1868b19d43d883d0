/** What the handlers share: clients, backends, queues and logger, built once from the handler dependencies. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CallLlm, StepCaptureOptions, ToolsRegistry } from '@soe/core';
import { createDynamoBackends, type DynamoBackends } from './create-dynamo-backends.js';
import type { SignalQueues } from './signal-message.js';

/**
 * The logging surface the runtime needs. A Powertools `Logger` fits it; tests pass a recorder.
 */
export interface SoeLogger {
  debug(message: string, ...extra: Array<Record<string, unknown>>): void;
  info(message: string, ...extra: Array<Record<string, unknown>>): void;
  warn(message: string, ...extra: Array<Record<string, unknown>>): void;
  error(message: string, ...extra: Array<Record<string, unknown>>): void;
}

/**
 * What every handler factory takes, as one object so tests inject emulator clients and fakes. In a
 * Lambda entry file the clients are created at module scope and reused across warm invocations.
 */
export interface RuntimeDeps {
  /** DynamoDB client (or document client) for the table. */
  dynamo: DynamoDBClient | DynamoDBDocumentClient;
  /** SQS client for the signal queue. */
  sqs: SQSClient;
  tableName: string;
  /**
   * The signal queue the worker consumes: FIFO (`….fifo`, grouped by execution) as deployed, or a
   * standard queue (then broadcasts of one execution may be handled concurrently).
   */
  queueUrl: string;
  /** Standard queue holding delayed messages (spawn_interval) until they are due, when `queueUrl` is FIFO. */
  delayQueueUrl?: string;
  /** The user's tools (bundled from the user's module). */
  toolsRegistry?: ToolsRegistry;
  /** The user's model. */
  callLlm?: CallLlm;
  /** How step I/O is capped and redacted in telemetry (env: `SOE_CAPTURE_MAX_CHARS`, `SOE_REDACT_FIELDS`). */
  capture?: StepCaptureOptions;
  /** Structured logger. @default a Powertools Logger */
  logger?: SoeLogger;
  /** Days until telemetry expires. @default 30 */
  telemetryTtlDays?: number;
  /** Largest per-message SQS delay; longer `spawn_interval` delays are chained. @default 900 (SQS's cap) */
  maxDelaySeconds?: number;
  /**
   * Days every item an execution writes is kept: each write stamps the table's `ttl` attribute. Unset:
   * items are kept until deleted (telemetry still expires after `telemetryTtlDays`).
   */
  executionRetentionDays?: number;
}

/** What the handlers share: the backends on the table, the queue and the logger. */
export interface RuntimeServices {
  deps: RuntimeDeps;
  backends: DynamoBackends;
  sqs: SQSClient;
  queues: SignalQueues;
  logger: SoeLogger;
}

/** A logger that drops everything (when none is given and Powertools is not wanted). */
export const silentLogger: SoeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds the shared services of a handler from its dependencies. */
export function createRuntimeServices(deps: RuntimeDeps, serviceName: string): RuntimeServices {
  const logger = deps.logger ?? (new Logger({ serviceName }) as unknown as SoeLogger);
  return {
    deps,
    backends: createDynamoBackends({
      client: deps.dynamo,
      tableName: deps.tableName,
      telemetryTtlDays: deps.telemetryTtlDays,
      retentionDays: deps.executionRetentionDays,
    }),
    sqs: deps.sqs,
    queues: {
      queueUrl: deps.queueUrl,
      ...(deps.delayQueueUrl ? { delayQueueUrl: deps.delayQueueUrl } : {}),
      ...(deps.maxDelaySeconds ? { maxDelaySeconds: deps.maxDelaySeconds } : {}),
    },
    logger,
  };
}
