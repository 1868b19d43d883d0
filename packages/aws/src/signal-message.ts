/**
 * The SQS message that carries a broadcast. Only ids and signal names travel; data stays in DynamoDB.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LimitExceededError, MalformedMessageError } from './errors.js';
import type { OutboxEntry } from './record-types.js';

/** Body of a signal message, version 1. */
export interface SignalMessage {
  v: 1;
  /** Broadcast id: deterministic for broadcasts emitted by node runs, so re-sends carry the same id. */
  id: string;
  executionId: string;
  signals: string[];
}

/**
 * SQS's largest message, and the largest payload of one SendMessageBatch (the sum of its bodies):
 * 256 KiB. Emulators accept more (fauxqs takes 1 MiB), so the runtime checks it itself.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Throws a {@link LimitExceededError} naming the execution when a message body is larger than SQS takes. */
export function checkMessageSize(entry: OutboxEntry, body: string = messageBody(entry)): number {
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new LimitExceededError(
      `the message broadcasting ${entry.s.length} signal${entry.s.length === 1 ? '' : 's'} to execution '${entry.t}'`,
      bytes,
      MAX_MESSAGE_BYTES,
      'bytes',
      'SQS takes messages of at most 256 KiB: send fewer or shorter signals at once',
    );
  }
  return bytes;
}

/** SQS's largest per-message delay. Longer `spawn_interval` offsets are capped to it. */
export const MAX_DELAY_SECONDS = 900;

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Parses and checks a message body. Throws {@link MalformedMessageError} (permanent) for anything else. */
export function parseSignalMessage(body: string): SignalMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new MalformedMessageError(`message body is not JSON: ${body.slice(0, 200)}`, { cause: e });
  }
  const m = parsed as Partial<SignalMessage> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new MalformedMessageError(`message body is not an object: ${body.slice(0, 200)}`);
  if (m.v !== 1) throw new MalformedMessageError(`message version ${JSON.stringify(m.v)} is not supported (expected 1)`);
  if (!isNonEmptyString(m.id)) throw new MalformedMessageError(`message has no broadcast id: ${body.slice(0, 200)}`);
  if (!isNonEmptyString(m.executionId)) throw new MalformedMessageError(`message ${m.id} has no executionId`);
  if (!Array.isArray(m.signals) || !m.signals.every(isNonEmptyString)) {
    throw new MalformedMessageError(`message ${m.id}: signals must be a list of signal names, got ${JSON.stringify(m.signals)}`);
  }
  return { v: 1, id: m.id, executionId: m.executionId, signals: m.signals };
}

/** The body of a message for an outbox entry. */
export function messageBody(entry: OutboxEntry): string {
  const msg: SignalMessage = { v: 1, id: entry.i, executionId: entry.t, signals: entry.s };
  return JSON.stringify(msg);
}

/** `DelaySeconds` for a delay: whole seconds, at most {@link MAX_DELAY_SECONDS}. */
export function delaySecondsOf(delay: number | undefined): number | undefined {
  if (!delay || delay <= 0) return undefined;
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(delay));
}

/** Where signal messages go. */
export interface SignalQueues {
  /**
   * The signal queue. A FIFO queue (`….fifo`) is the intended setup: messages are grouped by target
   * execution, so the broadcasts of one execution are handled one at a time, in order, as in process,
   * while different executions (fan-out children) run in parallel; the broadcast id is the
   * deduplication id, so a re-sent outbox within five minutes is dropped by SQS itself.
   */
  queueUrl: string;
  /**
   * A standard queue for delayed messages (a fan-out's spawn_interval): FIFO queues have no per-message
   * delay, so delayed messages wait here and the worker forwards them to the FIFO queue when they come due.
   */
  delayQueueUrl?: string;
}

/** True for a FIFO queue URL. */
export const isFifoQueue = (queueUrl: string): boolean => queueUrl.endsWith('.fifo');

/**
 * Sends broadcasts, ten per SendMessageBatch. An entry SQS refuses makes the call throw (retryable):
 * the worker's message then comes back and the outbox is sent again with the same ids.
 */
export async function sendSignalMessages(sqs: SQSClient, queues: SignalQueues, entries: OutboxEntry[]): Promise<void> {
  const fifo = isFifoQueue(queues.queueUrl);
  const now: OutboxEntry[] = [];
  const later: OutboxEntry[] = [];
  for (const e of entries) (delaySecondsOf(e.d) && fifo && queues.delayQueueUrl ? later : now).push(e);
  await sendBatches(sqs, queues.queueUrl, now, fifo);
  if (later.length) await sendBatches(sqs, queues.delayQueueUrl!, later, false);
}

/** Splits messages into SendMessageBatch calls: at most ten messages and {@link MAX_MESSAGE_BYTES} of bodies each. */
export function batchesOf(entries: OutboxEntry[]): OutboxEntry[][] {
  const out: OutboxEntry[][] = [];
  let batch: OutboxEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = checkMessageSize(e);
    if (batch.length === 10 || (batch.length && bytes + size > MAX_MESSAGE_BYTES)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(e);
    bytes += size;
  }
  if (batch.length) out.push(batch);
  return out;
}

async function sendBatches(sqs: SQSClient, queueUrl: string, entries: OutboxEntry[], fifo: boolean): Promise<void> {
  for (const batch of batchesOf(entries)) {
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((e, n) => {
          const delay = fifo ? undefined : delaySecondsOf(e.d);
          return {
            Id: `m${n}`,
            MessageBody: messageBody(e),
            ...(delay ? { DelaySeconds: delay } : {}),
            ...(fifo ? { MessageGroupId: e.t, MessageDeduplicationId: e.i } : {}),
          };
        }),
      }),
    );
    if (res.Failed?.length) {
      const f = res.Failed[0]!;
      const err = new Error(`SQS refused ${res.Failed.length} of ${batch.length} messages: ${f.Code} ${f.Message ?? ''}`);
      // A sender fault (bad request) would fail again; anything else is worth a retry.
      throw Object.assign(err, { name: f.SenderFault ? 'SqsSendError' : 'ServiceUnavailable', retryable: !f.SenderFault });
    }
  }
}

/** Sends a message body again to the signal queue (a delayed message that came due, or a duplicate). */
export async function forwardSignalMessage(
  sqs: SQSClient,
  queueUrl: string,
  message: SignalMessage,
  deduplicationId = message.id,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(message),
      ...(isFifoQueue(queueUrl) ? { MessageGroupId: message.executionId, MessageDeduplicationId: deduplicationId } : {}),
    }),
  );
}
