/**
 * The dead-letter consumer: a small function on each dead-letter queue. A message lands there when the
 * worker did not complete it `maxReceiveCount` times — its retries ran out (the worker then recorded
 * why), or the worker was killed each time (function timeout, out of memory, a crash) and recorded
 * nothing. Either way the execution must end FAILED with a reason, never stay RUNNING: for every
 * message, this marks its execution FAILED unless a failure is already recorded (the worker's is more
 * specific and is kept). Idempotent: a second delivery of the same message writes nothing new.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DEFAULT_MAX_RECEIVE_COUNT } from './env-contract.js';
import { describeError } from './errors.js';
import { ExecutionRecords } from './execution-records.js';
import { createRuntimeServices, type RuntimeDeps, type RuntimeServices } from './runtime-services.js';
import { parseSignalMessage, type SignalMessage } from './signal-message.js';
import { writeStatusFact } from './status-facts.js';
import { executionPk, handledSk, nowMicros } from './table-keys.js';

/** Dependencies of {@link createDeadLetterHandler}. `queueUrl` is not used (any value will do). */
export interface DeadLetterDeps extends Omit<RuntimeDeps, 'queueUrl' | 'toolsRegistry' | 'callLlm'> {
  queueUrl?: string;
  /** The source queues' redrive `maxReceiveCount`, for the message. @default 5 */
  maxReceiveCount?: number;
}

/** The dead-letter consumer's handler type. */
export type DeadLetterHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** What {@link recordDeadLetter} found and did. */
export type DeadLetterOutcome = 'recorded' | 'already-failed' | 'redriven' | 'unknown-execution';

/** The failure recorded for a message that reached a dead-letter queue with no reason recorded. */
export function deadLetterReason(message: Pick<SignalMessage, 'id' | 'signals'>, receives: number): string {
  return `DeadLetterError: broadcast ${message.id} (signals ${message.signals.join(', ')}) reached the dead-letter queue after ${receives} receives: the worker timed out, ran out of memory or crashed`;
}

/**
 * Marks an execution FAILED for a dead-lettered broadcast (the sibling of `recordRetriesExhausted`,
 * for when the worker could not record anything). Keeps a failure already recorded. The broadcast is
 * settled with the error when it was not handled; when it was (the worker was killed later in the
 * same invocation), the error goes under a key of its own so no handled mark is overwritten.
 */
export async function recordDeadLetter(
  services: Pick<RuntimeServices, 'backends'>,
  message: Pick<SignalMessage, 'id' | 'executionId' | 'signals'>,
  error: string,
): Promise<DeadLetterOutcome> {
  const table = services.backends.table;
  const records = new ExecutionRecords(message.executionId, await table.queryPartition(executionPk(message.executionId)));
  if (!records.exists) return 'unknown-execution';
  // A redrive already re-sent this broadcast (the worker recorded its failure before SQS moved it here).
  if (records.redrives().some((r) => r.r === message.id)) return 'redriven';
  if (records.failure()) return 'already-failed';
  const handled = records.handledIds().has(message.id);
  const sk = handledSk(handled ? `${message.id}#dead-letter` : message.id);
  // Only if absent: a redelivered dead letter, or a worker that settled the broadcast meanwhile, wins.
  const ord = nowMicros();
  await table.putIfAbsent({ pk: records.pk, sk, ord, e: error });
  await writeStatusFact(table, records.mainExecutionId(), {
    executionId: message.executionId,
    handled: [message.id],
    error: { error, ord },
  });
  return 'recorded';
}

/**
 * Creates the dead-letter consumer (see this file's header). Malformed messages are logged and
 * dropped; a record whose write fails is reported as a batch item failure and comes back.
 * @example
 * // functions/dead-letter.ts
 * export const handler = createDeadLetterHandler({ dynamo, sqs, ...readRuntimeEnv() });
 */
export function createDeadLetterHandler(deps: DeadLetterDeps): DeadLetterHandler {
  const services = createRuntimeServices({ ...deps, queueUrl: deps.queueUrl ?? '' }, 'soe-dead-letter');
  const { logger } = services;
  const receives = deps.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;

  const handleRecord = async (record: SQSRecord): Promise<void> => {
    let message: SignalMessage;
    try {
      message = parseSignalMessage(record.body);
    } catch (e) {
      logger.error('dropped a malformed dead letter', {
        messageId: record.messageId,
        error: describeError(e),
        body: record.body.slice(0, 500),
      });
      return;
    }
    const where = { messageId: record.messageId, executionId: message.executionId, broadcastId: message.id, signals: message.signals };
    const outcome = await recordDeadLetter(services, message, deadLetterReason(message, receives));
    if (outcome === 'recorded') logger.error('dead letter: execution marked FAILED', where);
    else if (outcome === 'already-failed') logger.warn('dead letter: execution already FAILED, its recorded reason kept', where);
    else if (outcome === 'redriven') logger.warn('dead letter: broadcast already redriven, nothing recorded', where);
    else logger.error('dropped a dead letter for an unknown execution', where);
  };

  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, handleRecord, processor, { ...(context ? { context } : {}), throwOnFullBatchFailure: false });
  };
}
