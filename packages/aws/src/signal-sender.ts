/** Sends signals from outside a worker (start, `soe send`): records them and the status fact, then queues the message. */
import { randomUUID } from 'node:crypto';
import { type BroadcastSignalsCaller, OperationalValidationError } from '@soe/core';
import { mainOfInit } from './dynamo-context-backend.js';
import { strList } from './execution-log.js';
import type { RuntimeServices } from './runtime-services.js';
import { sendSignalMessages } from './signal-message.js';
import { writeStatusFact } from './status-facts.js';
import { derivedId, executionPk, nowMicros, receivedSk, SK } from './table-keys.js';

/** Options of a send from outside. */
export interface SendOptions {
  /** Makes a repeated send apply once: the broadcast id derives from it (and the execution id). */
  signalId?: string;
}

/**
 * Creates the broadcast caller for signals from outside the workers (orchestrate's initial signals,
 * external events, human approval): checks that the execution exists, records the signals once in its
 * context under a fresh broadcast id (that record is also what marks the broadcast in flight for the
 * status), then sends the message. Resolves once the message is sent, not when it is handled.
 * @example
 * const caller = createSignalSender(services);
 * await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller: caller });
 */
export function createSignalSender(
  services: RuntimeServices,
): BroadcastSignalsCaller & { sendWithId(executionId: string, signals: string[], opts?: SendOptions): Promise<string> } {
  const table = services.backends.table;
  const sendWithId = async (executionId: string, signals: string[], opts: SendOptions = {}): Promise<string> => {
    if (!Array.isArray(signals) || !signals.every((s) => typeof s === 'string' && s !== '')) {
      throw new TypeError(`signals must be a list of signal names, got ${JSON.stringify(signals)}`);
    }
    const pk = executionPk(executionId);
    const init = await table.get(pk, SK.init);
    if (!init) throw new OperationalValidationError(`execution '${executionId}' not found: it has no stored context`);
    const main = mainOfInit(executionId, init);
    const id = opts.signalId !== undefined ? derivedId(executionId, 'signal', opts.signalId) : randomUUID();
    const sk = receivedSk(id);
    if (opts.signalId !== undefined && !(await table.putIfAbsent({ pk, sk, ord: nowMicros(), s: [...signals] }))) {
      // Sent before under this signalId: it applies once. The fact and the message go again (the
      // worker handles a broadcast id once) in case the first sender stopped between its record and its message.
      await writeStatusFact(table, main, { executionId, sent: [[id, executionId]] }, { id });
      await sendSignalMessages(services.sqs, services.queues, [{ i: id, t: executionId, s: strList((await table.get(pk, sk))?.s) }]);
      return id;
    }
    // The status fact (sent) is written before the message exists, so no poll sees the run idle while it is queued.
    const [, factKeys] = await Promise.all([
      opts.signalId === undefined ? table.put({ pk, sk, ord: nowMicros(), s: [...signals] }) : Promise.resolve(),
      writeStatusFact(table, main, { executionId, sent: [[id, executionId]] }, { id }),
    ]);
    try {
      await sendSignalMessages(services.sqs, services.queues, [{ i: id, t: executionId, s: [...signals] }]);
    } catch (e) {
      // Never sent: take the records back so the signals are not shown and the status is not stuck RUNNING.
      const undo = [table.delete(pk, sk), ...factKeys.map((k) => table.delete(executionPk(main), k))];
      await Promise.all(undo.map((p) => p.catch(() => undefined)));
      throw e;
    }
    return id;
  };
  const caller = async (executionId: string, signals: string[]): Promise<void> => {
    await sendWithId(executionId, signals);
  };
  return Object.assign(caller, { sendWithId });
}
