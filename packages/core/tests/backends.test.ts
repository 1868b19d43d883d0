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

describe.each(factories)('%s backends, per execution', (_name, make) => {
  it("keep an execution's context, registry, current workflow and telemetry apart, and list them in order", async () => {
    const b = make();
    for (const id of ['e2', 'e1', 'e3']) {
      await b.workflow.saveWorkflowsRegistry(id, { main: {} });
      await b.workflow.saveCurrentWorkflowName(id, `wf-${id}`);
      await b.context.createContext(id, { fields: { who: [id] }, mainExecutionId: id });
      await b.telemetry!.logEvent(id, 'custom', { who: id });
    }
    // Telemetry of an execution that has nothing else.
    await b.telemetry!.logEvent('lonely', 'custom', {});
    expect(await b.context.listContexts!()).toEqual(expect.arrayContaining(['e1', 'e2', 'e3']));
    expect(await b.context.listContexts!()).toHaveLength(3);
    for (const id of ['e1', 'e2', 'e3']) {
      expect((await b.context.getContext(id)).who).toEqual([id]);
      expect(await b.workflow.getCurrentWorkflowName(id)).toBe(`wf-${id}`);
      expect(await b.telemetry!.getEvents(id)).toMatchObject([{ event_type: 'custom', who: id }]);
    }
    expect(await b.telemetry!.getEvents('lonely')).toHaveLength(1);
    expect(await b.workflow.getWorkflowsRegistry('lonely')).toBeNull();
    expect(await b.context.getContext('lonely')).toEqual({});
    await (b as Backends & { cleanupAll(): Promise<void> }).cleanupAll();
    expect(await b.context.listContexts!()).toEqual([]);
    expect(await b.telemetry!.getEvents('e1')).toEqual([]);
    expect(await b.workflow.getCurrentWorkflowName('e1')).toBeNull();
  });

  it('give every event its own time, whenever it happened', async () => {
    const b = make();
    const times = [0, Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.now(), Date.UTC(2100, 0, 1)];
    for (const at of times)
      (b.telemetry as unknown as { record: (...a: unknown[]) => void }).record('e1', 'tick', at, undefined, -1, { at });
    expect((await b.telemetry!.getEvents('e1')).map((e) => e.timestamp)).toEqual(times.map((t) => new Date(t).toISOString()));
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
