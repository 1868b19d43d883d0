import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  DEFAULT_FOLLOW_ROUTERS,
  DEFAULT_MAX_VALUE_BYTES,
  type ProcessorOptions,
  processSignalMessage,
  recordRetriesExhausted,
  type WorkerHooks,
} from './broadcast-processor.js';
import { classifyError, describeError } from './errors.js';
import { createRuntimeServices, type RuntimeDeps } from './runtime-services.js';
import { forwardSignalMessage, parseSignalMessage } from './signal-message.js';

/** Dependencies of {@link createWorkerHandler}. */
export interface WorkerDeps extends RuntimeDeps {
  /**
   * The queue's redrive `maxReceiveCount`: on the last attempt a transient failure marks the execution
   * FAILED before SQS moves the message to the dead-letter queue. Must match the queue. @default 3
   */
  maxReceiveCount?: number;
  /** Seconds a message stays invisible after a transient failure on its n-th receive. @default 5 · 2^(n-1), at most 900 */
  backoffSeconds?: (receiveCount: number) => number;
  /** Router-only broadcasts one invocation may follow without an SQS hop. 0 turns following off. @default 50 */
  followRouters?: number;
  /** Largest single context value in bytes. @default 4 MiB */
  maxValueBytes?: number;
  /** Fault injection (the local runtime's chaos mode) and observation. */
  hooks?: WorkerHooks;
  /** Write telemetry events (one item per message, with a TTL). Off saves a write per message. @default true */
  telemetry?: boolean;
}

/** The worker Lambda's handler type. */
export type WorkerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Default {@link WorkerDeps.maxReceiveCount}. */
export const DEFAULT_MAX_RECEIVE_COUNT = 3;

/** Default {@link WorkerDeps.backoffSeconds}: 5 s, 10 s, 20 s, … capped at 15 minutes. */
export const defaultBackoffSeconds = (receiveCount: number): number => Math.min(900, 5 * 2 ** Math.max(0, receiveCount - 1));

/**
 * Creates the worker: the handler of the SQS event source that carries broadcasts. Each record is one
 * broadcast, handled with exactly-once state effects (see broadcast-processor.ts); the batch answers
 * with partial failures through Powertools, so only failed records come back.
 *
 * Errors are sorted: a malformed message, an unknown execution and every permanent error are logged
 * and acknowledged (permanent errors of a known execution also mark it FAILED) — retrying cannot help.
 * Transient errors (throttling, 5xx, timeouts, errors marked `retryable`) fail the record: its
 * visibility is set to a backoff with ChangeMessageVisibility and SQS delivers it again; on the last
 * attempt the execution is marked FAILED first, so no message reaches the dead-letter queue silently.
 * @example
 * // functions/worker.ts
 * export const handler = createWorkerHandler({ dynamo, sqs, tableName: process.env.TABLE_NAME!, queueUrl: process.env.QUEUE_URL!, toolsRegistry, callLlm });
 */
export function createWorkerHandler(deps: WorkerDeps): WorkerHandler {
  const services = createRuntimeServices(deps, 'soe-worker');
  const { logger } = services;
  const maxReceiveCount = deps.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  const backoff = deps.backoffSeconds ?? defaultBackoffSeconds;

  const delayQueueName = deps.delayQueueUrl ? queueNameOf(deps.delayQueueUrl) : undefined;
  /** The queue a record came from (its visibility is changed there). */
  const sourceQueueUrl = (record: SQSRecord): string =>
    delayQueueName && queueNameOf(record.eventSourceARN ?? '') === delayQueueName ? deps.delayQueueUrl! : deps.queueUrl;

  const handleRecord = async (record: SQSRecord, context: Context | undefined): Promise<void> => {
    let message: ReturnType<typeof parseSignalMessage>;
    try {
      message = parseSignalMessage(record.body);
    } catch (e) {
      // Permanent: the same bytes will never parse. Acknowledge so it does not cycle into the DLQ.
      logger.error('dropped a malformed signal message', {
        messageId: record.messageId,
        error: describeError(e),
        body: record.body.slice(0, 500),
      });
      return;
    }
    if (sourceQueueUrl(record) !== deps.queueUrl) {
      // A delayed message came due: hand it to the FIFO queue, where it waits its turn in its execution's group.
      await forwardSignalMessage(services.sqs, deps.queueUrl, message);
      logger.debug('forwarded a delayed signal message', {
        messageId: record.messageId,
        executionId: message.executionId,
        broadcastId: message.id,
      });
      return;
    }
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    const where = {
      messageId: record.messageId,
      executionId: message.executionId,
      broadcastId: message.id,
      signals: message.signals,
      receiveCount,
    };
    const opts: ProcessorOptions = {
      maxValueBytes: deps.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
      followRouters: deps.followRouters ?? DEFAULT_FOLLOW_ROUTERS,
      hooks: deps.hooks,
      telemetry: deps.telemetry,
      remainingMs: context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : undefined,
    };
    try {
      const result = await processSignalMessage(services, message, opts);
      if (result.status === 'failed')
        logger.error('broadcast failed permanently: execution marked FAILED, message not retried', { ...where, error: result.error });
      else logger.debug('broadcast handled', where);
    } catch (e) {
      const error = describeError(e);
      if (classifyError(e) === 'permanent') {
        logger.error('dropped a signal message: permanent error, not retried', { ...where, error });
        return;
      }
      if (receiveCount >= maxReceiveCount) {
        const marked = await recordRetriesExhausted(
          services,
          message.executionId,
          message.id,
          `${error} (gave up after ${receiveCount} attempts; the message went to the dead-letter queue)`,
        ).catch((markError) => {
          logger.error('could not mark the execution FAILED', { ...where, error: describeError(markError) });
          return false;
        });
        logger.error('retries exhausted: execution marked FAILED, message goes to the dead-letter queue', { ...where, error, marked });
        await setVisibility(record, 0);
      } else {
        const seconds = backoff(receiveCount);
        logger.warn('transient error: the message will be retried', { ...where, error, retryInSeconds: seconds });
        await setVisibility(record, seconds);
      }
      throw e;
    }
  };

  /** On the last receive of a record that is not processed, marks its execution FAILED (never a silent DLQ). */
  const noteExhausted = async (record: SQSRecord, reason: string) => {
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
    if (receiveCount < maxReceiveCount) return;
    let message: ReturnType<typeof parseSignalMessage>;
    try {
      message = parseSignalMessage(record.body);
    } catch {
      return;
    }
    const error = `${reason} (gave up after ${receiveCount} attempts; the message went to the dead-letter queue)`;
    await recordRetriesExhausted(services, message.executionId, message.id, error).catch(() => false);
    logger.error('retries exhausted: execution marked FAILED, message goes to the dead-letter queue', {
      messageId: record.messageId,
      executionId: message.executionId,
      error,
    });
  };

  /** Best effort: if it fails, the message comes back after the queue's visibility timeout instead. */
  const setVisibility = async (record: SQSRecord, seconds: number) => {
    try {
      await services.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: sourceQueueUrl(record),
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (e) {
      logger.warn('ChangeMessageVisibility failed', { messageId: record.messageId, error: describeError(e) });
    }
  };

  return async (event, context) => {
    // A fresh processor per invocation: one shared by overlapping invocations mixes their results.
    const processor = new BatchProcessor(EventType.SQS);
    // Records of one message group (one execution, on the FIFO queue) run one after another, in order;
    // different groups run in parallel. After a failure the rest of its group is failed unprocessed and
    // made visible again at once, so the group keeps its order (what Lambda expects of FIFO batches).
    const chains = new Map<string, Promise<void>>();
    const failedGroups = new Set<string>();
    const inGroup = (record: SQSRecord): Promise<void> => {
      const group = record.attributes?.MessageGroupId;
      if (!group) return handleRecord(record, context);
      const run = (chains.get(group) ?? Promise.resolve()).then(async () => {
        if (failedGroups.has(group)) {
          const reason = `not processed: an earlier message of group ${group} failed`;
          // Its receive count still grows: on the last receive, say so before SQS moves it to the DLQ.
          await noteExhausted(record, reason);
          await setVisibility(record, 0);
          throw new Error(reason);
        }
        try {
          await handleRecord(record, context);
        } catch (e) {
          failedGroups.add(group);
          throw e;
        }
      });
      chains.set(
        group,
        run.catch(() => undefined),
      );
      return run;
    };
    return processPartialResponse(event, inGroup, processor, context ? { context } : {});
  };
}

/** The queue name at the end of a queue URL or ARN. */
function queueNameOf(urlOrArn: string): string {
  return urlOrArn.split(/[/:]/).pop() ?? '';
}
