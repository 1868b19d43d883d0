/**
 * Checked signals, cancel and redrive through the signal function's handler, against the emulators
 * and the real worker and dead-letter consumer of the local runtime.
 */
import { orchestrate, TransientError } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalRuntime, createSignalHandler, type LocalRuntime, type RuntimeDeps } from '../src/index.js';
import { eventually, recordingLogger } from './helpers.js';

const APPROVAL = `
workflows:
  main:
    Draft:
      node_type: tool
      event_triggers: [START]
      tool_name: draft
      output_field: draft
      event_emissions: [{ signal_name: AWAITING_APPROVAL }]
    Publish:
      node_type: tool
      event_triggers: [APPROVED]
      tool_name: publish
      output_field: published
    Archive:
      node_type: tool
      event_triggers: [REJECTED]
      tool_name: publish
      output_field: archived
`;

/** A tool that fails transiently until fixed, then a node after it. */
const FLAKY = `
workflows:
  main:
    Call:
      node_type: tool
      event_triggers: [START]
      tool_name: flaky
      output_field: out
      event_emissions: [{ signal_name: CALLED }]
    After:
      node_type: tool
      event_triggers: [CALLED]
      tool_name: publish
      output_field: after
`;

/** A tool that holds until released, then a node after it. */
const GATED = `
workflows:
  main:
    Hold:
      node_type: tool
      event_triggers: [START]
      tool_name: gate
      output_field: held
      event_emissions: [{ signal_name: NEXT }]
    After:
      node_type: tool
      event_triggers: [NEXT]
      tool_name: publish
      output_field: after
`;

let rt: LocalRuntime;
let deps: RuntimeDeps;
let fixed = false;
let flakyCalls = 0;
let publishCalls = 0;
let release: () => void = () => undefined;
let gateEntered: () => void = () => undefined;
let gateEnteredP: Promise<void>;

beforeAll(async () => {
  rt = await createLocalRuntime({
    maxReceiveCount: 3,
    backoffSeconds: () => 0,
    toolsRegistry: {
      draft: () => 'text',
      publish: () => {
        publishCalls++;
        return 'done';
      },
      flaky: () => {
        flakyCalls++;
        if (!fixed) throw new TransientError('service unavailable');
        return 'answer';
      },
      gate: () =>
        new Promise((resolve) => {
          release = () => resolve('released');
          gateEntered();
        }),
    },
  });
  deps = {
    dynamo: rt.emulators.dynamo,
    sqs: rt.emulators.sqs,
    tableName: rt.emulators.tableName,
    queueUrl: rt.emulators.queueUrl,
    logger: recordingLogger(),
  };
});
afterAll(async () => {
  release();
  await rt?.close();
});

const start = (config: string) =>
  orchestrate({
    config,
    initialWorkflowName: 'main',
    initialSignals: ['START'],
    backends: rt.backends,
    broadcastSignalsCaller: rt.broadcastSignalsCaller,
  });

const settled = async (id: string) => eventually(async () => (await rt.status(id)).inFlight === 0, 20_000, `${id} settled`);

describe('checked signals', () => {
  it('refuses a signal no node listens to, naming those that are, with a did-you-mean', async () => {
    const signal = createSignalHandler(deps);
    const id = await start(APPROVAL);
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    const res = await signal({ executionId: id, signals: ['APROVED'] });
    expect(res).toMatchObject({ error: { type: 'SignalRefusedError', code: 'SOE_SIGNAL_REFUSED_NOT_LISTENED' } });
    const message = (res as { error: { message: string } }).error.message;
    expect(message).toContain("'APROVED' (did you mean 'APPROVED'?)");
    expect(message).toContain("signals listened to: 'START', 'APPROVED', 'REJECTED'");
    // Nothing was sent: the context's signals did not change and nothing ran.
    expect((await rt.backends.context.getContext(id)).__operational__?.signals).toEqual(['START', 'AWAITING_APPROVAL']);
  });

  it('applies a repeated send with the same signalId once', async () => {
    const signal = createSignalHandler(deps);
    const id = await start(APPROVAL);
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    const before = publishCalls;
    const first = await signal({ executionId: id, signals: ['APPROVED'], signalId: 'ticket-7-approval' });
    const second = await signal({ executionId: id, signals: ['APPROVED'], signalId: 'ticket-7-approval' });
    expect(second).toEqual(first);
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    const ctx = await rt.backends.context.getContext(id);
    expect(ctx.published).toEqual(['done']);
    expect(ctx.__operational__?.signals).toEqual(['START', 'AWAITING_APPROVAL', 'APPROVED']);
    expect(publishCalls - before).toBe(1);
    // Another signalId is another send.
    await signal({ executionId: id, signals: ['APPROVED'], signalId: 'ticket-7-approval-again' });
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    expect((await rt.backends.context.getContext(id)).published).toEqual(['done', 'done']);
  });
});

describe('cancel', () => {
  it('cancels a waiting execution: status CANCELLED, signals refused, repeating it changes nothing', async () => {
    const signal = createSignalHandler(deps);
    const id = await start(APPROVAL);
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    expect(await signal({ action: 'cancel', executionId: id })).toEqual({ executionId: id, status: 'CANCELLED', cancelled: 1 });
    expect((await rt.status(id)).status).toBe('CANCELLED');
    expect(await signal({ executionId: id, signals: ['APPROVED'] })).toMatchObject({
      error: { type: 'SignalRefusedError', message: `execution '${id}' was cancelled: it accepts no more signals` },
    });
    expect(await signal({ action: 'cancel', executionId: id })).toEqual({ executionId: id, status: 'CANCELLED', cancelled: 0 });
    expect((await rt.backends.context.getContext(id)).published).toBeUndefined();
  });

  it('drops what is in flight: the node running when it was cancelled commits, nothing after it runs', async () => {
    const signal = createSignalHandler(deps);
    gateEnteredP = new Promise((r) => {
      gateEntered = r;
    });
    const before = publishCalls;
    const id = await start(GATED);
    await gateEnteredP;
    await signal({ action: 'cancel', executionId: id });
    release();
    await settled(id);
    const s = await rt.status(id);
    expect(s).toMatchObject({ status: 'CANCELLED', inFlight: 0 });
    const ctx = await rt.backends.context.getContext(id);
    expect(ctx.after).toBeUndefined();
    expect(publishCalls).toBe(before);
  });

  it('answers an unknown execution with an error', async () => {
    const signal = createSignalHandler(deps);
    expect(await signal({ action: 'cancel', executionId: 'nope' })).toMatchObject({ error: { type: 'UnknownExecutionError' } });
    expect(await signal({ action: 'pause' as 'cancel', executionId: 'nope' })).toMatchObject({
      error: { type: 'RequestValidationError', message: expect.stringContaining('signal, cancel, redrive') },
    });
  });
});

describe('redrive', () => {
  it('re-sends the broadcast whose retries ran out once the cause is fixed, and the run ends IDLE, counted once', async () => {
    const signal = createSignalHandler(deps);
    fixed = false;
    flakyCalls = 0;
    const id = await start(FLAKY);
    const failed = await rt.waitForIdle(id);
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/service unavailable.*gave up after 3 attempts/) });
    // The message went on to the dead-letter queue, whose consumer kept the worker's reason.
    await eventually(async () => rt.logs.find((l) => l.message.startsWith('dead letter:') && l.executionId === id));
    // A FAILED execution refuses signals, and tells how to redrive it.
    expect(await signal({ executionId: id, signals: ['START'] })).toMatchObject({
      error: { type: 'SignalRefusedError', message: expect.stringContaining(`soe redrive ${id}`) },
    });

    fixed = true;
    const res = await signal({ action: 'redrive', executionId: id, redriveId: 'r1' });
    expect(res).toMatchObject({
      executionId: id,
      redriven: [{ executionId: id, signals: ['START'], error: expect.stringContaining('service unavailable') }],
    });
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    const ctx = await rt.backends.context.getContext(id);
    expect(ctx.out).toEqual(['answer']);
    expect(ctx.after).toEqual(['done']);
    expect(ctx.__operational__).toMatchObject({ nodes: { Call: 1, After: 1 }, tool_calls: 2, errors: 0 });
    expect(ctx.__operational__?.signals).toEqual(['START', 'CALLED']);
    expect(flakyCalls).toBe(4);

    // The same request again answers the same and sends nothing new; another one is refused: not FAILED.
    expect(await signal({ action: 'redrive', executionId: id, redriveId: 'r1' })).toEqual(res);
    expect(await signal({ action: 'redrive', executionId: id })).toMatchObject({
      error: { type: 'SignalRefusedError', message: `execution '${id}' is IDLE, not FAILED: only a failed execution can be redriven` },
    });
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    expect(flakyCalls).toBe(4);
  });

  it('fails again when the cause is not fixed, and a second redrive uses a new broadcast id', async () => {
    fixed = false;
    const id = await start(FLAKY);
    expect((await rt.waitForIdle(id)).status).toBe('failed');
    const first = await rt.redrive(id);
    expect((await rt.waitForIdle(id)).status).toBe('failed');
    fixed = true;
    const second = await rt.redrive(id);
    expect(second.redriven[0]!.broadcastId).not.toBe(first.redriven[0]!.broadcastId);
    expect(second.redriven[0]!.failedBroadcastId).toBe(first.redriven[0]!.broadcastId);
    expect(await rt.waitForIdle(id)).toEqual({ status: 'idle' });
    expect((await rt.backends.context.getContext(id)).out).toEqual(['answer']);
  });
});

describe('redrive after the dead-letter consumer marked FAILED', () => {
  it('a worker killed each time (no reason recorded by it) → DeadLetterError FAILED → fixed → redrive → IDLE', async () => {
    let blocking = true;
    let calls = 0;
    const killed = await createLocalRuntime({
      workerTimeoutMs: 1_000,
      maxReceiveCount: 2,
      toolsRegistry: {
        // Never yields while broken: only Lambda's kill stops it, so only the dead-letter consumer records why.
        flaky: () => {
          calls++;
          const until = Date.now() + (blocking ? 1_300 : 0);
          while (Date.now() < until) {
            /* busy */
          }
          return 'answer';
        },
        publish: () => 'done',
      },
    });
    try {
      const id = await orchestrate({
        config: FLAKY,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        backends: killed.backends,
        broadcastSignalsCaller: killed.broadcastSignalsCaller,
      });
      const failed = await killed.waitForIdle(id, 45_000);
      expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/^DeadLetterError: .*\(signals START\)/) });
      blocking = false;
      const res = await killed.redrive(id);
      expect(res.redriven).toMatchObject([{ signals: ['START'], error: expect.stringMatching(/^DeadLetterError/) }]);
      expect(await killed.waitForIdle(id, 20_000)).toEqual({ status: 'idle' });
      const ctx = await killed.backends.context.getContext(id);
      expect(ctx.out).toEqual(['answer']);
      expect(ctx.__operational__).toMatchObject({ nodes: { Call: 1, After: 1 }, tool_calls: 2 });
      expect(calls).toBe(3);
    } finally {
      await killed.close();
    }
  }, 90_000);
});
