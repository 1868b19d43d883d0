/** Starts the embedded emulators on loopback (dynalite for DynamoDB, fauxqs for SQS) with the table and queues the runtime expects. */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../env-contract.js';

/** Options of {@link startLocalEmulators}. */
export interface LocalEmulatorsOptions {
  /** Redrive: receives before a message moves to the dead-letter queue. @default 5 */
  maxReceiveCount?: number;
  /**
   * Visibility timeout of the signal queue, in seconds. Failed messages come back sooner: the worker
   * sets their visibility to a short backoff. @default 30
   */
  visibilityTimeoutSeconds?: number;
  /** @default 'soe' */
  tableName?: string;
  /** Base name of the queues: `<name>.fifo`, `<name>-dlq.fifo`, `<name>-delayed`, `<name>-delayed-dlq`. @default 'soe-signals' */
  queueName?: string;
}

/** Running emulators with a table, a signal queue and its dead-letter queue. */
export interface LocalEmulators {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  /** `http://127.0.0.1:<port>` of dynalite. */
  dynamoEndpoint: string;
  /** `http://127.0.0.1:<port>` of fauxqs. */
  sqsEndpoint: string;
  tableName: string;
  /** The FIFO signal queue (one message group per execution). */
  queueUrl: string;
  /** Its dead-letter queue (FIFO). */
  dlqUrl: string;
  /** The standard queue where delayed messages wait until due. */
  delayQueueUrl: string;
  /** Its dead-letter queue. */
  delayDlqUrl: string;
  maxReceiveCount: number;
  /** Stops both emulators and destroys the clients. */
  close(): Promise<void>;
}

/**
 * Imports a module by a name only known at run time: a bundler building a Lambda from `@soe/aws`
 * cannot follow it, so the emulators (dependencies of `@soe/aws`, used only here) never end up in a function bundle.
 */
const load = <T>(name: string): Promise<T> => import(name) as Promise<T>;

/** Credentials the emulators accept (they check none). Explicit, so the SDK never looks for real ones. */
const DUMMY_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REGION = 'us-east-1';

/** Creates the single table: string keys `pk`/`sk`, on demand. (dynalite has no TTL; AWS gets `ttl` from the stack.) */
export async function createSoeTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let i = 0; i < 200; i++) {
    const d = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

/**
 * Starts DynamoDB (dynalite) and SQS (fauxqs) in this process on free loopback ports, and creates the
 * table, the FIFO signal queue, the standard queue for delayed messages, and their dead-letter queues. No Docker, no network beyond 127.0.0.1.
 * The emulators are loaded on demand: they are development dependencies, never bundled into a Lambda.
 */
export async function startLocalEmulators(opts: LocalEmulatorsOptions = {}): Promise<LocalEmulators> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const tableName = opts.tableName ?? 'soe';
  const queueName = opts.queueName ?? 'soe-signals';
  const maxReceiveCount = opts.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;

  const { default: dynalite } = await load<typeof import('dynalite')>('dynalite');
  const dynaliteServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynaliteServer.once('error', reject);
    dynaliteServer.listen(0, '127.0.0.1', () => resolve());
  });
  const dynamoEndpoint = `http://127.0.0.1:${(dynaliteServer.address() as AddressInfo).port}`;

  const { buildApp } = await load<typeof import('fauxqs')>('fauxqs');
  // buildApp + our own listen: startFauxqs would bind every interface; we stay on loopback.
  const fauxqs = buildApp({ logger: false, defaultRegion: REGION });
  await fauxqs.listen({ port: 0, host: '127.0.0.1' });
  const sqsEndpoint = `http://127.0.0.1:${(fauxqs.server.address() as AddressInfo).port}`;

  const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: REGION, credentials: DUMMY_CREDENTIALS, maxAttempts: 5 });
  // fauxqs answers with queue URLs on sqs.<region>.localhost: keep sending to the endpoint, not to the URL's host.
  const sqs = new SQSClient({
    endpoint: sqsEndpoint,
    region: REGION,
    credentials: DUMMY_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
    maxAttempts: 5,
  });

  const close = async () => {
    dynamo.destroy();
    sqs.destroy();
    await fauxqs.close().catch(() => undefined);
    await new Promise<void>((resolve) => {
      dynaliteServer.close(() => resolve());
      dynaliteServer.closeAllConnections?.();
    });
  };
  try {
    await createSoeTable(dynamo, tableName);
    const createWithDlq = async (name: string, fifo: boolean) => {
      const suffix = fifo ? '.fifo' : '';
      const fifoAttrs: Record<string, string> = fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
      const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifoAttrs }));
      const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }))).Attributes
        ?.QueueArn;
      const queue = await sqs.send(
        new CreateQueueCommand({
          QueueName: `${name}${suffix}`,
          Attributes: {
            ...fifoAttrs,
            VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? 30),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
          },
        }),
      );
      return { url: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
    };
    const signals = await createWithDlq(queueName, true);
    const delayed = await createWithDlq(`${queueName}-delayed`, false);
    return {
      dynamo,
      sqs,
      dynamoEndpoint,
      sqsEndpoint,
      tableName,
      queueUrl: signals.url,
      dlqUrl: signals.dlqUrl,
      delayQueueUrl: delayed.url,
      delayDlqUrl: delayed.dlqUrl,
      maxReceiveCount,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
