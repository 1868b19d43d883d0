/**
 * The SQS message that carries a broadcast. Only ids and signal names travel; data stays in DynamoDB.
 */
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LimitExceededError, MalformedMessageError, QueueSendError } from './errors.js';
import type { OutboxEntry } from './record-types.js';

/** Body of a signal message, version 1. */
export interface SignalMessage {
  v: 1;
  /** Broadcast id: deterministic for broadcasts emitted by node runs, so re-sends carry the same id. */
  id: string;
  executionId: string;
  signals: string[];
  /**
   * When the message is due (epoch ms), for delays longer than SQS's 900 s cap: a message that comes
   * due early is put back on the delay queue with the delay that remains (see {@link remainingDelaySeconds}).
   */
  due?: number;
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

/** SQS's largest per-message delay. Longer `spawn_interval` offsets are re-delayed in a chain. */
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
  if (m.due !== undefined && !(typeof m.due === 'number' && Number.isFinite(m.due)))
    throw new MalformedMessageError(`message ${m.id}: due must be a time in epoch milliseconds, got ${JSON.stringify(m.due)}`);
  const out: SignalMessage = { v: 1, id: m.id, executionId: m.executionId, signals: m.signals };
  if (m.due !== undefined) out.due = m.due;
  return out;
}

/** Early arrivals within this many ms count as due (clocks and SQS timing are not exact). */
export const DUE_TOLERANCE_MS = 100;

/**
 * Whole seconds a message must still wait (rounded up: SQS delays are whole seconds, and a delayed
 * start may come a little late but never early), or 0 when it is due.
 */
export function remainingDelaySeconds(message: Pick<SignalMessage, 'due'>, now = Date.now()): number {
  if (message.due === undefined) return 0;
  const ms = message.due - now;
  return ms > DUE_TOLERANCE_MS ? Math.ceil(ms / 1000) : 0;
}

/** The body of a message for an outbox entry (with its due time when the delay is longer than SQS allows). */
export function messageBody(entry: OutboxEntry, due?: number): string {
  const msg: SignalMessage = { v: 1, id: entry.i, executionId: entry.t, signals: entry.s };
  if (due !== undefined) msg.due = due;
  return JSON.stringify(msg);
}

/** `DelaySeconds` for a delay: whole seconds, at most `max` (SQS's {@link MAX_DELAY_SECONDS}). */
export function delaySecondsOf(delay: number | undefined, max = MAX_DELAY_SECONDS): number | undefined {
  if (!delay || delay <= 0) return undefined;
  return Math.min(max, Math.ceil(delay));
}

/** The due time to carry in a delayed message's body: only when SQS cannot delay it all in one go. */
export function dueOf(delay: number | undefined, max = MAX_DELAY_SECONDS, now = Date.now()): number | undefined {
  return delay && delay > max ? now + Math.round(delay * 1000) : undefined;
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
  /** Largest per-message delay of the queues (SQS: 900 s); longer delays are chained. @default 900 */
  maxDelaySeconds?: number;
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
  const max = queues.maxDelaySeconds ?? MAX_DELAY_SECONDS;
  await sendBatches(sqs, queues.queueUrl, now, fifo, max);
  if (later.length) await sendBatches(sqs, queues.delayQueueUrl!, later, false, max);
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

async function sendBatches(sqs: SQSClient, queueUrl: string, entries: OutboxEntry[], fifo: boolean, maxDelay: number): Promise<void> {
  for (const batch of batchesOf(entries)) {
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((e, n) => {
          const delay = fifo ? undefined : delaySecondsOf(e.d, maxDelay);
          return {
            Id: `m${n}`,
            MessageBody: messageBody(e, fifo ? undefined : dueOf(e.d, maxDelay)),
            ...(delay ? { DelaySeconds: delay } : {}),
            ...(fifo ? { MessageGroupId: e.t, MessageDeduplicationId: e.i } : {}),
          };
        }),
      }),
    );
    if (res.Failed?.length) {
      const f = res.Failed[0]!;
      // A sender fault (bad request) would fail again; anything else is worth a retry.
      throw new QueueSendError(
        `SQS refused ${res.Failed.length} of ${batch.length} messages: ${f.Code} ${f.Message ?? ''}`,
        f.SenderFault === true,
      );
    }
  }
}

/**
 * Puts a message that came due early back on a standard queue with the delay that remains (at most
 * `maxDelaySeconds`): the next link of a chain of delays longer than SQS's cap.
 */
export async function redelaySignalMessage(
  sqs: SQSClient,
  queueUrl: string,
  message: SignalMessage,
  seconds: number,
  maxDelaySeconds = MAX_DELAY_SECONDS,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(message),
      DelaySeconds: Math.min(maxDelaySeconds, Math.max(0, Math.ceil(seconds))),
    }),
  );
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
      MessageBody: JSON.stringify({ v: 1, id: message.id, executionId: message.executionId, signals: message.signals }),
      ...(isFifoQueue(queueUrl) ? { MessageGroupId: message.executionId, MessageDeduplicationId: deduplicationId } : {}),
    }),
  );
}
