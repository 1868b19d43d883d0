/** Polls a queue of the emulators and hands batches to the worker handler as Lambda's SQS event source would (with optional chaos). */
import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Chaos } from './chaos.js';
import type { InvocationScope, InvocationScopes } from './invocation-scope.js';

/** Options of {@link LocalSqsEventSource}. */
export interface LocalSqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** The Lambda handler to invoke with each batch. */
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
  /** Messages per batch, as the event source's BatchSize. @default 10 */
  batchSize?: number;
  /** Concurrent pollers (concurrent "Lambda instances"). @default 4 */
  concurrency?: number;
  /** Function timeout reported by the fake Context. @default 900000 */
  timeoutMs?: number;
  /** Duplicate deliveries. */
  chaos?: Chaos;
  /** Called when a poll or an invocation fails unexpectedly. */
  onError?: (error: unknown) => void;
  /**
   * Enforce the function timeout as Lambda does: an invocation still running at `timeoutMs` is
   * abandoned (its batch is not deleted and returns after the queue's visibility timeout) and, through
   * these scopes' client guard, can make no further call.
   */
  scopes?: InvocationScopes;
  /** Called when an invocation is killed at the timeout. */
  onKilled?: (info: { messageIds: string[]; timeoutMs: number; reason: 'timeout' | 'closed' }) => void;
}

const REGION = 'us-east-1';
/** What a killed invocation answers: nothing (its batch is neither deleted nor failed). */
const KILLED = Symbol('killed');

/**
 * Behaves like the Lambda SQS event source, in process: long-polls batches of up to ten messages,
 * invokes the handler with an SQSEvent built from them, deletes the records the handler did not report
 * in `batchItemFailures` and leaves those to reappear after their visibility timeout (which the worker
 * shortens to its backoff). A handler that throws fails the whole batch, as on Lambda.
 *
 * With chaos, a share of successfully handled messages is sent again (same body, same broadcast id):
 * the duplicate delivery SQS may make, arriving after the original was handled.
 */
export class LocalSqsEventSource {
  private polling = false;
  private readonly loops: Promise<void>[] = [];
  private readonly abort = new AbortController();
  private inFlightBatches = 0;
  /** Kills the invocations running now (used by stop: a hung handler must not keep close() waiting). */
  private readonly running = new Set<() => void>();
  private readonly arn: string;

  constructor(private readonly opts: LocalSqsEventSourceOptions) {
    const name = opts.queueUrl.split('/').pop() ?? 'queue';
    this.arn = `arn:aws:sqs:${REGION}:000000000000:${name}`;
  }

  /** Starts polling. */
  start(): void {
    if (this.polling) return;
    this.polling = true;
    for (let i = 0; i < (this.opts.concurrency ?? 4); i++) this.loops.push(this.loop());
  }

  /**
   * Stops polling and waits for the batches being handled. With scopes, a batch still running after
   * `graceMs` is abandoned (a hung tool must not keep the runtime from closing).
   */
  async stop(graceMs = 2_000): Promise<void> {
    this.polling = false;
    this.abort.abort();
    const done = Promise.allSettled(this.loops);
    if (this.opts.scopes && this.running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const kill of this.running) kill();
    }
    await done;
    this.loops.length = 0;
  }

  /** Batches being handled right now. */
  get busy(): number {
    return this.inFlightBatches;
  }

  private async loop(): Promise<void> {
    const { sqs, queueUrl } = this.opts;
    while (this.polling) {
      let messages: Message[] = [];
      try {
        const res = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: this.opts.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = res.Messages ?? [];
      } catch (e) {
        if (!this.polling) return;
        this.opts.onError?.(e);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (!messages.length) continue;
      this.inFlightBatches++;
      try {
        await this.invoke(messages);
      } catch (e) {
        this.opts.onError?.(e);
      } finally {
        this.inFlightBatches--;
      }
    }
  }

  private async invoke(messages: Message[]): Promise<void> {
    const { sqs, queueUrl } = this.opts;
    const event: SQSEvent = { Records: messages.map((m) => this.record(m)) };
    let failed: Set<string>;
    try {
      const res = await this.call(event, messages);
      if (res === KILLED) return;
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      // The handler threw (a crash): nothing is deleted, the whole batch comes back.
      failed = new Set(messages.map((m) => m.MessageId!));
    }
    const done = messages.filter((m) => !failed.has(m.MessageId!));
    if (done.length) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    for (const m of done) {
      if (!this.opts.chaos?.duplicate()) continue;
      // A duplicate delivery that SQS's deduplication did not catch: a fresh deduplication id.
      const group = m.Attributes?.MessageGroupId;
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: m.Body!,
          ...(group ? { MessageGroupId: group, MessageDeduplicationId: randomUUID() } : {}),
        }),
      );
    }
  }

  /** Invokes the handler; with scopes, as Lambda would: killed at the timeout. */
  private async call(event: SQSEvent, messages: Message[]): Promise<SQSBatchResponse | undefined | typeof KILLED> {
    const scopes = this.opts.scopes;
    if (!scopes) return this.opts.handler(event, this.context());
    const timeoutMs = this.opts.timeoutMs ?? 900_000;
    let scope: InvocationScope | undefined;
    let timer: NodeJS.Timeout | undefined;
    let kill: () => void = () => undefined;
    let closed = false;
    const killed = new Promise<typeof KILLED>((resolve) => {
      kill = () => {
        closed = true;
        resolve(KILLED);
      };
      timer = setTimeout(() => resolve(KILLED), timeoutMs);
    });
    this.running.add(kill);
    try {
      const run = scopes.run(timeoutMs, () => this.opts.handler(event, this.context()));
      scope = run.scope;
      run.result.catch(() => undefined);
      const res = await Promise.race([run.result, killed]);
      // A handler that blocked the event loop past its deadline finishes "in time" for the race: it was killed.
      if (res === KILLED || Date.now() > scope.deadline) {
        scope.killed = true;
        this.opts.onKilled?.({ messageIds: messages.map((m) => m.MessageId!), timeoutMs, reason: closed ? 'closed' : 'timeout' });
        return KILLED;
      }
      return res;
    } finally {
      clearTimeout(timer);
      this.running.delete(kill);
    }
  }

  private record(m: Message): SQSRecord {
    const a = m.Attributes ?? {};
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
        SentTimestamp: a.SentTimestamp ?? String(Date.now()),
        SenderId: a.SenderId ?? '000000000000',
        ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
        ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
        ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: REGION,
    };
  }

  private context(): Context {
    const started = Date.now();
    const timeout = this.opts.timeoutMs ?? 900_000;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'soe-worker-local',
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${REGION}:000000000000:function:soe-worker-local`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: '/aws/lambda/soe-worker-local',
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, timeout - (Date.now() - started)),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
