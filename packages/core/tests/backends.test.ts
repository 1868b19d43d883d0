import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Backends, createAllNodes, createInMemoryBackends, createLocalBackends, orchestrate } from '../src/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'soe-backends-'));
  dirs.push(d);
  return d;
};

/** One suite, run against every simple backend. */
const factories: Array<[string, () => Backends]> = [
  ['memory', () => createInMemoryBackends()],
  ['file', () => createLocalBackends(tempDir())],
];

describe.each(factories)('%s context backend', (_name, make) => {
  it('appends to histories and adds to counters', async () => {
    const b = make();
    await b.context.createContext('e1', { fields: { a: [1] }, mainExecutionId: 'e1' });
    await b.context.updateContext('e1', { fields: { a: [2], b: ['x'] }, signals: ['S'], nodes: { N: 1 }, counters: { tool_calls: 2 } });
    await b.context.updateContext('e1', { nodes: { N: 1 }, counters: { tool_calls: 1, errors: 1 } });
    expect(await b.context.getContext('e1')).toEqual({
      a: [1, 2],
      b: ['x'],
      __operational__: { signals: ['S'], nodes: { N: 2 }, llm_calls: 0, tool_calls: 3, errors: 1, main_execution_id: 'e1' },
    });
  });

  it('returns {} for an unknown execution', async () => {
    expect(await make().context.getContext('nope')).toEqual({});
  });

  it('gives out copies: changing a returned context changes nothing stored', async () => {
    const b = make();
    await b.context.createContext('e1', { fields: { a: [{ n: 1 }] }, mainExecutionId: 'e1' });
    const ctx = await b.context.getContext('e1');
    (ctx.a as Array<{ n: number }>)[0]!.n = 42;
    expect((await b.context.getContext('e1')).a).toEqual([{ n: 1 }]);
  });

  it('keeps each injected node when two are added at once', async () => {
    const b = make();
    await b.workflow.saveWorkflowsRegistry('e1', { main: { A: { node_type: 'router', event_triggers: ['S'], event_emissions: [] } } });
    await Promise.all([
      b.workflow.putNode('e1', 'main', 'B', { node_type: 'router', event_triggers: ['S'], event_emissions: [] }),
      b.workflow.putNode('e1', 'main', 'C', { node_type: 'router', event_triggers: ['S'], event_emissions: [] }),
    ]);
    expect(Object.keys((await b.workflow.getWorkflowsRegistry('e1'))!.main!)).toEqual(['A', 'B', 'C']);
    expect(await b.workflow.deleteNode('e1', 'main', 'missing')).toBe(false);
  });
});

describe('file backends', () => {
  it('survive a restart: a new process on the same directory continues the execution', async () => {
    const dir = tempDir();
    const config = {
      main: {
        First: { node_type: 'router', event_triggers: ['START'], event_emissions: [{ signal_name: 'WAIT' }] },
        Second: { node_type: 'router', event_triggers: ['RESUME'], event_emissions: [{ signal_name: 'DONE' }] },
      },
    };
    const b1 = createLocalBackends(dir);
    const id = await orchestrate({
      config,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      initialContext: { q: 'x' },
      backends: b1,
      broadcastSignalsCaller: createAllNodes(b1).broadcastSignalsCaller,
    });

    const b2 = createLocalBackends(dir); // as a restarted process would
    await createAllNodes(b2).broadcastSignalsCaller(id, ['RESUME']);
    const ctx = await b2.context.getContext(id);
    expect(ctx.__operational__?.signals).toEqual(['START', 'WAIT', 'RESUME', 'DONE']);
    expect(ctx.q).toEqual(['x']);
  });

  it('leaves no temporary files behind', async () => {
    const dir = tempDir();
    const b = createLocalBackends(dir);
    await b.context.createContext('e1', { fields: {}, mainExecutionId: 'e1' });
    for (let i = 0; i < 20; i++) await b.context.updateContext('e1', { fields: { a: [i] } });
    expect(readdirSync(join(dir, 'contexts'))).toEqual(['e1.json']);
  });
});
