/**
 * Dead-letter consumer Lambda: the SQS event source of both dead-letter queues.
 * Placeholder until `createDeadLetterHandler` of `@soe/aws` lands: it logs each message and keeps it
 * in its dead-letter queue (every record is reported failed), so nothing is lost meanwhile.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  for (const record of event.Records) {
    console.error(JSON.stringify({ level: 'ERROR', message: 'dead letter kept: no consumer yet', messageId: record.messageId }));
  }
  return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
};
