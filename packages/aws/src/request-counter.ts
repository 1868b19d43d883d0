/**
 * Counts the AWS requests the runtime makes: cost on AWS is counted in requests (and DynamoDB writes
 * in bytes), so the benchmark turns these counts into dollars per node run.
 */

/** Counts of one service. */
export interface ServiceCounts {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests by operation name (`PutItem`, `Query`, `SendMessageBatch`, …). */
  byOperation: Record<string, number>;
}

/** Everything counted so far. */
export interface RequestCounts {
  dynamodb: ServiceCounts & {
    /** Request-body bytes of write operations (PutItem, UpdateItem, DeleteItem, BatchWriteItem). */
    bytesWritten: number;
    /** Write request units under on-demand pricing, estimated from request sizes (1 per started KB per item). */
    writeUnits: number;
  };
  sqs: ServiceCounts & {
    /** Messages sent (a SendMessageBatch of ten counts ten). */
    messagesSent: number;
  };
}

/** Counts requests of the SDK clients it is attached to. */
export interface RequestCounter {
  /** Adds the counting middleware to a client (DynamoDB or SQS). Attaching twice is a no-op. */
  attach(client: { middlewareStack: { add: (...args: never[]) => unknown } }): void;
  /** A copy of the counts so far. */
  counts(): RequestCounts;
  /** Sets every count back to zero. */
  reset(): void;
}

const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const MIDDLEWARE_NAME = 'soeRequestCounter';

const empty = (): RequestCounts => ({
  dynamodb: { requests: 0, byOperation: {}, bytesWritten: 0, writeUnits: 0 },
  sqs: { requests: 0, byOperation: {}, messagesSent: 0 },
});

/**
 * Creates a request counter. The middleware sits in the `finalizeRequest` step below the SDK's retry
 * middleware, so each attempt is counted, as AWS bills it.
 * @example
 * const counter = createRequestCounter();
 * counter.attach(dynamoClient); counter.attach(sqsClient);
 * // … run a workflow …
 * console.log(counter.counts().dynamodb.requests);
 */
export function createRequestCounter(): RequestCounter {
  let c = empty();
  const attached = new WeakSet<object>();
  return {
    attach(client) {
      if (attached.has(client)) return;
      attached.add(client);
      const add = client.middlewareStack.add as unknown as (mw: unknown, opts: Record<string, unknown>) => void;
      add.call(
        client.middlewareStack,
        (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
          async (args: { input?: Record<string, unknown>; request?: { body?: unknown } }) => {
            const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
            const service = (context.clientName ?? '').includes('SQS') ? c.sqs : c.dynamodb;
            service.requests++;
            service.byOperation[op] = (service.byOperation[op] ?? 0) + 1;
            if (service === c.sqs) {
              if (op === 'SendMessage') c.sqs.messagesSent++;
              else if (op === 'SendMessageBatch') c.sqs.messagesSent += Array.isArray(args.input?.Entries) ? args.input.Entries.length : 0;
            } else if (WRITE_OPS.has(op)) {
              const body = args.request?.body;
              const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : 0;
              c.dynamodb.bytesWritten += bytes;
              const items = op === 'BatchWriteItem' ? batchItemCount(args.input) : 1;
              c.dynamodb.writeUnits += Math.max(items, Math.ceil(bytes / 1024));
            }
            return next(args);
          },
        { step: 'finalizeRequest', priority: 'low', name: MIDDLEWARE_NAME, override: true },
      );
    },
    counts() {
      return structuredClone(c);
    },
    reset() {
      c = empty();
    },
  };
}

function batchItemCount(input: Record<string, unknown> | undefined): number {
  const req = input?.RequestItems as Record<string, unknown[]> | undefined;
  return req ? Object.values(req).reduce((n, list) => n + (Array.isArray(list) ? list.length : 0), 0) : 1;
}
