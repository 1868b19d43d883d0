/**
 * One backend suite, run against the in-memory backends of @soe/core and the DynamoDB backends on
 * dynalite: both must store and return the same things.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Backends, createInMemoryBackends } from '@soe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoBackends, type LocalEmulators, startLocalEmulators } from '../src/index.js';
import './helpers.js';

let emulators: LocalEmulators;
beforeAll(async () => {
  emulators = await startLocalEmulators();
});
afterAll(async () => {
  await emulators?.close();
});

const factories: Array<[string, () => Backends]> = [
  ['memory', () => createInMemoryBackends()],
  ['dynamodb', () => createDynamoBackends({ client: emulators.dynamo, tableName: emulators.tableName })],
];
const newId = () => randomUUID();

describe.each(factories)('%s context backend', (_name, make) => {
  it('appends to histories, adds to counters and appends signals, in order', async () => {
    const b = make();
    const id = newId();
    await b.context.createContext(id, { fields: { a: [1] }, mainExecutionId: id });
    await b.context.updateContext(id, { fields: { a: [2], b: ['x'] }, signals: ['S'], nodes: { N: 1 }, counters: { tool_calls: 2 } });
    await b.context.updateContext(id, {
      fields: { a: [3] },
      signals: ['T'],
      nodes: { N: 1, M: 1 },
      counters: { tool_calls: 1, errors: 1, llm_calls: 4 },
    });
    expect(await b.context.getContext(id)).toEqual({
      a: [1, 2, 3],
      b: ['x'],
      __operational__: { signals: ['S', 'T'], nodes: { N: 2, M: 1 }, llm_calls: 4, tool_calls: 3, errors: 1, main_execution_id: id },
    });
  });

  it('has exactly the API shape for a child: __parent__ beside __operational__', async () => {
    const b = make();
    const id = newId();
    const parent = { parent_execution_id: 'p', main_execution_id: 'm', signals_to_parent: ['DONE'], context_updates_to_parent: ['r'] };
    await b.context.createContext(id, { fields: {}, mainExecutionId: 'm', parent });
    expect(await b.context.getContext(id)).toEqual({
      __operational__: { signals: [], nodes: {}, llm_calls: 0, tool_calls: 0, errors: 0, main_execution_id: 'm' },
      __parent__: parent,
    });
  });

  it('returns {} for an unknown execution and rejects an update of one', async () => {
    const b = make();
    expect(await b.context.getContext(newId())).toEqual({});
    await expect(b.context.updateContext(newId(), { fields: { a: [1] } })).rejects.toThrow(/no context/);
  });

  it('keeps values as JSON: nested objects, unicode, numbers, null, empty strings and lists', async () => {
    const b = make();
    const id = newId();
    const value = {
      text: 'héllo ✓ 𝄞',
      n: 1.5,
      big: 2 ** 52,
      neg: -3,
      nil: null,
      empty: '',
      list: [],
      obj: {},
      deep: { a: [{ b: [{ c: 'd' }] }] },
    };
    await b.context.createContext(id, { fields: {}, mainExecutionId: id });
    await b.context.updateContext(id, { fields: { v: [value, '', 0, false] } });
    expect((await b.context.getContext(id)).v).toEqual([value, '', 0, false]);
  });

  it('gives out copies: changing a returned context changes nothing stored', async () => {
    const b = make();
    const id = newId();
    await b.context.createContext(id, { fields: { a: [{ x: 1 }] }, mainExecutionId: id });
    const ctx = await b.context.getContext(id);
    (ctx.a as Array<{ x: number }>)[0]!.x = 99;
    (ctx.__operational__!.signals as string[]).push('NOPE');
    expect(await b.context.getContext(id)).toMatchObject({ a: [{ x: 1 }], __operational__: { signals: [] } });
  });

  it('loses nothing under 50 concurrent updates of one execution', async () => {
    const b = make();
    const id = newId();
    await b.context.createContext(id, { fields: {}, mainExecutionId: id });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        b.context.updateContext(id, { fields: { hits: [i] }, nodes: { Worker: 1 }, counters: { tool_calls: 1 }, signals: [`S${i}`] }),
      ),
    );
    const ctx = await b.context.getContext(id);
    expect([...(ctx.hits as number[])].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ctx.__operational__).toMatchObject({ nodes: { Worker: 50 }, tool_calls: 50 });
    expect(ctx.__operational__!.signals).toHaveLength(50);
  });

  it('stores a 5 MB initial context and 1 MB appends (more than one DynamoDB item holds)', async () => {
    const b = make();
    const id = newId();
    const big = randomBytes(3_800_000).toString('base64');
    const append = randomBytes(800_000).toString('base64');
    await b.context.createContext(id, { fields: { big: [big] }, mainExecutionId: id });
    await b.context.updateContext(id, { fields: { big: [append] } });
    const ctx = await b.context.getContext(id);
    expect(ctx.big).toHaveLength(2);
    expect((ctx.big as string[])[0]).toBe(big);
    expect((ctx.big as string[])[1]).toBe(append);
  });

  it('lists stored executions', async () => {
    const b = make();
    const id = newId();
    await b.context.createContext(id, { fields: {}, mainExecutionId: id });
    expect(await b.context.listContexts!()).toContain(id);
  });
});

describe.each(factories)('%s workflow backend', (_name, make) => {
  const wf = {
    First: { node_type: 'router' as const, event_triggers: ['START'], event_emissions: [{ signal_name: 'A' }] },
    Second: { node_type: 'router' as const, event_triggers: ['A'] },
  };

  it('stores a registry and the current workflow name, keeping node order', async () => {
    const b = make();
    const id = newId();
    expect(await b.workflow.getWorkflowsRegistry(id)).toBeNull();
    expect(await b.workflow.getCurrentWorkflowName(id)).toBeNull();
    await b.workflow.saveWorkflowsRegistry(id, { main: wf, other: { Only: { node_type: 'router', event_triggers: ['X'] } } });
    await b.workflow.saveCurrentWorkflowName(id, 'main');
    const reg = await b.workflow.getWorkflowsRegistry(id);
    expect(reg).toEqual({ main: wf, other: { Only: { node_type: 'router', event_triggers: ['X'] } } });
    expect(Object.keys(reg!.main!)).toEqual(['First', 'Second']);
    expect(await b.workflow.getCurrentWorkflowName(id)).toBe('main');
  });

  it('replaces the registry on save (dropping workflows no longer in it)', async () => {
    const b = make();
    const id = newId();
    await b.workflow.saveWorkflowsRegistry(id, { main: wf, old: wf });
    await b.workflow.saveWorkflowsRegistry(id, { main: wf });
    expect(Object.keys((await b.workflow.getWorkflowsRegistry(id))!)).toEqual(['main']);
  });

  it('puts and deletes single nodes and workflows', async () => {
    const b = make();
    const id = newId();
    await b.workflow.saveWorkflowsRegistry(id, { main: wf });
    await b.workflow.putNode(id, 'main', 'Third', { node_type: 'router', event_triggers: ['B'] });
    await b.workflow.putNode(id, 'main', 'First', { node_type: 'router', event_triggers: ['START2'] });
    await b.workflow.putNode(id, 'fresh', 'Solo', { node_type: 'router', event_triggers: ['Z'] });
    let reg = (await b.workflow.getWorkflowsRegistry(id))!;
    expect(Object.keys(reg.main!)).toEqual(['First', 'Second', 'Third']);
    expect(reg.main!.First!.event_triggers).toEqual(['START2']);
    expect(reg.fresh).toEqual({ Solo: { node_type: 'router', event_triggers: ['Z'] } });
    expect(await b.workflow.deleteNode(id, 'main', 'Second')).toBe(true);
    expect(await b.workflow.deleteNode(id, 'main', 'Second')).toBe(false);
    expect(await b.workflow.deleteWorkflow(id, 'fresh')).toBe(true);
    expect(await b.workflow.deleteWorkflow(id, 'fresh')).toBe(false);
    await b.workflow.putWorkflow(id, 'added', wf);
    reg = (await b.workflow.getWorkflowsRegistry(id))!;
    expect(Object.keys(reg.main!)).toEqual(['First', 'Third']);
    expect(Object.keys(reg).sort()).toEqual(['added', 'main']);
  });

  it('keeps both of two concurrent node injections', async () => {
    const b = make();
    const id = newId();
    await b.workflow.saveWorkflowsRegistry(id, { main: wf });
    await Promise.all(['N1', 'N2', 'N3', 'N4'].map((n) => b.workflow.putNode(id, 'main', n, { node_type: 'router', event_triggers: [n] })));
    expect(Object.keys((await b.workflow.getWorkflowsRegistry(id))!.main!).sort()).toEqual(['First', 'N1', 'N2', 'N3', 'N4', 'Second']);
  });
});

describe.each(factories)('%s identity, schema and history backends', (_name, make) => {
  it('stores identities and changes one at a time', async () => {
    const b = make();
    const id = newId();
    expect(await b.identity!.getIdentities(id)).toBeNull();
    await b.identity!.saveIdentities(id, { helper: 'You help.', critic: 'You criticise.' });
    await b.identity!.putIdentity(id, 'poet', 'You rhyme.');
    expect(await b.identity!.getIdentity(id, 'poet')).toBe('You rhyme.');
    expect(await b.identity!.getIdentity(id, 'nobody')).toBeNull();
    expect(await b.identity!.deleteIdentity(id, 'critic')).toBe(true);
    expect(await b.identity!.deleteIdentity(id, 'critic')).toBe(false);
    expect(await b.identity!.getIdentities(id)).toEqual({ helper: 'You help.', poet: 'You rhyme.' });
    expect(await b.identity!.deleteIdentities(id)).toBe(true);
    expect(await b.identity!.getIdentities(id)).toBeNull();
    await b.identity!.putIdentity(id, 'late', 'Created by a put.');
    expect(await b.identity!.getIdentities(id)).toEqual({ late: 'Created by a put.' });
  });

  it('stores a context schema and changes one field at a time', async () => {
    const b = make();
    const id = newId();
    expect(await b.contextSchema!.getContextSchema(id)).toBeNull();
    await b.contextSchema!.saveContextSchema(id, { score: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } });
    await b.contextSchema!.putContextSchemaField(id, 'name', { type: 'string' });
    expect(await b.contextSchema!.deleteContextSchemaField(id, 'score')).toBe(true);
    expect(await b.contextSchema!.deleteContextSchemaField(id, 'score')).toBe(false);
    expect(await b.contextSchema!.getContextSchema(id)).toEqual({
      tags: { type: 'array', items: { type: 'string' } },
      name: { type: 'string' },
    });
    expect(await b.contextSchema!.deleteContextSchema(id)).toBe(true);
    expect(await b.contextSchema!.getContextSchema(id)).toBeNull();
  });

  it('appends, replaces and deletes a conversation history, oldest first', async () => {
    const b = make();
    const key = newId();
    expect(await b.conversationHistory!.getConversationHistory(key)).toEqual([]);
    for (let i = 0; i < 5; i++)
      await b.conversationHistory!.appendToConversationHistory(key, { role: i % 2 ? 'assistant' : 'user', content: `m${i}` });
    expect((await b.conversationHistory!.getConversationHistory(key)).map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await b.conversationHistory!.saveConversationHistory(key, [{ role: 'user', content: 'only' }]);
    expect(await b.conversationHistory!.getConversationHistory(key)).toEqual([{ role: 'user', content: 'only' }]);
    await b.conversationHistory!.deleteConversationHistory(key);
    expect(await b.conversationHistory!.getConversationHistory(key)).toEqual([]);
  });

  it('logs telemetry events and returns them oldest first', async () => {
    const b = make();
    const id = newId();
    await b.telemetry!.logEvent(id, 'node_execution', { node_name: 'A' });
    await b.telemetry!.logEvent(id, 'tool_call', { tool_name: 't' });
    const events = await b.telemetry!.getEvents!(id);
    expect(events.map((e) => e.event_type)).toEqual(['node_execution', 'tool_call']);
    expect(events[0]).toMatchObject({ node_name: 'A', timestamp: expect.any(String) });
  });
});
