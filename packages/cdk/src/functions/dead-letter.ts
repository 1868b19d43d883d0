/** Dead-letter consumer: marks FAILED, with the reason, the execution of every message on a dead-letter queue. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDeadLetterHandler, readRuntimeEnv } from '@soe/aws';

// Module scope: clients are reused by warm invocations.
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

// The worker's environment; it sends nothing, so QUEUE_URL may be unset (TABLE_NAME and MAX_RECEIVE_COUNT are read).
const env = readRuntimeEnv({ ...process.env, QUEUE_URL: process.env.QUEUE_URL || 'unused-by-the-dead-letter-consumer' });

export const handler = createDeadLetterHandler({ dynamo, sqs, ...env });
