/** The worker Lambda handler: takes a batch of signal messages from SQS and runs what they trigger, within the invocation's time. */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  DEFAULT_FOLLOW_ROUTERS,
  DEFAULT_MAX_VALUE_BYTES,
  type ProcessorOptions,
  processSignalMessage,
  type WorkerHooks,
} from './broadcast-processor.js';
import { classifyError, describeError } from './errors.js';
import { createRuntimeServices, type RuntimeDeps, type RuntimeServices } from './runtime-services.js';
import {
  forwardSignalMessage,
  isFifoQueue,
  MAX_DELAY_SECONDS,
  parseSignalMessage,
  redelaySignalMessage,
  remainingDelaySeconds,
  type SignalMessage,
} from './signal-message.js';
import { type GroupBlockedError, GroupOrderedBatch } from './worker-batch-order.js';
import { DEFAULT_MAX_RECEIVE_COUNT, defaultBackoffSeconds, RedeliveryPolicy, receiveCountOf } from './worker-redelivery.js';
import { TimeBudget, TimeBudgetExhaustedError, type TimeBudgetOptions } from './worker-time-budget.js';

export { DEFAULT_MAX_RECEIVE_COUNT, defaultBackoffSeconds };

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
  /** Reserves of the time budget (see worker-time-budget.ts). */
  timeBudget?: TimeBudgetOptions;
}

/** The worker Lambda's handler type. */
export type WorkerHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** The queue name at the end of a queue URL or ARN. */
function queueNameOf(urlOrArn: string): string {
  return urlOrArn.split(/[/:]/).pop() ?? '';
}

/** Handles the records of the worker's queues: one broadcast each, or a delayed message to pass on. */
class RecordHandler {
  private readonly delayQueueName: string | undefined;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly services: RuntimeServices,
    readonly redelivery: RedeliveryPolicy,
  ) {
    this.delayQueueName = deps.delayQueueUrl ? queueNameOf(deps.delayQueueUrl) : undefined;
  }

  /** The queue a record came from. */
  queueOf = (record: SQSRecord): string =>
    this.delayQueueName && queueNameOf(record.eventSourceARN ?? '') === this.delayQueueName ? this.deps.delayQueueUrl! : this.deps.queueUrl;

  /** Handles one record within the invocation's time budget; rejects to fail it (batch item failure). */
  async handle(record: SQSRecord, budget: TimeBudget): Promise<void> {
    const logger = this.services.logger;
    try {
      budget.checkRecordStart();
    } catch (e) {
      if (!(e instanceof TimeBudgetExhaustedError)) throw e;
      await this.redelivery.handBack(record, e.message);
      throw e;
    }
    let message: SignalMessage;
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
    if (await this.delayFurther(record, message)) return;
    if (this.queueOf(record) !== this.deps.queueUrl) {
      // A delayed message came due: hand it to the FIFO queue, where it waits its turn in its execution's group.
      await forwardSignalMessage(this.services.sqs, this.deps.queueUrl, message);
      logger.debug('forwarded a delayed signal message', {
        messageId: record.messageId,
        executionId: message.executionId,
        broadcastId: message.id,
      });
      return;
    }
    await this.process(record, message, budget);
  }

  /**
   * A message whose delay is longer than SQS's cap came due early: put it back on a standard queue
   * with the delay that remains (the next link of the chain). True when it was put back.
   */
  private async delayFurther(record: SQSRecord, message: SignalMessage): Promise<boolean> {
    const seconds = remainingDelaySeconds(message);
    if (!seconds) return false;
    const queue = this.deps.delayQueueUrl ?? (isFifoQueue(this.deps.queueUrl) ? undefined : this.deps.queueUrl);
    if (!queue) return false;
    await redelaySignalMessage(this.services.sqs, queue, message, seconds, this.deps.maxDelaySeconds ?? MAX_DELAY_SECONDS);
    this.services.logger.debug('re-delayed a signal message', {
      messageId: record.messageId,
      broadcastId: message.id,
      remainingSeconds: seconds,
    });
    return true;
  }

  /** Runs the broadcast; sorts errors into acknowledged (permanent) and retried (transient). */
  private async process(record: SQSRecord, message: SignalMessage, budget: TimeBudget): Promise<void> {
    const logger = this.services.logger;
    const where = {
      messageId: record.messageId,
      executionId: message.executionId,
      broadcastId: message.id,
      signals: message.signals,
      receiveCount: receiveCountOf(record),
    };
    const opts: ProcessorOptions = {
      maxValueBytes: this.deps.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
      followRouters: this.deps.followRouters ?? DEFAULT_FOLLOW_ROUTERS,
      hooks: this.deps.hooks,
      telemetry: this.deps.telemetry,
      remainingMs: () => budget.remainingMs(),
      nodeDeadline: budget.nodeDeadline(),
    };
    try {
      const result = await processSignalMessage(this.services, message, opts);
      if (result.status === 'failed')
        logger.error('broadcast failed permanently: execution marked FAILED, message not retried', { ...where, error: result.error });
      else logger.debug('broadcast handled', where);
    } catch (e) {
      if (classifyError(e) === 'permanent') {
        logger.error('dropped a signal message: permanent error, not retried', { ...where, error: describeError(e) });
        return;
      }
      await this.redelivery.retryLater(record, where, e);
      throw e;
    }
  }
}

/**
 * Creates the worker: the handler of the SQS event source that carries broadcasts. Each record is one
 * broadcast, handled with exactly-once state effects (see broadcast-processor.ts); the batch answers
 * with partial failures through Powertools, so only failed records come back. The parts, each in its
 * own file: batch ordering (worker-batch-order.ts), the time budget (worker-time-budget.ts) and the
 * redelivery policy (worker-redelivery.ts).
 *
 * Errors are sorted: a malformed message, an unknown execution and every permanent error are logged
 * and acknowledged (permanent errors of a known execution also mark it FAILED) — retrying cannot help.
 * Transient errors (throttling, 5xx, node deadlines, errors marked `retryable`) fail the record; it comes
 * back after a backoff, and on the last attempt the execution is marked FAILED first. The handler never
 * throws for failed records, even when all of them failed: Lambda's Errors metric then counts crashes only.
 * @example
 * // functions/worker.ts
 * export const handler = createWorkerHandler({ dynamo, sqs, tableName: process.env.TABLE_NAME!, queueUrl: process.env.QUEUE_URL!, toolsRegistry, callLlm });
 */
export function createWorkerHandler(deps: WorkerDeps): WorkerHandler {
  const services = createRuntimeServices(deps, 'soe-worker');
  let records: RecordHandler;
  const redelivery = new RedeliveryPolicy(services, {
    maxReceiveCount: deps.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    backoffSeconds: deps.backoffSeconds,
    queueOf: (record) => records.queueOf(record),
  });
  records = new RecordHandler(deps, services, redelivery);
  const onBlocked = (record: SQSRecord, error: GroupBlockedError) => redelivery.handBack(record, error.message);

  return async (event, context) => {
    const budget = new TimeBudget(context, deps.timeBudget);
    const batch = new GroupOrderedBatch((record) => records.handle(record, budget), onBlocked);
    // A fresh processor per invocation: one shared by overlapping invocations mixes their results.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, (record: SQSRecord) => batch.run(record), processor, {
      ...(context ? { context } : {}),
      throwOnFullBatchFailure: false,
    });
  };
}
