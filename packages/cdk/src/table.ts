/**
 * The single DynamoDB table of a {@link SoeOrchestrator} — or the user's own, given as `existingTableObj`.
 * Its key schema and TTL attribute are the runtime's contract (`@soe/aws/env`).
 */
import { AttributeType, BillingMode, type ITable, Table, TableEncryption, type TableProps } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY, TABLE_TTL_ATTRIBUTE } from './defaults.js';
import type { Settings } from './settings.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/** Creates the table in `scope` (with `tableProps` merged over the defaults), or returns `existingTableObj`. */
export function createTable(scope: Construct, props: SoeOrchestratorProps, settings: Settings): ITable {
  if (props.existingTableObj) return props.existingTableObj;
  return new Table(scope, 'Table', {
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    ...(props.encryptionKey
      ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
      : { encryption: TableEncryption.AWS_MANAGED }),
    removalPolicy: settings.removalPolicy,
    ...(props.tableProps as Partial<TableProps> | undefined),
    partitionKey: { name: TABLE_PARTITION_KEY, type: AttributeType.STRING },
    sortKey: { name: TABLE_SORT_KEY, type: AttributeType.STRING },
    timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
  });
}
