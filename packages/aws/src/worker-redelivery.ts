/**
 * The worker's redelivery policy: what happens to a record that did not complete.
 *
 * - A transient failure comes back after a backoff (its visibility is set with ChangeMessageVisibility).
 * - On the last receive (the queue's `maxReceiveCount`), the execution is marked FAILED with the error
 *   before SQS moves the message to the dead-letter queue, so no message lands there silently; the
 *   dead-letter consumer then finds the failure recorded and keeps it.
 * - A record handed back unstarted (time budget, an earlier record of its group failed) is made visible
 *   again at once; it is not a failure of the execution unless it was the record's last receive.
 */
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { recordRetriesExhausted } from './broadcast-processor.js';
import { DEFAULT_MAX_RECEIVE_COUNT } from './env-contract.js';
import { describeError } from './errors.js';
import type { RuntimeServices } from './runtime-services.js';
import { parseSignalMessage } from './signal-message.js';

/** Default receives before SQS moves a message to the dead-letter queue (the environment contract's). */
export { DEFAULT_MAX_RECEIVE_COUNT };

/** Default backoff: 5 s, 10 s, 20 s, … capped at 15 minutes. */
export const defaultBackoffSeconds = (receiveCount: number): number => Math.min(900, 5 * 2 ** Math.max(0, receiveCount - 1));

/** Options of {@link RedeliveryPolicy}. */
export interface RedeliveryOptions {
  /** Must match the queue's redrive policy. @default 5 */
  maxReceiveCount?: number;
  /** Seconds a record stays invisible after a transient failure on its n-th receive. */
  backoffSeconds?: (receiveCount: number) => number;
  /** The queue a record came from (its visibility is changed there). */
  queueOf: (record: SQSRecord) => string;
}

/** How many times SQS has delivered a record (1 on the first delivery). */
export function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
}

/** Decides and applies what happens to records that did not complete. */
export class RedeliveryPolicy {
  readonly maxReceiveCount: number;
  private readonly backoff: (receiveCount: number) => number;

  constructor(
    private readonly services: RuntimeServices,
    private readonly opts: RedeliveryOptions,
  ) {
    this.maxReceiveCount = opts.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    this.backoff = opts.backoffSeconds ?? defaultBackoffSeconds;
  }

  /** True on the receive after which SQS moves a failed record to the dead-letter queue. */
  isLastReceive(record: SQSRecord): boolean {
    return receiveCountOf(record) >= this.maxReceiveCount;
  }

  /** Seconds before a record that failed on this receive comes back. */
  backoffSeconds(record: SQSRecord): number {
    return this.backoff(receiveCountOf(record));
  }

  /**
   * A transient failure: retried after the backoff, or, on the last receive, recorded as the
   * execution's failure (retries exhausted) and let go to the dead-letter queue at once.
   */
  async retryLater(record: SQSRecord, where: Record<string, unknown>, error: unknown): Promise<void> {
    const described = describeError(error);
    if (this.isLastReceive(record)) {
      const marked = await this.recordExhausted(record, described);
      this.services.logger.error('retries exhausted: execution marked FAILED, message goes to the dead-letter queue', {
        ...where,
        error: described,
        marked,
      });
      await this.setVisibility(record, 0);
      return;
    }
    const seconds = this.backoffSeconds(record);
    this.services.logger.warn('transient error: the message will be retried', { ...where, error: described, retryInSeconds: seconds });
    await this.setVisibility(record, seconds);
  }

  /**
   * A record not started (time budget, or its group is blocked): visible again at once. On its last
   * receive it would reach the dead-letter queue, so the reason is recorded as the execution's failure.
   */
  async handBack(record: SQSRecord, reason: string): Promise<void> {
    if (this.isLastReceive(record)) {
      const marked = await this.recordExhausted(record, reason);
      this.services.logger.error('retries exhausted: execution marked FAILED, message goes to the dead-letter queue', {
        messageId: record.messageId,
        error: reason,
        marked,
      });
    } else this.services.logger.info('message handed back unprocessed', { messageId: record.messageId, reason });
    await this.setVisibility(record, 0);
  }

  /** Marks the record's execution FAILED (retries exhausted). False when the message or execution is unknown. */
  private async recordExhausted(record: SQSRecord, reason: string): Promise<boolean> {
    let message: ReturnType<typeof parseSignalMessage>;
    try {
      message = parseSignalMessage(record.body);
    } catch {
      return false;
    }
    const error = `${reason} (gave up after ${receiveCountOf(record)} attempts; the message went to the dead-letter queue)`;
    return recordRetriesExhausted(this.services, message.executionId, message.id, error).catch((e) => {
      this.services.logger.error('could not mark the execution FAILED', { messageId: record.messageId, error: describeError(e) });
      return false;
    });
  }

  /** Best effort: if it fails, the record comes back after the queue's visibility timeout instead. */
  async setVisibility(record: SQSRecord, seconds: number): Promise<void> {
    try {
      await this.services.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.opts.queueOf(record),
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (e) {
      this.services.logger.warn('ChangeMessageVisibility failed', { messageId: record.messageId, error: describeError(e) });
    }
  }
}
