import { describe, expect, it } from 'vitest';
import { createEngine, createInMemoryBackends, isRetryable, ModelProviderError, orchestrate, TransientError } from '../src/index.js';

describe('one error classifier', () => {
  it.each([
    ['a TransientError', new TransientError('later')],
    ['an SDK error marked $retryable', Object.assign(new Error('x'), { name: 'SomethingElse', $retryable: { throttling: true } })],
    ['a throttling name', Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' })],
    ['an HTTP 503', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })],
    ['a network failure', Object.assign(new Error('reset'), { code: 'ECONNRESET' })],
    [
      'a throttled write wrapped by a built-in',
      new Error('could not write', { cause: Object.assign(new Error('t'), { name: 'ThrottlingException' }) }),
    ],
  ])('%s is transient', (_, err) => expect(isRetryable(err)).toBe(true));

  it.each([
    ['a plain error', new Error('bad')],
    ['an SDK validation error', Object.assign(new Error('too big'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } })],
    [
      'a permanent provider error, whatever its cause',
      new ModelProviderError('openai', 'no quota', {
        status: 429,
        cause: Object.assign(new Error(), { $metadata: { httpStatusCode: 429 } }),
      }),
    ],
    ['not an object', 'ThrottlingException'],
  ])('%s is permanent', (_, err) => expect(isRetryable(err)).toBe(false));
});

describe('tool results that are not plain data', () => {
  const config = `main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: odd\n    output_field: x\n    event_emissions: [{ signal_name: DONE }]\n`;
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  // A cycle far down, and a bad value below the depth checked quickly (both must still be found).
  const deepCycle = nested(100, {});
  innermost(deepCycle).back = deepCycle;
  it.each([
    ['a cycle', circular, 'the result.self refers to itself (a cycle)'],
    ['a cycle 100 levels down', deepCycle, `the result${'.a'.repeat(100)}.back refers to itself (a cycle)`],
    ['NaN 100 levels down', nested(100, { v: Number.NaN }), `the result${'.a'.repeat(100)}.v is NaN`],
    ['a BigInt', { n: 1n }, 'the result.n is a bigint'],
    ['a Map', new Map([['a', 1]]), 'the result is a Map'],
    ['NaN', { score: Number.NaN }, 'the result.score is NaN'],
  ])('%s fails the node with one clear error naming the tool', async (_, value, words) => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { odd: () => value } });
    await expect(
      orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }),
    ).rejects.toThrow(`tool 'odd' returned a value that cannot be stored: ${words}`);
  });
});

/** `leaf` wrapped in `levels` records, each holding the next as `a`. */
function nested(levels: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

function innermost(v: Record<string, unknown>): Record<string, unknown> {
  while (v.a) v = v.a as Record<string, unknown>;
  return v;
}

describe('tool results that are plain data', () => {
  it('stores a value nested 200 levels deep', async () => {
    const config = `main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: deep\n    output_field: x\n`;
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { deep: () => nested(200, { v: 1 }) } });
    const id = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    expect(innermost((await backends.context.getContext(id)).x![0] as Record<string, unknown>)).toEqual({ v: 1 });
  });

  it('stores an object that appears twice without a cycle', async () => {
    const config = `main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: twice\n    output_field: x\n`;
    const shared = { n: [1, 2] };
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { twice: () => ({ a: shared, b: [shared, 0.5] }) } });
    const id = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
    expect((await backends.context.getContext(id)).x).toEqual([{ a: shared, b: [shared, 0.5] }]);
  });
});

describe('tool names', () => {
  it('a tool node naming a tool the registry lacks gets a did-you-mean', async () => {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createEngine(backends, { toolsRegistry: { search: () => 1 } });
    const config = 'main:\n  W:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: serch\n';
    await expect(
      orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller }),
    ).rejects.toThrow(/tool 'serch' not found in the tools registry \(registered: .*search.*\); did you mean 'search'\?/);
  });
});
