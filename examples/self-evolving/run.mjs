#!/usr/bin/env node
// Runs the self-evolving example offline: a scripted model designs a node, soe_inject_node adds it to
// the running workflow, and the RUN_NEW_NODE signal runs it; a refused design goes back to the designer. Build first: `npm run build` at the root.
import { readFileSync } from 'node:fs';
import * as soe from '../../packages/core/dist/index.js';

const file = (name) => readFileSync(new URL(name, import.meta.url), 'utf8');

/** The soe_* built-ins: the engine's defaults once it registers them, else straight from the build. */
async function builtinTools() {
  const defaults = soe.defaultBuiltins();
  if (Object.keys(defaults).length) return defaults;
  return (await import('../../packages/core/dist/builtins/index.js')).createBuiltinTools();
}

const { callLlm, prompts } = soe.createScriptedLlm(JSON.parse(file('model.json')));
const builtins = await builtinTools();
const toolsRegistry = {
  // A refused design fails the Inject node; this failure signal routes it back to the designer.
  // A copy of a built-in's entry stays that built-in.
  soe_inject_node: { ...builtins.soe_inject_node, failureSignal: 'INJECTION_REFUSED' },
  count_words: {
    fn: ({ text }) => String(text).split(/\s+/).filter(Boolean).length,
    description: 'Counts the words of a text.',
    parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  },
};

const backends = soe.createInMemoryBackends();
const { broadcastSignalsCaller } = soe.createEngine(backends, { callLlm, toolsRegistry, builtinTools: builtins });
const id = await soe.orchestrate({
  config: file('workflow.yaml'),
  initialWorkflowName: 'main',
  initialSignals: ['START'],
  initialContext: { task: 'count the words of context.text', text: 'signals wake nodes and nodes emit signals' },
  backends,
  broadcastSignalsCaller,
});

const context = await backends.context.getContext(id);
const registry = await backends.workflow.getWorkflowsRegistry(id);
const changes = (await backends.telemetry.getEvents(id)).filter((e) => e.event_type === 'registry_change');

console.log('signals:      ', context.__operational__.signals.join(' → '));
for (const [i, attempt] of context.injection.entries()) {
  console.log(`injection ${i + 1}:  `, typeof attempt === 'string' ? `refused: ${attempt}` : `injected ${attempt.node_name}`);
}
console.log('nodes now:    ', Object.keys(registry.main).join(', '));
console.log('word_count:   ', context.word_count?.at(-1));
console.log('errors:       ', context.__operational__.errors, '(the refused injection)');
console.log('model calls:  ', prompts.length, '| second design saw the error:', String(prompts[1]?.includes('was rejected')));
console.log('registry changes logged:', changes.map((e) => `${e.tool} ${e.node_name} (${e.action})`).join(', '));

if (context.word_count?.at(-1) !== 7) {
  console.error('unexpected result: the injected node did not run');
  process.exit(1);
}
