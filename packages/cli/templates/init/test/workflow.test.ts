/** The workflow, run as users will run it: in process, and on the local AWS runtime (the Lambda handlers on DynamoDB + SQS emulators). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createLocalRuntime } from '@soe/aws/local';
import { createScriptedLlm, orchestrate, setupOrchestration } from '@soe/core';
import { toolsRegistry } from '../src/tools.ts';

const config = readFileSync(new URL('../workflows/hello.yaml', import.meta.url), 'utf8');
const model = () => createScriptedLlm(readFileSync(new URL('../models/scripted-model.yaml', import.meta.url), 'utf8')).callLlm;
const start = { config, initialWorkflowName: 'main', initialSignals: ['START'], initialContext: { name: 'Ada' } };

/** The latest value of a context field (every field keeps its history). */
const latest = (value: unknown) => (Array.isArray(value) ? value.at(-1) : value);

test('hello welcomes Ada, in process', async () => {
  const { backends, broadcastSignalsCaller } = setupOrchestration({ callLlm: model(), toolsRegistry });
  const id = await orchestrate({ ...start, backends, broadcastSignalsCaller });
  const context = await backends.context.getContext(id);
  assert.equal(latest(context.greeting), 'Hello, Ada');
  assert.equal(latest(context.welcome), 'Hello, Ada! Welcome aboard.');
});

test('hello welcomes Ada on the local AWS runtime', async () => {
  const runtime = await createLocalRuntime({ callLlm: model(), toolsRegistry });
  try {
    const id = await orchestrate({ ...start, backends: runtime.backends, broadcastSignalsCaller: runtime.broadcastSignalsCaller });
    assert.deepEqual(await runtime.waitForIdle(id, 60_000), { status: 'idle' });
    const context = await runtime.backends.context.getContext(id);
    assert.equal(latest(context.welcome), 'Hello, Ada! Welcome aboard.');
  } finally {
    await runtime.close();
  }
});
