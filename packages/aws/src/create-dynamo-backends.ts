/** The DynamoDB backends of every runtime store (context, workflows, identities, schema, telemetry, history), created on one shared table. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Backends } from '@soe/core';
import { DynamoContextBackend } from './dynamo-context-backend.js';
import { DynamoContextSchemaBackend } from './dynamo-context-schema-backend.js';
import { DynamoConversationHistoryBackend } from './dynamo-conversation-history-backend.js';
import { DynamoIdentityBackend } from './dynamo-identity-backend.js';
import { DynamoTelemetryBackend } from './dynamo-telemetry-backend.js';
import { DynamoWorkflowBackend } from './dynamo-workflow-backend.js';
import { SoeTable } from './soe-table.js';

/** Options of {@link createDynamoBackends}. */
export interface DynamoBackendsOptions {
  /** A DynamoDB client, or a document client built on one. */
  client: DynamoDBClient | DynamoDBDocumentClient;
  /** The single table: string keys `pk` (partition) and `sk` (sort), TTL on `ttl`. */
  tableName: string;
  /** Days until telemetry expires. @default 30 */
  telemetryTtlDays?: number;
  /** Days every item written is kept (the `ttl` attribute on every write); unset: kept until deleted. */
  retentionDays?: number;
}

/** The six DynamoDB backends plus the table they share. */
export interface DynamoBackends extends Backends {
  table: SoeTable;
  context: DynamoContextBackend;
  workflow: DynamoWorkflowBackend;
  telemetry: DynamoTelemetryBackend;
  conversationHistory: DynamoConversationHistoryBackend;
  contextSchema: DynamoContextSchemaBackend;
  identity: DynamoIdentityBackend;
}

/**
 * Every SOE backend on one DynamoDB table. Contexts are stored as records per change (no read-modify-
 * write, no 400 KB ceiling); the worker commits node runs itself with conditional puts.
 * @example
 * const backends = createDynamoBackends({ client: new DynamoDBClient({}), tableName: process.env.TABLE_NAME! });
 * const ctx = await backends.context.getContext(executionId);
 */
export function createDynamoBackends(opts: DynamoBackendsOptions): DynamoBackends {
  const table = new SoeTable({ client: opts.client, tableName: opts.tableName, retentionDays: opts.retentionDays });
  return {
    table,
    context: new DynamoContextBackend(table),
    workflow: new DynamoWorkflowBackend(table),
    telemetry: new DynamoTelemetryBackend(table, { ttlDays: opts.telemetryTtlDays }),
    conversationHistory: new DynamoConversationHistoryBackend(table),
    contextSchema: new DynamoContextSchemaBackend(table),
    identity: new DynamoIdentityBackend(table),
  };
}
