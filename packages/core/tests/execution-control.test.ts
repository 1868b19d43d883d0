/** Cancel and checked signals in process: the engine stops draining a cancelled execution. */
import { describe, expect, it } from 'vitest';
import {
  cancelExecution,
  checkExternalSignals,
  createAllNodes,
  createInMemoryBackends,
  nearestName,
  orchestrate,
  SignalRefusedError,
} from '../src/index.js';

const CHAIN = `
main:
  First:
    node_type: tool
    event_triggers: [START]
    tool_name: first
    output_field: first
    event_emissions: [{ signal_name: NEXT }]
  Second:
    node_type: tool
    event_triggers: [NEXT]
    tool_name: second
    output_field: second
  Approve:
    node_type: router
    event_triggers: [APPROVED]
    event_emissions: [{ signal_name: PAID }]
`;

describe('cancel in process', () => {
  it('stops the drain: the node running when cancelled finishes, nothing after it runs, signals are refused', async () => {
    const backends = createInMemoryBackends();
    let id = '';
    let secondRuns = 0;
    const tools = {
      // Cancels its own execution while it runs, as a concurrent soe cancel would.
      first: async () => {
        await cancelExecution(backends, id);
        return 'one';
      },
      second: () => {
        secondRuns++;
        return 'two';
      },
    };
    const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: tools });
    const caller = async (executionId: string, signals: string[]) => {
      id = executionId;
      await broadcastSignalsCaller(executionId, signals);
    };
    id = await orchestrate({
      config: CHAIN,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller: caller,
    });
    const ctx = await backends.context.getContext(id);
    expect(ctx.first).toEqual(['one']);
    expect(ctx.second).toBeUndefined();
    expect(secondRuns).toBe(0);
    expect(ctx.__operational__?.cancelled).toBe(1);
    await expect(checkExternalSignals(backends, id, ['APPROVED'])).rejects.toThrow(
      new SignalRefusedError(`execution '${id}' was cancelled: it accepts no more signals`, 'cancelled'),
    );
    expect(await cancelExecution(backends, id)).toBe(0);
  });
});

describe('checked signals in process', () => {
  it('refuses a signal no node listens to, with a did-you-mean on a near miss only', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { toolsRegistry: { first: () => 1, second: () => 2 } });
    const id = await orchestrate({
      config: CHAIN,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    await expect(checkExternalSignals(backends, id, ['APROVED'])).rejects.toMatchObject({
      name: 'SignalRefusedError',
      code: 'SOE_SIGNAL_REFUSED_NOT_LISTENED',
      message: `execution '${id}': no node of workflow 'main' listens to 'APROVED' (did you mean 'APPROVED'?); signals listened to: 'START', 'NEXT', 'APPROVED'`,
    });
    await expect(checkExternalSignals(backends, id, ['PAY'])).rejects.toThrow(/listens to 'PAY'; signals listened/);
    await expect(checkExternalSignals(backends, id, ['APPROVED'])).resolves.toBeUndefined();
  });

  it('nearestName suggests typos and other cases, not unrelated names', () => {
    expect(nearestName('APROVED', ['APPROVED', 'REJECTED'])).toBe('APPROVED');
    expect(nearestName('approved', ['APPROVED', 'REJECTED'])).toBe('APPROVED');
    expect(nearestName('DONE', ['APPROVED', 'REJECTED'])).toBeUndefined();
  });
});
