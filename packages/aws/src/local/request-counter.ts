/**
 * Counts the AWS requests the runtime makes: cost on AWS is counted in requests (and DynamoDB writes
 * and reads in item bytes), so the benchmark turns these counts into dollars per node run.
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
    /** DynamoDB item size (names + values, as AWS sizes items) of the items put by PutItem and BatchWriteItem. */
    itemBytesWritten: number;
    /**
     * Write request units under on-demand pricing: 1 per started KB of each item put (its item size);
     * for UpdateItem and DeleteItem, whose item size the request does not show, 1 per started KB of the request.
     */
    writeUnits: number;
    /** DynamoDB item size of the items returned by reads (GetItem, Query, Scan, BatchGetItem, TransactGetItems). */
    bytesRead: number;
    /**
     * Read request units: 1 per started 4 KB of the items a request returns (at least 1; Query and Scan
     * round their sum, batch reads each item), half for eventually consistent reads, twice for
     * transactional ones. A filter expression's discarded items are billed by AWS but not seen here.
     */
    readUnits: number;
  };
  sqs: ServiceCounts & {
    /** Messages sent (a SendMessageBatch of ten counts ten). */
    messagesSent: number;
    /** ReceiveMessage requests that returned no message. */
    emptyReceives: number;
    /** Requests as SQS bills them: each started 64 KB of message payload (bodies and attributes) is one request. */
    billedRequests: number;
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
const READ_OPS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const MIDDLEWARE_NAME = 'soeRequestCounter';
const KB = 1024;
const SQS_CHUNK = 64 * KB;

const empty = (): RequestCounts => ({
  dynamodb: { requests: 0, byOperation: {}, bytesWritten: 0, itemBytesWritten: 0, writeUnits: 0, bytesRead: 0, readUnits: 0 },
  sqs: { requests: 0, byOperation: {}, messagesSent: 0, emptyReceives: 0, billedRequests: 0 },
});

type Input = Record<string, unknown> | undefined;
type Output = Record<string, unknown> | undefined;

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
        (next: (args: unknown) => Promise<{ output?: Output }>, context: { clientName?: string; commandName?: string }) =>
          async (args: { input?: Input; request?: { body?: unknown } }) => {
            const op = (context.commandName ?? 'Unknown').replace(/Command$/, '');
            const isSqs = (context.clientName ?? '').includes('SQS');
            const service = isSqs ? c.sqs : c.dynamodb;
            // Counted against the counts current when the request started (a reset in between drops it).
            const counts = c;
            service.requests++;
            service.byOperation[op] = (service.byOperation[op] ?? 0) + 1;
            if (isSqs) {
              if (op === 'SendMessage') counts.sqs.messagesSent++;
              else if (op === 'SendMessageBatch')
                counts.sqs.messagesSent += Array.isArray(args.input?.Entries) ? args.input.Entries.length : 0;
              if (op !== 'ReceiveMessage')
                counts.sqs.billedRequests += sqsChunks(sqsPayloadBytes(op === 'SendMessage' ? [args.input] : args.input?.Entries));
            } else if (WRITE_OPS.has(op)) {
              const body = args.request?.body;
              const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.length : 0;
              counts.dynamodb.bytesWritten += bytes;
              const items = putItems(op, args.input);
              if (items) {
                for (const sizeOf of items) {
                  counts.dynamodb.itemBytesWritten += sizeOf;
                  counts.dynamodb.writeUnits += Math.max(1, Math.ceil(sizeOf / KB));
                }
                if (op === 'BatchWriteItem') counts.dynamodb.writeUnits += batchItemCount(args.input) - items.length; // deletes: 1 each
              } else {
                counts.dynamodb.writeUnits += Math.max(1, Math.ceil(bytes / KB));
              }
            }
            const result = await next(args);
            if (isSqs && op === 'ReceiveMessage') {
              const messages = result?.output?.Messages;
              const n = Array.isArray(messages) ? messages.length : 0;
              if (!n) counts.sqs.emptyReceives++;
              counts.sqs.billedRequests += sqsChunks(sqsPayloadBytes(messages));
            } else if (!isSqs && READ_OPS.has(op)) {
              const { bytes, units } = readCost(op, args.input, result?.output);
              counts.dynamodb.bytesRead += bytes;
              counts.dynamodb.readUnits += units;
            }
            return result;
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

function batchItemCount(input: Input): number {
  const req = input?.RequestItems as Record<string, unknown[]> | undefined;
  return req ? Object.values(req).reduce((n, list) => n + (Array.isArray(list) ? list.length : 0), 0) : 1;
}

/** Sizes of the items a PutItem or BatchWriteItem puts (undefined for writes whose item the request does not hold). */
function putItems(op: string, input: Input): number[] | undefined {
  if (op === 'PutItem') return [itemSize(input?.Item)];
  if (op !== 'BatchWriteItem') return undefined;
  const out: number[] = [];
  for (const list of Object.values((input?.RequestItems ?? {}) as Record<string, unknown[]>)) {
    for (const r of Array.isArray(list) ? list : []) {
      const put = (r as { PutRequest?: { Item?: unknown } }).PutRequest;
      if (put) out.push(itemSize(put.Item));
    }
  }
  return out;
}

function readCost(op: string, input: Input, output: Output): { bytes: number; units: number } {
  const units4k = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));
  const factor = op === 'TransactGetItems' ? 2 : input?.ConsistentRead === true ? 1 : 0.5;
  if (op === 'GetItem') {
    const bytes = output?.Item ? itemSize(output.Item) : 0;
    return { bytes, units: units4k(bytes) * factor };
  }
  if (op === 'Query' || op === 'Scan') {
    const bytes = (Array.isArray(output?.Items) ? output.Items : []).reduce((n: number, it: unknown) => n + itemSize(it), 0);
    return { bytes, units: units4k(bytes) * factor };
  }
  // BatchGetItem (per table: Responses[table] = items; consistency per table) and TransactGetItems (Responses = [{ Item }]).
  let bytes = 0;
  let units = 0;
  if (op === 'TransactGetItems') {
    for (const r of (Array.isArray(output?.Responses) ? output.Responses : []) as Array<{ Item?: unknown }>) {
      const b = r?.Item ? itemSize(r.Item) : 0;
      bytes += b;
      units += units4k(b) * 2;
    }
    return { bytes, units };
  }
  const keys = (input?.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>;
  for (const [table, items] of Object.entries((output?.Responses ?? {}) as Record<string, unknown[]>)) {
    const f = keys[table]?.ConsistentRead === true ? 1 : 0.5;
    for (const it of items) {
      const b = itemSize(it);
      bytes += b;
      units += units4k(b) * f;
    }
  }
  return { bytes, units };
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/** DynamoDB's size of a number: about one byte per two significant digits, plus one. */
function numberSize(n: string): number {
  const digits = n
    .replace(/^[-+]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

const AV_KEYS = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);

/**
 * Item size as DynamoDB counts it: attribute names plus values (strings in UTF-8, binary in bytes,
 * numbers by digits, 1 for booleans and null, 3 per list or map plus 1 per element). Items arrive as
 * AttributeValues (the low-level client) or plain values (the document client unmarshals the output
 * before this middleware sees it): both are measured.
 */
export function itemSize(item: unknown): number {
  if (!item || typeof item !== 'object') return 0;
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += utf8(k) + valueSize(v);
  return n;
}

function valueSize(v: unknown): number {
  if (isAttributeValue(v)) return attributeValueSize(v);
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'string') return utf8(v);
  if (typeof v === 'number' || typeof v === 'bigint') return numberSize(String(v));
  if (v instanceof Uint8Array) return v.byteLength;
  if (v instanceof Set) return [...v].reduce((n: number, e) => n + valueSize(e), 0);
  if (Array.isArray(v)) return 3 + v.reduce((n: number, e) => n + 1 + valueSize(e), 0);
  if (typeof v === 'object') {
    const num = (v as { value?: unknown }).value; // NumberValue of the document client
    if (v.constructor?.name === 'NumberValue' && typeof num === 'string') return numberSize(num);
    return 3 + Object.entries(v).reduce((n, [k, e]) => n + 1 + utf8(k) + valueSize(e), 0);
  }
  return 0;
}

function isAttributeValue(v: unknown): v is Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || v instanceof Set) return false;
  const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1 || !AV_KEYS.has(keys[0]!)) return false;
  const [k] = keys;
  const x = (v as Record<string, unknown>)[k!];
  switch (k) {
    case 'S':
    case 'N':
      return typeof x === 'string';
    case 'B':
      return x instanceof Uint8Array || typeof x === 'string';
    case 'BOOL':
      return typeof x === 'boolean';
    case 'NULL':
      return x === true;
    case 'L':
      return Array.isArray(x);
    case 'M':
      return !!x && typeof x === 'object' && !Array.isArray(x);
    default:
      return Array.isArray(x);
  }
}

function attributeValueSize(v: Record<string, unknown>): number {
  const [k, x] = Object.entries(v).find(([, e]) => e !== undefined)!;
  switch (k) {
    case 'S':
      return utf8(x as string);
    case 'N':
      return numberSize(x as string);
    case 'B':
      return x instanceof Uint8Array ? x.byteLength : Buffer.from(x as string, 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'L':
      return 3 + (x as unknown[]).reduce((n: number, e) => n + 1 + valueSize(e), 0);
    case 'M':
      return 3 + Object.entries(x as object).reduce((n, [name, e]) => n + 1 + utf8(name) + valueSize(e), 0);
    case 'SS':
      return (x as string[]).reduce((n, e) => n + utf8(e), 0);
    case 'NS':
      return (x as string[]).reduce((n, e) => n + numberSize(e), 0);
    default: // BS
      return (x as Array<Uint8Array | string>).reduce(
        (n, e) => n + (e instanceof Uint8Array ? e.byteLength : Buffer.from(e, 'base64').length),
        0,
      );
  }
}

/** Payload bytes of SQS messages or send entries: body plus message attributes. */
function sqsPayloadBytes(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let n = 0;
  for (const m of messages as Array<Record<string, unknown> | undefined>) {
    const body = m?.MessageBody ?? m?.Body;
    if (typeof body === 'string') n += utf8(body);
    for (const [name, a] of Object.entries((m?.MessageAttributes ?? {}) as Record<string, Record<string, unknown>>)) {
      n += utf8(name) + utf8(String(a?.DataType ?? ''));
      if (typeof a?.StringValue === 'string') n += utf8(a.StringValue);
      if (a?.BinaryValue instanceof Uint8Array) n += a.BinaryValue.byteLength;
    }
  }
  return n;
}

/** One billed request per started 64 KB of payload (at least one). */
const sqsChunks = (bytes: number) => Math.max(1, Math.ceil(bytes / SQS_CHUNK));
