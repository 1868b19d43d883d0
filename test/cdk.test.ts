/**
 * The SoeOrchestrator construct, asserted on its template (no bundling: see cdk-helpers.ts). One
 * behaviour per test; exact IAM action lists; throws matched by regex.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bedrockModelArns, SoeOrchestrator } from '@soe/cdk';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { actionsOf, newApp, ROOT, resourceOf, statementsOf, synth, tempFiles, VALID_WORKFLOW } from './cdk-helpers.js';

const TABLE = 'SoeTable';
const SIGNAL_QUEUE = 'SoeSignalQueue';
const SIGNAL_DLQ = 'SoeSignalDeadLetterQueue';
const DELAY_QUEUE = 'SoeDelayQueue';
const DELAY_DLQ = 'SoeDelayDeadLetterQueue';

const functionProps = (template: ReturnType<typeof synth>['template'], name: string) =>
  resourceOf(template, 'AWS::Lambda::Function', `Soe${name}`).props;
const envOf = (template: ReturnType<typeof synth>['template'], name: string): Record<string, unknown> =>
  functionProps(template, name).Environment.Variables;
const ref = (template: ReturnType<typeof synth>['template'], type: string, prefix: string) => ({
  Ref: resourceOf(template, type, prefix).id,
});
const arnOf = (template: ReturnType<typeof synth>['template'], type: string, prefix: string) => ({
  'Fn::GetAtt': [resourceOf(template, type, prefix).id, 'Arn'],
});

describe('the table', () => {
  it('has the string keys pk and sk that @soe/aws writes, on demand, with no index', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      LocalSecondaryIndexes: Match.absent(),
      GlobalSecondaryIndexes: Match.absent(),
    });
  });

  it('expires telemetry on the attribute the runtime writes', async () => {
    const { TTL_ATTRIBUTE } = await import('@soe/aws');
    const { template } = synth();
    template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } });
  });

  it('has point-in-time recovery and the AWS managed key by default', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
    });
  });

  it('is retained when it leaves the stack, unless told otherwise', () => {
    expect(synth().template.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' })).not.toEqual(
      {},
    );
    expect(
      synth({ removalPolicy: RemovalPolicy.DESTROY }).template.findResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' }),
    ).not.toEqual({});
  });

  it('uses a customer managed key when given one, and the functions may use it', () => {
    const { template } = synth({}, (stack) => ({ encryptionKey: new Key(stack, 'Key') }));
    const key = arnOf(template, 'AWS::KMS::Key', 'Key');
    template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: key } });
    for (const role of ['SoeWorkerRole', 'SoeStartRole', 'SoeSignalRole', 'SoeStatusRole', 'SoeDeadLetterRole']) {
      const kms = statementsOf(template, role).filter((s) => JSON.stringify(s.Action).includes('kms:'));
      expect(kms.length, role).toBeGreaterThan(0);
      for (const s of kms) expect(s.Resource, role).toEqual(key);
    }
  });

  it('with a customer key, writers may encrypt and decrypt with it, status only decrypt', () => {
    const { template } = synth({}, (stack) => ({ encryptionKey: new Key(stack, 'Key') }));
    const kmsOf = (role: string) => actionsOf(template, role).filter((a) => a.startsWith('kms:'));
    for (const role of ['SoeWorkerRole', 'SoeStartRole', 'SoeSignalRole', 'SoeDeadLetterRole']) {
      expect(kmsOf(role), role).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']);
    }
    expect(kmsOf('SoeStatusRole')).toEqual(['kms:Decrypt', 'kms:DescribeKey']);
  });
});

describe('the queues', () => {
  it('the signal queue and its dead-letter queue are FIFO, deduplicated by id, high throughput', () => {
    const { template } = synth();
    for (const q of [SIGNAL_QUEUE, SIGNAL_DLQ]) {
      expect(resourceOf(template, 'AWS::SQS::Queue', q).props).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
      });
    }
    for (const q of [DELAY_QUEUE, DELAY_DLQ]) expect(resourceOf(template, 'AWS::SQS::Queue', q).props.FifoQueue).toBeUndefined();
  });

  it('redrive to their dead-letter queues after maxReceiveCount receives, which the worker is told', () => {
    const { template } = synth({ maxReceiveCount: 7 });
    expect(resourceOf(template, 'AWS::SQS::Queue', SIGNAL_QUEUE).props.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(template, 'AWS::SQS::Queue', SIGNAL_DLQ),
      maxReceiveCount: 7,
    });
    expect(resourceOf(template, 'AWS::SQS::Queue', DELAY_QUEUE).props.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(template, 'AWS::SQS::Queue', DELAY_DLQ),
      maxReceiveCount: 7,
    });
    expect(envOf(template, 'Worker').MAX_RECEIVE_COUNT).toBe('7');
  });

  it('default to five receives', () => {
    const { template } = synth();
    expect(resourceOf(template, 'AWS::SQS::Queue', SIGNAL_QUEUE).props.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it('hide a received message for six times the worker timeout', () => {
    const { template } = synth({ workerTimeout: Duration.minutes(2) });
    expect(functionProps(template, 'Worker').Timeout).toBe(120);
    for (const q of [SIGNAL_QUEUE, DELAY_QUEUE]) expect(resourceOf(template, 'AWS::SQS::Queue', q).props.VisibilityTimeout).toBe(720);
  });

  it('keep messages four days, dead letters fourteen', () => {
    const { template } = synth();
    for (const q of [SIGNAL_QUEUE, DELAY_QUEUE])
      expect(resourceOf(template, 'AWS::SQS::Queue', q).props.MessageRetentionPeriod).toBe(345_600);
    for (const q of [SIGNAL_DLQ, DELAY_DLQ])
      expect(resourceOf(template, 'AWS::SQS::Queue', q).props.MessageRetentionPeriod).toBe(1_209_600);
    expect(
      resourceOf(synth({ retentionPeriod: Duration.days(1) }).template, 'AWS::SQS::Queue', SIGNAL_QUEUE).props.MessageRetentionPeriod,
    ).toBe(86_400);
  });

  it('are encrypted with SQS-managed keys by default, with the customer key when given', () => {
    for (const q of [SIGNAL_QUEUE, SIGNAL_DLQ, DELAY_QUEUE, DELAY_DLQ]) {
      expect(resourceOf(synth().template, 'AWS::SQS::Queue', q).props.SqsManagedSseEnabled).toBe(true);
    }
    const { template } = synth({}, (stack) => ({ encryptionKey: new Key(stack, 'Key') }));
    for (const q of [SIGNAL_QUEUE, SIGNAL_DLQ, DELAY_QUEUE, DELAY_DLQ]) {
      expect(resourceOf(template, 'AWS::SQS::Queue', q).props.KmsMasterKeyId).toEqual(arnOf(template, 'AWS::KMS::Key', 'Key'));
    }
  });

  it('refuse requests without TLS', () => {
    const { template } = synth();
    for (const q of [SIGNAL_QUEUE, SIGNAL_DLQ, DELAY_QUEUE, DELAY_DLQ]) {
      const queue = ref(template, 'AWS::SQS::Queue', q);
      const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find(
        (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([queue]),
      );
      expect(policy?.Properties.PolicyDocument.Statement, q).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('dead-letter queues hide a received message for six times the consumer timeout (Lambda needs at least the timeout)', () => {
    const { template } = synth();
    expect(functionProps(template, 'DeadLetter').Timeout).toBe(30);
    for (const q of [SIGNAL_DLQ, DELAY_DLQ]) expect(resourceOf(template, 'AWS::SQS::Queue', q).props.VisibilityTimeout, q).toBe(180);
  });

  it('keep the dead letters when they leave the stack', () => {
    const { template } = synth();
    for (const q of [SIGNAL_DLQ, DELAY_DLQ]) {
      const id = resourceOf(template, 'AWS::SQS::Queue', q).id;
      expect(template.toJSON().Resources[id].DeletionPolicy, q).toBe('Retain');
    }
  });
});

describe('the functions', () => {
  it('are five, on Node.js 22 and arm64', () => {
    const { template } = synth();
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(5);
    for (const fn of fns)
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  it('are told the table and the signal queue; only the worker the delay queue', () => {
    const { template } = synth();
    for (const name of ['Worker', 'Start', 'Signal', 'Status']) {
      expect(envOf(template, name), name).toMatchObject({
        TABLE_NAME: ref(template, 'AWS::DynamoDB::Table', TABLE),
        QUEUE_URL: ref(template, 'AWS::SQS::Queue', SIGNAL_QUEUE),
      });
    }
    expect(envOf(template, 'Worker').DELAY_QUEUE_URL).toEqual(ref(template, 'AWS::SQS::Queue', DELAY_QUEUE));
    for (const name of ['Start', 'Signal', 'Status']) expect(envOf(template, name).DELAY_QUEUE_URL, name).toBeUndefined();
  });

  it('the dead-letter consumer reads the worker’s settings: it handles the same messages', () => {
    const { template } = synth({ maxReceiveCount: 7 });
    const worker = envOf(template, 'Worker');
    expect(envOf(template, 'DeadLetter')).toEqual({
      TABLE_NAME: worker.TABLE_NAME,
      QUEUE_URL: worker.QUEUE_URL,
      DELAY_QUEUE_URL: worker.DELAY_QUEUE_URL,
      MAX_RECEIVE_COUNT: '7',
      TELEMETRY_TTL_DAYS: '30',
    });
  });

  it('allow recursive loops on every function an SQS event source drives, and only there', () => {
    const { template } = synth();
    const driven = new Set(
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((m) => m.Properties.FunctionName.Ref as string),
    );
    expect([...driven].sort()).toEqual(
      [
        resourceOf(template, 'AWS::Lambda::Function', 'SoeWorker').id,
        resourceOf(template, 'AWS::Lambda::Function', 'SoeDeadLetter').id,
      ].sort(),
    );
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.RecursiveLoop, id).toBe(driven.has(id) ? 'Allow' : undefined);
    }
  });

  it('ship no source maps by default; sourceMaps turns them on with --enable-source-maps', () => {
    for (const name of ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter']) {
      expect(envOf(synth().template, name).NODE_OPTIONS, name).toBeUndefined();
      expect(envOf(synth({ sourceMaps: true }).template, name).NODE_OPTIONS, name).toBe('--enable-source-maps');
    }
  });

  it('executionRetention: every function that writes execution items is told the days; status writes none', () => {
    const { template } = synth({ executionRetention: Duration.days(90) });
    for (const name of ['Worker', 'Start', 'Signal', 'DeadLetter'])
      expect(envOf(template, name).SOE_EXECUTION_RETENTION_DAYS, name).toBe('90');
    expect(envOf(template, 'Status').SOE_EXECUTION_RETENTION_DAYS).toBeUndefined();
    for (const name of ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter'])
      expect(envOf(synth().template, name).SOE_EXECUTION_RETENTION_DAYS, name).toBeUndefined();
  });

  it('executionRetention expires items on the attribute the table’s TTL reads', async () => {
    const { TTL_ATTRIBUTE } = await import('@soe/aws');
    const { template } = synth({ executionRetention: Duration.days(90) });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true } });
  });

  it('reservedConcurrency reserves the worker’s concurrency, none by default, other functions never', () => {
    expect(functionProps(synth().template, 'Worker').ReservedConcurrentExecutions).toBeUndefined();
    const { template } = synth({ maxConcurrency: 20, reservedConcurrency: 50 });
    expect(functionProps(template, 'Worker').ReservedConcurrentExecutions).toBe(50);
    for (const name of ['Start', 'Signal', 'Status', 'DeadLetter'])
      expect(functionProps(template, name).ReservedConcurrentExecutions, name).toBeUndefined();
  });

  it('the worker has a five-minute timeout and 512 MB by default, both settable', () => {
    expect(functionProps(synth().template, 'Worker')).toMatchObject({ Timeout: 300, MemorySize: 512 });
    expect(functionProps(synth({ workerTimeout: Duration.seconds(90), workerMemorySize: 1024 }).template, 'Worker')).toMatchObject({
      Timeout: 90,
      MemorySize: 1024,
    });
  });

  it('the worker keeps telemetry 30 days by default', () => {
    expect(envOf(synth().template, 'Worker').TELEMETRY_TTL_DAYS).toBe('30');
    expect(envOf(synth({ telemetryTtl: Duration.days(7) }).template, 'Worker').TELEMETRY_TTL_DAYS).toBe('7');
  });

  it('write to their own log group, kept a month', () => {
    const { template } = synth();
    for (const name of ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter']) {
      expect(functionProps(template, name).LoggingConfig, name).toEqual({
        LogGroup: ref(template, 'AWS::Logs::LogGroup', `Soe${name}Logs`),
      });
    }
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 5);
  });

  it('have roles with no managed policy (no AWSLambdaBasicExecutionRole)', () => {
    const { template } = synth();
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('the event sources', () => {
  it('feed the worker from the signal queue and the delay queue, with partial batch failures', () => {
    const { template } = synth();
    const worker = ref(template, 'AWS::Lambda::Function', 'SoeWorker');
    for (const q of [SIGNAL_QUEUE, DELAY_QUEUE]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: worker,
        EventSourceArn: arnOf(template, 'AWS::SQS::Queue', q),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 100 },
      });
    }
  });

  it('feed the dead-letter consumer from both dead-letter queues, at the lowest concurrency', () => {
    const { template } = synth();
    const consumer = ref(template, 'AWS::Lambda::Function', 'SoeDeadLetter');
    for (const q of [SIGNAL_DLQ, DELAY_DLQ]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: consumer,
        EventSourceArn: arnOf(template, 'AWS::SQS::Queue', q),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    }
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 4);
  });

  it('take batchSize and maxConcurrency (the worker’s only)', () => {
    const { template } = synth({ batchSize: 3, maxConcurrency: 50 });
    template.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { BatchSize: 3, ScalingConfig: { MaximumConcurrency: 50 } }, 2);
    template.resourcePropertiesCountIs('AWS::Lambda::EventSourceMapping', { BatchSize: 10, ScalingConfig: { MaximumConcurrency: 2 } }, 2);
  });
});

describe('permissions', () => {
  const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
  /** Every (action, resource) a role may use, as `action on resource-id`, sorted: one line per permission. */
  const permissionsOf = (template: ReturnType<typeof synth>['template'], role: string): string[] => {
    const name = (r: unknown): string => {
      const j = r as { 'Fn::GetAtt'?: [string, string] };
      return j['Fn::GetAtt'] ? j['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, '') : JSON.stringify(r);
    };
    return statementsOf(template, role)
      .flatMap((st) =>
        (Array.isArray(st.Action) ? st.Action : [st.Action]).flatMap((a) =>
          (Array.isArray(st.Resource) ? st.Resource : [st.Resource]).map((r) => `${a} on ${name(r)}`),
        ),
      )
      .filter((p) => !p.startsWith('logs:'))
      .sort();
  };
  const on = (resource: string, ...actions: string[]) => actions.map((a) => `${a} on ${resource}`);
  const sorted = (...lists: string[][]) => [...new Set(lists.flat())].sort();
  const CONSUME = ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'];

  it('the worker: its table calls, consume + visibility + send on both queues', () => {
    expect(permissionsOf(synth().template, 'SoeWorkerRole')).toEqual(
      sorted(
        on(
          TABLE,
          'dynamodb:BatchWriteItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ),
        on(SIGNAL_QUEUE, ...CONSUME, 'sqs:ChangeMessageVisibility', 'sqs:SendMessage'),
        on(DELAY_QUEUE, ...CONSUME, 'sqs:ChangeMessageVisibility', 'sqs:SendMessage'),
      ),
    );
  });

  it('start: reads and writes the execution, sends to the signal queue', () => {
    expect(permissionsOf(synth().template, 'SoeStartRole')).toEqual(
      sorted(
        on(TABLE, 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'),
        on(SIGNAL_QUEUE, 'sqs:SendMessage'),
      ),
    );
  });

  it('signal: checks the execution, records the signals (and takes them back), cancels, redrives, sends to the signal queue', () => {
    expect(permissionsOf(synth().template, 'SoeSignalRole')).toEqual(
      sorted(
        on(TABLE, 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'),
        on(SIGNAL_QUEUE, 'sqs:SendMessage'),
      ),
    );
  });

  it('status: Query on the table, nothing else', () => {
    expect(permissionsOf(synth().template, 'SoeStatusRole')).toEqual(on(TABLE, 'dynamodb:Query'));
  });

  it('the dead-letter consumer: reads the execution and writes its failure marker, consumes both dead-letter queues', () => {
    expect(permissionsOf(synth().template, 'SoeDeadLetterRole')).toEqual(
      sorted(on(TABLE, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'), on(SIGNAL_DLQ, ...CONSUME), on(DELAY_DLQ, ...CONSUME)),
    );
  });

  it('no role holds a table-wide read it never calls (BatchGetItem, DescribeTable, stream reads)', () => {
    const { template } = synth();
    for (const role of ['SoeWorkerRole', 'SoeStartRole', 'SoeSignalRole', 'SoeStatusRole', 'SoeDeadLetterRole']) {
      const actions = actionsOf(template, role);
      for (const never of [
        'dynamodb:BatchGetItem',
        'dynamodb:DescribeTable',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
        'sqs:GetQueueUrl',
      ])
        expect(actions, role).not.toContain(never);
    }
  });

  it('each role writes its own log group and no other', () => {
    const { template } = synth();
    for (const name of ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter']) {
      const logs = statementsOf(template, `Soe${name}Role`).filter((st) => JSON.stringify(st.Action).includes('logs:'));
      expect(logs.flatMap((st) => st.Action).sort(), name).toEqual(LOGS);
      expect(JSON.stringify(logs.map((st) => st.Resource)), name).toContain(
        resourceOf(template, 'AWS::Logs::LogGroup', `Soe${name}Logs`).id,
      );
    }
  });

  it('every statement of every policy names this stack’s resources, never *', () => {
    const { template } = synth({ modelProvider: 'bedrock', modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0' }, (stack) => ({
      encryptionKey: new Key(stack, 'Key'),
    }));
    const own = new Set(Object.keys(template.toJSON().Resources));
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    expect(policies.length).toBeGreaterThanOrEqual(4);
    for (const [id, policy] of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const r of resources) {
          const where = `${id}: ${JSON.stringify(statement.Action)} on ${JSON.stringify(r)}`;
          expect(r, where).not.toBe('*');
          if (r['Fn::GetAtt']) expect(own.has(r['Fn::GetAtt'][0]), where).toBe(true);
          else {
            // The one string ARN: the Bedrock model, built with the partition and region of this stack.
            expect(JSON.stringify(r), where).toMatch(/foundation-model\/anthropic\.claude-3-5-haiku-20241022-v1:0/);
            expect(JSON.stringify(r), where).not.toContain('*');
          }
        }
      }
    }
  });

  it('the one wildcard AWS requires: the region of an inference profile’s foundation model', () => {
    const { template } = synth({ modelProvider: 'bedrock', modelId: 'eu.amazon.nova-lite-v1:0' });
    const wild = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .flatMap((st) => (Array.isArray(st.Resource) ? st.Resource : [st.Resource]))
      .map((r) => JSON.stringify(r))
      .filter((r) => r.includes('*'));
    expect(wild).toEqual([
      JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':bedrock:*::foundation-model/amazon.nova-lite-v1:0']] }),
    ]);
  });
});

describe('the model', () => {
  it('none by default: no SOE_MODEL_* variable, no model permission', () => {
    const { template } = synth();
    expect(Object.keys(envOf(template, 'Worker')).filter((k) => k.startsWith('SOE_MODEL'))).toEqual([]);
    expect(actionsOf(template, 'SoeWorkerRole').filter((a) => a.startsWith('bedrock:') || a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('bedrock: InvokeModel on that foundation model only', () => {
    const { template } = synth({ modelProvider: 'bedrock', modelId: 'anthropic.claude-3-5-haiku-20241022-v1:0' });
    const bedrock = statementsOf(template, 'SoeWorkerRole').filter((s) => JSON.stringify(s.Action).includes('bedrock:'));
    expect(bedrock).toEqual([
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':bedrock:',
              { Ref: 'AWS::Region' },
              '::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0',
            ],
          ],
        },
      },
    ]);
    expect(envOf(template, 'Worker')).toMatchObject({
      SOE_MODEL_PROVIDER: 'bedrock',
      SOE_MODEL_ID: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    });
  });

  it('bedrock: an inference profile needs the profile and its model in the regions it routes to', () => {
    const stack = new Stack(newApp(), 'S', { env: { account: '111122223333', region: 'us-east-1' } });
    expect(bedrockModelArns(stack, 'us.anthropic.claude-3-5-haiku-20241022-v1:0')).toEqual([
      'arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
      'arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0',
    ]);
    expect(bedrockModelArns(stack, 'amazon.nova-lite-v1:0')).toEqual(['arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0']);
  });

  it('openai: the worker gets the secret’s ARN and read access to it, never the key', () => {
    const { template } = synth({ modelProvider: 'openai', modelId: 'gpt-4o-mini' }, (stack) => ({ modelSecret: new Secret(stack, 'Key') }));
    const secret = ref(template, 'AWS::SecretsManager::Secret', 'Key');
    expect(envOf(template, 'Worker')).toMatchObject({
      SOE_MODEL_PROVIDER: 'openai',
      SOE_MODEL_ID: 'gpt-4o-mini',
      SOE_MODEL_SECRET_ARN: secret,
    });
    const reads = statementsOf(template, 'SoeWorkerRole').filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
    expect(reads).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: secret },
    ]);
    for (const name of ['Start', 'Signal', 'Status'])
      expect(actionsOf(template, `Soe${name}Role`).some((a) => a.startsWith('secretsmanager:'))).toBe(false);
    expect(JSON.stringify(envOf(template, 'Worker'))).not.toMatch(/SecretString|resolve:secretsmanager/);
  });

  it('openai: an API root of its own', () => {
    const { template } = synth({ modelProvider: 'openai', openAiBaseUrl: 'http://ollama.internal:11434/v1' });
    expect(envOf(template, 'Worker')).toMatchObject({
      SOE_MODEL_PROVIDER: 'openai',
      SOE_OPENAI_BASE_URL: 'http://ollama.internal:11434/v1',
    });
  });

  it('scripted: the rules file rides in the worker bundle, read from the task root', () => {
    const { template } = synth({ modelProvider: 'scripted', scriptedModelFile: join(ROOT, 'deploy/demo/scripted-model.yaml') });
    expect(envOf(template, 'Worker').SOE_MODEL_PROVIDER).toBe('scripted:scripted-model.yaml');
  });

  it('model calls give up at 80% of the worker timeout', () => {
    const { template } = synth({ modelProvider: 'bedrock', modelId: 'amazon.nova-lite-v1:0', workerTimeout: Duration.minutes(2) });
    expect(envOf(template, 'Worker').SOE_MODEL_MAX_ELAPSED_MS).toBe('96000');
  });
});

describe('deployed workflows', () => {
  it('are validated and shipped to the start function, which is told where they are', () => {
    const dir = tempFiles({ 'support.yaml': VALID_WORKFLOW, 'triage.yml': VALID_WORKFLOW, 'notes.txt': 'not a workflow' });
    const { soe, template } = synth({ workflowsDir: dir });
    expect(soe.deployedWorkflows).toEqual(['support', 'triage']);
    expect(envOf(template, 'Start').WORKFLOWS_DIR).toBe('workflows');
    for (const name of ['Worker', 'Signal', 'Status']) expect(envOf(template, name).WORKFLOWS_DIR).toBeUndefined();
  });

  it('the repository’s workflows/ folder is valid', () => {
    expect(synth({ workflowsDir: join(ROOT, 'workflows') }).soe.deployedWorkflows).toContain('hello');
  });

  it('a broken file fails the synth naming the file, workflow, node and field', () => {
    const dir = tempFiles({
      'good.yaml': VALID_WORKFLOW,
      'broken.yaml':
        'workflows:\n  main:\n    Ask:\n      node_type: llm\n      event_triggers: [START]\n      prompt: hi\n      retries: many\n',
    });
    expect(() => synth({ workflowsDir: dir })).toThrow(/broken\.yaml'?, workflow 'main', node 'Ask', field 'retries'.*whole number/);
  });

  it('a file that is not YAML fails the synth with its line', () => {
    const dir = tempFiles({ 'bad.yaml': 'workflows:\n  main: [unclosed\n' });
    expect(() => synth({ workflowsDir: dir })).toThrow(/bad\.yaml.*YAML syntax error/);
  });

  it('two files for one name fail the synth', () => {
    const dir = tempFiles({ 'a.yaml': VALID_WORKFLOW, 'a.yml': VALID_WORKFLOW });
    expect(() => synth({ workflowsDir: dir })).toThrow(/'a\.yaml' and 'a\.yml' both deploy the workflow name 'a'/);
  });

  it('a missing or empty folder fails the synth', () => {
    expect(() => synth({ workflowsDir: join(ROOT, 'no-such-folder') })).toThrow(/workflowsDir '.*no-such-folder' is not a directory/);
    expect(() => synth({ workflowsDir: tempFiles({ 'readme.md': '' }) })).toThrow(/holds no workflow file/);
  });
});

describe('props are checked at synth', () => {
  it.each([
    [{ batchSize: 11 }, /batchSize must be a whole number from 1 to 10, got 11/],
    [{ batchSize: 0 }, /batchSize must be a whole number from 1 to 10, got 0/],
    [{ maxConcurrency: 1 }, /maxConcurrency must be a whole number from 2 to 1000, got 1/],
    [{ maxReceiveCount: 0 }, /maxReceiveCount must be a whole number from 1 to 1000, got 0/],
    [{ workerMemorySize: 64 }, /workerMemorySize must be a whole number from 128 to 10240, got 64/],
    [{ workerTimeout: Duration.minutes(16) }, /workerTimeout must be whole seconds from 1 s to 900 s .*got 16 minutes/],
    [{ retentionPeriod: Duration.days(15) }, /retentionPeriod must be whole seconds from 60 s to 1209600 s/],
    [{ telemetryTtl: Duration.hours(12) }, /telemetryTtl must be whole days, at least one, got 12 hours/],
    [{ modelProvider: 'gemini' as never }, /modelProvider must be one of scripted, openai, bedrock, got 'gemini'/],
    [{ modelProvider: 'bedrock' as const }, /modelProvider 'bedrock' needs modelId/],
    [{ modelProvider: 'openai' as const }, /modelProvider 'openai' needs modelSecret/],
    [{ modelProvider: 'scripted' as const }, /modelProvider 'scripted' needs scriptedModelFile/],
    [{ scriptedModelFile: 'x.yaml' }, /scriptedModelFile is only used with modelProvider 'scripted', got none/],
    [{ modelId: 'gpt-4o' }, /modelId is set but modelProvider is not/],
    [{ modelProvider: 'openai' as const, openAiBaseUrl: 'ftp://x' }, /openAiBaseUrl must be an http\(s\) URL/],
    [{ toolsEntry: 'no/such/tools.ts' }, /toolsEntry 'no\/such\/tools.ts' does not exist/],
    [{ reservedConcurrency: 150 }, /reservedConcurrency must be a whole number of at least 200 \(twice maxConcurrency 100.*got 150/],
    [{ maxConcurrency: 30, reservedConcurrency: 59 }, /reservedConcurrency must be a whole number of at least 60/],
    [{ executionRetention: Duration.hours(36) }, /executionRetention must be whole days, at least one, got 1 day 12 hours/],
  ])('%o', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it('a modelSecret without the openai provider', () => {
    expect(() => synth({ modelProvider: 'bedrock', modelId: 'm' }, (stack) => ({ modelSecret: new Secret(stack, 'Key') }))).toThrow(
      /modelSecret is only read by modelProvider 'openai', got 'bedrock'/,
    );
  });

  it('a scripted model file that holds no rules', () => {
    const dir = tempFiles({ 'model.yaml': 'rules: nope\n' });
    expect(() => synth({ modelProvider: 'scripted', scriptedModelFile: join(dir, 'model.yaml') })).toThrow(
      /scriptedModelFile: .*not a scripted model/,
    );
  });
});

describe('alarms', () => {
  /** The alarm whose logical id starts with `prefix`, with its metrics by id. */
  const alarmOf = (template: ReturnType<typeof synth>['template'], prefix: string) => {
    const alarm = resourceOf(template, 'AWS::CloudWatch::Alarm', prefix).props;
    const metrics = Object.fromEntries(
      (alarm.Metrics as Array<{ Id: string; Expression?: string; MetricStat?: { Metric: unknown; Stat: string } }>).map((m) => [m.Id, m]),
    );
    return { alarm, metrics, description: JSON.stringify(alarm.AlarmDescription) };
  };

  it('fire on any message reaching either dead-letter queue: what the consumer received, or what still waits', () => {
    const { template } = synth();
    for (const [prefix, dlq] of [
      ['SoeDeadLetterQueueAlarm', SIGNAL_DLQ],
      ['SoeDelayDeadLetterQueueAlarm', DELAY_DLQ],
    ]) {
      const { alarm, metrics } = alarmOf(template, prefix!);
      expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' });
      const queue = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [resourceOf(template, 'AWS::SQS::Queue', dlq!).id, 'QueueName'] } }];
      expect(metrics.received!.MetricStat).toMatchObject({
        Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesReceived', Dimensions: queue },
        Stat: 'Sum',
      });
      expect(metrics.visible!.MetricStat).toMatchObject({
        Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: queue },
        Stat: 'Maximum',
      });
      expect(Object.values(metrics).find((m) => m.Expression)!.Expression).toBe('FILL(received, 0) + FILL(visible, 0)');
    }
  });

  it('the dead-letter alarms say how to find the execution and redrive it', () => {
    const { template } = synth();
    for (const prefix of ['SoeDeadLetterQueueAlarm', 'SoeDelayDeadLetterQueueAlarm']) {
      const { description } = alarmOf(template, prefix);
      expect(description).toContain('marks its execution FAILED');
      expect(description).toContain('soe status <executionId>');
      expect(description).toContain('soe redrive <executionId>');
      expect(description).toContain(resourceOf(template, 'AWS::Logs::LogGroup', 'SoeDeadLetterLogs').id);
    }
  });

  it('worker errors: crashed invocations plus ERROR lines (given up), never WARN lines (transient retries)', () => {
    const { template } = synth();
    const filter = resourceOf(template, 'AWS::Logs::MetricFilter', 'SoeWorkerGaveUpFilter').props;
    expect(filter.LogGroupName).toEqual(ref(template, 'AWS::Logs::LogGroup', 'SoeWorkerLogs'));
    expect(filter.FilterPattern).toBe('{ $.level = "ERROR" }');
    const transform = filter.MetricTransformations[0];
    expect(transform).toMatchObject({ MetricName: 'WorkerGaveUp', MetricValue: '1' });

    const { alarm, metrics } = alarmOf(template, 'SoeWorkerErrorsAlarm');
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, TreatMissingData: 'notBreaching' });
    expect(metrics.crashed!.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: ref(template, 'AWS::Lambda::Function', 'SoeWorker') }],
      },
      Stat: 'Sum',
    });
    expect(metrics.gaveUp!.MetricStat).toMatchObject({
      Metric: { Namespace: transform.MetricNamespace, MetricName: 'WorkerGaveUp' },
      Stat: 'Sum',
    });
    expect(Object.values(metrics).find((m) => m.Expression)!.Expression).toBe('FILL(crashed, 0) + FILL(gaveUp, 0)');
  });

  it('the worker logs what it gives up on at ERROR, and what it retries at WARN (what the filter relies on)', () => {
    // The worker's logging lives in the handler and its redelivery policy.
    const source = ['worker-handler.ts', 'worker-redelivery.ts']
      .map((f) => readFileSync(join(ROOT, 'packages/aws/src', f), 'utf8'))
      .join('\n');
    const logged = (level: string) => [...source.matchAll(new RegExp(`logger\\.${level}\\(\\s*'([^']*)'`, 'g'))].map((m) => m[1]!);
    expect(logged('error')).toEqual(
      expect.arrayContaining([
        'broadcast failed permanently: execution marked FAILED, message not retried',
        'retries exhausted: execution marked FAILED, message goes to the dead-letter queue',
      ]),
    );
    expect(logged('warn')).toContain('transient error: the message will be retried');
    for (const message of logged('error')) expect(message).not.toMatch(/will be retried|retrying/);
  });
});

describe('grants for callers', () => {
  it.each([
    ['grantStart', 'SoeStart'],
    ['grantSignal', 'SoeSignal'],
    ['grantStatus', 'SoeStatus'],
  ] as const)('%s lets a principal invoke that function only', (method, fn) => {
    const stack = new Stack(newApp(), 'Test');
    const soe = new SoeOrchestrator(stack, 'Soe');
    const caller = new Role(stack, 'Caller', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    soe[method](caller);
    const template = Template.fromStack(stack);
    const arn = arnOf(template, 'AWS::Lambda::Function', fn);
    expect(statementsOf(template, 'Caller')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [arn, { 'Fn::Join': ['', [arn, ':*']] }] },
    ]);
  });
});
