/** Status Lambda: `{ executionId, includeContext?, events? }` → `{ status, error?, context?, events? }`. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createStatusHandler, readRuntimeEnv } from '@soe/aws';

const dynamo = new DynamoDBClient({});
// Send to the queue endpoint of the region (or AWS_ENDPOINT_URL_SQS), not to the host in a queue URL.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

export const handler = createStatusHandler({ dynamo, sqs, ...readRuntimeEnv() });
