/**
 * SoeOrchestrator with resources of the user's own (Solutions Constructs' `existingXObj` / `xProps`
 * pattern): an existing table, an existing FIFO signal queue with its dead-letter queue, and
 * overrides of the table and queue the construct creates — asserted on the template.
 */
import { SoeOrchestrator } from '@soe/cdk';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { newApp, resourceOf, statementsOf, synth } from './cdk-helpers.js';

const envOf = (template: Template, name: string): Record<string, unknown> =>
  resourceOf(template, 'AWS::Lambda::Function', `Soe${name}`).props.Environment.Variables;

/** A stack holding the user's FIFO queue, redriving to its FIFO dead-letter queue after `receives`. */
function userQueues(stack: Stack, receives = 5) {
  const dlq = new Queue(stack, 'MyDlq', { fifo: true });
  const queue = new Queue(stack, 'MyQueue', {
    fifo: true,
    visibilityTimeout: Duration.minutes(30),
    deadLetterQueue: { queue: dlq, maxReceiveCount: receives },
  });
  return { queue, dlq };
}

describe('existingTableObj', () => {
  it('uses the given table: none is created, the functions are told its name and granted their calls on it', () => {
    const { template } = synth({}, (stack) => ({ existingTableObj: Table.fromTableName(stack, 'Mine', 'my-soe-table') }));
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    for (const fn of ['Worker', 'Start', 'Signal', 'Status', 'DeadLetter']) expect(envOf(template, fn).TABLE_NAME).toBe('my-soe-table');
    const statusTable = statementsOf(template, 'SoeStatusRole').find((s) => s.Action === 'dynamodb:Query');
    expect(JSON.stringify(statusTable?.Resource)).toContain(':table/my-soe-table');
  });

  it('cannot be combined with tableProps', () => {
    expect(() =>
      synth({ tableProps: { deletionProtection: true } }, (stack) => ({ existingTableObj: Table.fromTableName(stack, 'Mine', 't') })),
    ).toThrow(/give existingTableObj or tableProps, not both/);
  });
});

describe('tableProps', () => {
  it('are merged over the defaults; the key schema and TTL stay the runtime’s', () => {
    const { template } = synth({ tableProps: { tableName: 'soe-prod', deletionProtection: true } });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'soe-prod',
      DeletionProtectionEnabled: true,
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('reject another key schema or TTL attribute, naming the one the runtime needs', () => {
    expect(() => synth({ tableProps: { partitionKey: { name: 'id', type: AttributeType.STRING } } })).toThrow(
      /tableProps.partitionKey must be 'pk' \(the runtime's key schema\), got 'id'/,
    );
    expect(() => synth({ tableProps: { timeToLiveAttribute: 'expires' } })).toThrow(/tableProps.timeToLiveAttribute must be 'ttl'/);
  });
});

describe('existingQueueObj and existingDeadLetterQueueObj', () => {
  it('use the given queues: the worker consumes and sends to the queue, the dead-letter consumer reads its DLQ', () => {
    const app = newApp();
    const stack = new Stack(app, 'Test');
    const { queue, dlq } = userQueues(stack);
    new SoeOrchestrator(stack, 'Soe', { existingQueueObj: queue, existingDeadLetterQueueObj: dlq });
    const template = Template.fromStack(stack);
    // Theirs, plus the construct's delay queue and its dead-letter queue: no signal queue of its own.
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).sort()).toEqual(
      [
        expect.stringMatching(/^MyDlq/),
        expect.stringMatching(/^MyQueue/),
        expect.stringMatching(/^SoeDelayDeadLetterQueue/),
        expect.stringMatching(/^SoeDelayQueue/),
      ].sort(),
    );
    const mine = resourceOf(template, 'AWS::SQS::Queue', 'MyQueue').id;
    const myDlq = resourceOf(template, 'AWS::SQS::Queue', 'MyDlq').id;
    expect(envOf(template, 'Worker').QUEUE_URL).toEqual({ Ref: mine });
    expect(envOf(template, 'Start').QUEUE_URL).toEqual({ Ref: mine });
    const sources = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((r) => r.Properties.EventSourceArn);
    expect(sources).toContainEqual({ 'Fn::GetAtt': [mine, 'Arn'] });
    expect(sources).toContainEqual({ 'Fn::GetAtt': [myDlq, 'Arn'] });
    const send = statementsOf(template, 'SoeStartRole').find((s) => s.Action === 'sqs:SendMessage');
    expect(send?.Resource).toEqual({ 'Fn::GetAtt': [mine, 'Arn'] });
  });

  it('accept an imported FIFO queue pair', () => {
    const { template } = synth({}, (stack) => ({
      existingQueueObj: Queue.fromQueueAttributes(stack, 'Q', { queueArn: 'arn:aws:sqs:us-east-1:111111111111:signals.fifo', fifo: true }),
      existingDeadLetterQueueObj: Queue.fromQueueAttributes(stack, 'D', {
        queueArn: 'arn:aws:sqs:us-east-1:111111111111:signals-dlq.fifo',
        fifo: true,
      }),
    }));
    expect(JSON.stringify(envOf(template, 'Worker').QUEUE_URL)).toContain('signals.fifo');
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('reject what the runtime cannot work with, saying why', () => {
    const build = (configure: (stack: Stack) => Record<string, unknown>) => () => synth({}, configure as never);
    expect(build((s) => ({ existingQueueObj: userQueues(s).queue }))).toThrow(/existingQueueObj needs existingDeadLetterQueueObj/);
    expect(build((s) => ({ existingDeadLetterQueueObj: userQueues(s).dlq }))).toThrow(/only used with existingQueueObj/);
    expect(
      build((s) => {
        const dlq = new Queue(s, 'Std');
        return {
          existingQueueObj: new Queue(s, 'StdQ', { deadLetterQueue: { queue: dlq, maxReceiveCount: 5 } }),
          existingDeadLetterQueueObj: dlq,
        };
      }),
    ).toThrow(/existingQueueObj must be a FIFO queue/);
    expect(
      build((s) => {
        const { queue, dlq } = userQueues(s, 3);
        return { existingQueueObj: queue, existingDeadLetterQueueObj: dlq };
      }),
    ).toThrow(/existingQueueObj redrives after 3 receives but maxReceiveCount is 5: set maxReceiveCount: 3/);
    expect(
      build((s) => {
        const { queue } = userQueues(s);
        return { existingQueueObj: queue, existingDeadLetterQueueObj: new Queue(s, 'Other', { fifo: true }) };
      }),
    ).toThrow(/existingQueueObj redrives to Test\/MyDlq, not to existingDeadLetterQueueObj/);
    expect(
      build((s) => {
        const { queue, dlq } = userQueues(s);
        return { existingQueueObj: queue, existingDeadLetterQueueObj: dlq, queueProps: { queueName: 'x.fifo' } };
      }),
    ).toThrow(/give existingQueueObj or queueProps, not both/);
  });

  it('tell the worker the queue’s receive count when maxReceiveCount matches it', () => {
    const app = newApp();
    const stack = new Stack(app, 'Test');
    const { queue, dlq } = userQueues(stack, 3);
    new SoeOrchestrator(stack, 'Soe', { existingQueueObj: queue, existingDeadLetterQueueObj: dlq, maxReceiveCount: 3 });
    expect(envOf(Template.fromStack(stack), 'Worker').MAX_RECEIVE_COUNT).toBe('3');
  });
});

describe('queueProps', () => {
  it('are merged over the signal queue’s defaults; it stays FIFO with the construct’s dead-letter queue', () => {
    const { template } = synth({ queueProps: { queueName: 'my-signals.fifo' } });
    const q = resourceOf(template, 'AWS::SQS::Queue', 'SoeSignalQueue').props;
    expect(q.QueueName).toBe('my-signals.fifo');
    expect(q.FifoQueue).toBe(true);
    expect(q.RedrivePolicy.deadLetterTargetArn).toEqual({
      'Fn::GetAtt': [resourceOf(template, 'AWS::SQS::Queue', 'SoeSignalDeadLetterQueue').id, 'Arn'],
    });
  });

  it('cannot make it a standard queue or give it another dead-letter queue', () => {
    expect(() => synth({ queueProps: { fifo: false } })).toThrow(/queueProps.fifo cannot be false/);
    expect(() =>
      synth({}, (s) => ({ queueProps: { deadLetterQueue: { queue: new Queue(s, 'D', { fifo: true }), maxReceiveCount: 5 } } })),
    ).toThrow(/queueProps.deadLetterQueue cannot be set/);
  });
});
