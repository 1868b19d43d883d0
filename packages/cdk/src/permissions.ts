/**
 * The exact AWS actions each function's code calls, read from the handlers of `@soe/aws` and what they
 * reach. The construct grants these and nothing more; test/cdk.test.ts pins them per role. When a
 * handler starts calling something new, add it here (and the test tells you it changed).
 */
import type { SoeFunctionName } from './bundling.js';

/**
 * DynamoDB actions on the table, per function. There is no index.
 *
 * - Worker: `Query` (an execution's partition, history, workflows, telemetry), `GetItem` (a record
 *   that lost a conditional race, current workflow, identities, schema), `PutItem` (log records with
 *   `attribute_not_exists`, markers, telemetry, node injection, identity and schema entries by
 *   compare-and-swap), `DeleteItem` (`soe_delete_*` built-ins), `BatchWriteItem` (payload chunks, history,
 *   workflows, telemetry, chunk clean-up), `UpdateItem` (one ADD per invocation to the execution tree's
 *   node-run count, only for executions in a tree). No `Scan`: `soe_list_contexts` reads the run's status facts
 *   (a Query of the main execution's partition).
 * - Start: `Query` and `GetItem` (inherited config and context, stale workflows), `PutItem` and
 *   `BatchWriteItem` (the execution's items and chunks), `DeleteItem` (takes the signals record back
 *   when the send fails).
 * - Signal: `Query` (the status and workflow a signal is checked against, the log's tail for a cancel
 *   or redrive record), `GetItem` (the execution exists), `PutItem` (the signals record, its status
 *   fact, cancel and redrive records), `DeleteItem` (the signals record taken back when the send fails).
 * - Status: `Query` only (the run's status facts, the init record of a child, the context, telemetry).
 * - DeadLetter: `Query`, `GetItem` (the execution and its failure markers), `PutItem` (marks it FAILED).
 */
export const TABLE_ACTIONS: Record<SoeFunctionName, readonly string[]> = {
  Worker: [
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ],
  Start: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  Signal: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  Status: ['dynamodb:Query'],
  DeadLetter: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
};

/** Which functions write items of an execution (and so get its retention, `SOE_EXECUTION_RETENTION_DAYS`). */
export const WRITES_EXECUTION_ITEMS = (Object.keys(TABLE_ACTIONS) as SoeFunctionName[]).filter((fn) =>
  TABLE_ACTIONS[fn].some((a) => /PutItem|BatchWriteItem|UpdateItem/.test(a)),
);

/** Sending to a queue: `SendMessageBatch` is authorized as `sqs:SendMessage`. */
export const SEND_ACTIONS = ['sqs:SendMessage'] as const;

/**
 * What a Lambda SQS event source needs of the function's role (AWS: ReceiveMessage, DeleteMessage,
 * GetQueueAttributes); no `GetQueueUrl`, which only clients resolving a name call.
 */
export const CONSUME_ACTIONS = ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'] as const;

/** The worker resets a failed record's visibility (backoff, or 0 to hand it back at once). */
export const VISIBILITY_ACTIONS = ['sqs:ChangeMessageVisibility'] as const;

/**
 * KMS actions on a customer managed key, the sets aws-cdk-lib's own table and queue grants use:
 * reading encrypted items or receiving encrypted messages decrypts; writing items or sending
 * messages also generates and re-encrypts data keys.
 */
export const KEY_DECRYPT_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'] as const;
export const KEY_ENCRYPT_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] as const;
