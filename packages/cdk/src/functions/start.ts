/** Start Lambda: `{ config | workflowName, initialWorkflowName, initialSignals, … }` → `{ executionId }`. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createStartHandler, readRuntimeEnv } from '@soe/aws';
import { workflows } from 'soe-user-tools';

const dynamo = new DynamoDBClient({});
// Send to the queue endpoint of the region (or AWS_ENDPOINT_URL_SQS), not to the host in a queue URL.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

// readRuntimeEnv reads WORKFLOWS_DIR too (the construct sets it when it ships a workflows folder).
export const handler = createStartHandler({ dynamo, sqs, ...readRuntimeEnv(), workflows });
