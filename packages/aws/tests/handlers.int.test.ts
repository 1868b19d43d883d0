/**
 * The start, signal and status handlers called with fixture events, on the clients of a local runtime
 * (whose workers consume what the handlers send).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLocalRuntime,
  createSignalHandler,
  createStartHandler,
  createStatusHandler,
  type LocalRuntime,
  type RuntimeDeps,
} from '../src/index.js';
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
      context_parameter_field: draft
      output_field: published
      event_emissions: [{ signal_name: PUBLISHED }]
`;

let rt: LocalRuntime;
let deps: RuntimeDeps;
let dir: string;
beforeAll(async () => {
  rt = await createLocalRuntime({ toolsRegistry: { draft: () => ({ text: 'hello' }), publish: (d: { text: string }) => `${d.text}!` } });
  dir = mkdtempSync(join(tmpdir(), 'soe-workflows-'));
  writeFileSync(join(dir, 'approval.yaml'), APPROVAL);
  deps = {
    dynamo: rt.emulators.dynamo,
    sqs: rt.emulators.sqs,
    tableName: rt.emulators.tableName,
    queueUrl: rt.emulators.queueUrl,
    logger: recordingLogger(),
  };
});
afterAll(async () => {
  await rt?.close();
  rmSync(dir, { recursive: true, force: true });
});

const idleOf = async (id: string) => {
  const r = await rt.waitForIdle(id);
  expect(r).toEqual({ status: 'idle' });
};

describe('start handler', () => {
  it('validates, stores and starts an inline config, answering with the execution id', async () => {
    const start = createStartHandler(deps);
    const res = await start({
      config: APPROVAL,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { author: 'ann' },
    });
    expect(res).toEqual({ executionId: expect.any(String) });
    const id = (res as { executionId: string }).executionId;
    await idleOf(id);
    expect(await rt.backends.context.getContext(id)).toMatchObject({ author: ['ann'], draft: [{ text: 'hello' }] });
  });

  it('starts a deployed workflow file by name, from a bundled map or a directory', async () => {
    const bundled = createStartHandler({ ...deps, workflows: { approval: APPROVAL } });
    const fromDir = createStartHandler({ ...deps, workflowsDir: dir });
    for (const start of [bundled, fromDir]) {
      const res = await start({ workflowName: 'approval', initialWorkflowName: 'main', initialSignals: ['START'] });
      const id = (res as { executionId: string }).executionId;
      expect(id).toEqual(expect.any(String));
      await idleOf(id);
    }
  });

  it('rejects a bad config with every issue, and stores nothing', async () => {
    const start = createStartHandler(deps);
    const before = (await rt.backends.context.listContexts()).length;
    const res = await start({
      config: { workflows: { main: { Broken: { node_type: 'routerr', event_triggers: 'START' } } } },
      initialWorkflowName: 'main',
      initialSignals: ['START'],
    });
    expect(res).toMatchObject({
      error: { type: 'WorkflowValidationError', message: expect.stringContaining('Broken'), issues: expect.any(Array) },
    });
    expect((res as { error: { issues: unknown[] } }).error.issues.length).toBeGreaterThan(0);
    expect((await rt.backends.context.listContexts()).length).toBe(before);
  });

  it('answers the config warnings (unknown keys) with the execution id, and refuses them with strict: true', async () => {
    const start = createStartHandler(deps);
    const config = {
      workflows: {
        main: { A: { node_type: 'router', description: 'notes', event_triggers: ['START'], event_emissions: [{ signal_name: 'X' }] } },
      },
    };
    const res = await start({ config, initialWorkflowName: 'main', initialSignals: ['START'] });
    expect(res).toMatchObject({
      executionId: expect.any(String),
      warnings: [{ workflow: 'main', node: 'A', field: 'description', severity: 'warning' }],
    });
    const before = (await rt.backends.context.listContexts()).length;
    const strict = await start({ config, initialWorkflowName: 'main', initialSignals: ['START'], strict: true });
    expect(strict).toMatchObject({ error: { type: 'WorkflowValidationError', message: expect.stringContaining("field 'description'") } });
    expect((await rt.backends.context.listContexts()).length).toBe(before);
  });

  it('rejects an unknown deployed workflow and a request with both config and workflowName', async () => {
    const start = createStartHandler({ ...deps, workflows: { approval: APPROVAL } });
    expect(await start({ workflowName: 'nope', initialWorkflowName: 'main', initialSignals: ['START'] })).toMatchObject({
      error: { type: 'RequestValidationError', message: expect.stringMatching(/'nope'.*deployed: approval/) },
    });
    expect(await start({ workflowName: '../etc/passwd', initialWorkflowName: 'main', initialSignals: ['START'] })).toMatchObject({
      error: { type: 'RequestValidationError' },
    });
    expect(
      await start({ workflowName: 'approval', config: APPROVAL, initialWorkflowName: 'main', initialSignals: ['START'] }),
    ).toMatchObject({
      error: { type: 'RequestValidationError', message: expect.stringContaining('not both') },
    });
  });
});

describe('signal handler', () => {
  it('sends an external signal (a human approval) to a waiting execution', async () => {
    const start = createStartHandler(deps);
    const signal = createSignalHandler(deps);
    const { executionId } = (await start({ config: APPROVAL, initialWorkflowName: 'main', initialSignals: ['START'] })) as {
      executionId: string;
    };
    await idleOf(executionId);
    expect((await rt.backends.context.getContext(executionId)).published).toBeUndefined();
    const res = await signal({ executionId, signals: ['APPROVED'] });
    expect(res).toEqual({ executionId, broadcastId: expect.any(String) });
    await idleOf(executionId);
    const ctx = await rt.backends.context.getContext(executionId);
    expect(ctx.published).toEqual(['hello!']);
    expect(ctx.__operational__?.signals).toEqual(['START', 'AWAITING_APPROVAL', 'APPROVED', 'PUBLISHED']);
  });

  it('answers an unknown execution or bad signals with an error and sends nothing', async () => {
    const signal = createSignalHandler(deps);
    const missing = randomUUID();
    expect(await signal({ executionId: missing, signals: ['APPROVED'] })).toMatchObject({
      error: { type: 'OperationalValidationError', message: expect.stringContaining(missing) },
    });
    expect(await signal({ executionId: missing, signals: [] })).toMatchObject({ error: { type: 'RequestValidationError' } });
    expect(await signal({ executionId: '', signals: ['X'] })).toMatchObject({ error: { type: 'RequestValidationError' } });
  });
});

describe('status handler', () => {
  it('reports RUNNING, then IDLE with the context and the events', async () => {
    const start = createStartHandler(deps);
    const status = createStatusHandler(deps);
    const { executionId } = (await start({ config: APPROVAL, initialWorkflowName: 'main', initialSignals: ['START'] })) as {
      executionId: string;
    };
    const first = await status({ executionId });
    expect(['RUNNING', 'IDLE']).toContain((first as { status: string }).status);
    const done = await eventually(async () => {
      const r = (await status({ executionId, includeContext: true, events: true })) as { status: string };
      return r.status === 'IDLE' && r;
    });
    expect(done).toMatchObject({ executionId, status: 'IDLE', inFlight: 0, context: { draft: [{ text: 'hello' }] } });
    // This workflow calls no model: the usage totals are there and count nothing.
    expect(done).toMatchObject({ usage: { calls: 0, input_tokens: 0, output_tokens: 0 } });
    expect((done as unknown as { events: Array<{ event_type: string }> }).events.map((e) => e.event_type)).toContain('node_execution');
  });

  it('reports FAILED with the error and the node', async () => {
    const start = createStartHandler(deps);
    const status = createStatusHandler(deps);
    const config = APPROVAL.replace('tool_name: draft', 'tool_name: missing_tool');
    const { executionId } = (await start({ config, initialWorkflowName: 'main', initialSignals: ['START'] })) as { executionId: string };
    const failed = await eventually(async () => {
      const r = (await status({ executionId })) as { status: string };
      return r.status === 'FAILED' && r;
    });
    expect(failed).toMatchObject({
      status: 'FAILED',
      failedNode: 'Draft',
      error: expect.stringContaining("'missing_tool' not found in the tools registry"),
    });
  });

  it('reports NOT_FOUND for an unknown execution', async () => {
    const status = createStatusHandler(deps);
    expect(await status({ executionId: 'no-such-execution' })).toMatchObject({
      status: 'NOT_FOUND',
      error: expect.stringContaining('no-such-execution'),
    });
  });
});
