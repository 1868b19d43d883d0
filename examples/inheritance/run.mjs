#!/usr/bin/env node
// Inheritance, offline: phase 2 starts with no config of its own. It inherits phase 1's workflows,
// identities and schema (inheritConfigFromId) and its context (inheritContextFromId, with
// __operational__ reset), then runs another workflow of the inherited config. Build first: `npm run build`.
import { readFileSync } from 'node:fs';
import { createAllNodes, createLocalBackends, createScriptedLlm, orchestrate } from '../../packages/core/dist/index.js';

const file = (name) => readFileSync(new URL(name, import.meta.url), 'utf8');
const dir = process.argv[2] ?? '.soe-data/inheritance';
const backends = createLocalBackends(dir); // files: phase 2 could run in another process, days later
const { callLlm } = createScriptedLlm(file('model.yaml'));
const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });

const phase1 = await orchestrate({
  config: file('workflow.yaml'),
  initialWorkflowName: 'research',
  initialSignals: ['START'],
  initialContext: { topic: 'the heat pump market' },
  backends,
  broadcastSignalsCaller,
});
const phase2 = await orchestrate({
  initialWorkflowName: 'review',
  initialSignals: ['START'],
  inheritConfigFromId: phase1,
  inheritContextFromId: phase1,
  backends,
  broadcastSignalsCaller,
});

const c1 = await backends.context.getContext(phase1);
const c2 = await backends.context.getContext(phase2);
console.log(`phase 1 ${phase1}: ${c1.__operational__.signals.join(' → ')}`);
console.log(`phase 2 ${phase2}: ${c2.__operational__.signals.join(' → ')}`);
console.log('phase 2 inherited draft:', JSON.stringify(c2.draft.at(-1)));
console.log('phase 2 review:         ', JSON.stringify(c2.review.at(-1)));
console.log('phase 2 node runs:      ', JSON.stringify(c2.__operational__.nodes), '(phase 1 runs not carried over)');
if (!c2.__operational__.signals.includes('APPROVED') || c2.__operational__.nodes.Draft) {
  console.error('unexpected result');
  process.exit(1);
}
