/** Worker Lambda: the SQS event source of the signal queues. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createCallLlmFromEnv, createWorkerHandler, readRuntimeEnv } from '@soe/aws';
import { callLlm, toolsRegistry } from 'soe-user-tools';

// Module scope: clients and settings are reused by warm invocations.
const dynamo = new DynamoDBClient({});
// Send to the queue endpoint of the region (or AWS_ENDPOINT_URL_SQS), not to the host in a queue URL.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

// The user's module may bring its own model; otherwise SOE_MODEL_PROVIDER chooses one (none when unset).
const model = callLlm ?? createCallLlmFromEnv();

export const handler = createWorkerHandler({ dynamo, sqs, ...readRuntimeEnv(), toolsRegistry, callLlm: model });
