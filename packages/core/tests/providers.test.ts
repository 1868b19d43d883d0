/**
 * Model providers: the OpenAI-compatible caller against a local chat-completions server, the retry
 * policy, provider specs, and usage totals. Every request goes to 127.0.0.1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  type CallLlm,
  createAllNodes,
  createInMemoryBackends,
  createModelProvider,
  createOpenAiCaller,
  isPermanentModelError,
  type LlmAnswer,
  ModelProviderError,
  type OpenAiCallerOptions,
  orchestrate,
  parseModelProviderSpec,
  parseRetryAfterMs,
  type RetryPolicy,
  splitSystemPrompt,
  summarizeUsage,
  type TelemetryEvent,
  TransientError,
  withRetries,
} from '../src/index.js';
import { chatCompletion, type FakeServer, startFakeServer } from './providers-fake-server.js';

/** Small, fast retries for tests: no test waits more than a few ms between attempts. */
const FAST: RetryPolicy = { maxAttempts: 4, timeoutMs: 2_000, baseDelayMs: 1, maxDelayMs: 5 };
const ENV = {}; // never read the machine's OPENAI_* variables

let server: FakeServer;
beforeAll(async () => {
  server = await startFakeServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.requests.length = 0;
});

function caller(opts: OpenAiCallerOptions = {}): CallLlm {
  return createOpenAiCaller({ baseUrl: `${server.url}/v1`, model: 'test-model', apiKey: 'sk-test', retry: FAST, env: ENV, ...opts });
}

async function call(c: CallLlm, prompt = 'Answer in JSON.', nodeConfig: Record<string, unknown> = { node_name: 'N' }): Promise<LlmAnswer> {
  return (await c(prompt, nodeConfig)) as LlmAnswer;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('OpenAI-compatible caller: requests and answers', () => {
  it('posts to <baseUrl>/chat/completions with the key and returns text, usage and model', async () => {
    server.reply({ body: chatCompletion('{"output": "hi"}', { prompt_tokens: 21, completion_tokens: 4 }, 'test-model-2024') });
    const answer = await call(caller());
    expect(answer).toEqual({ text: '{"output": "hi"}', model: 'test-model-2024', usage: { input_tokens: 21, output_tokens: 4 } });
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe('Bearer sk-test');
    expect(req?.body.model).toBe('test-model');
    expect(req?.body.messages).toEqual([{ role: 'user', content: 'Answer in JSON.' }]);
  });

  it('asks for a JSON object when the prompt mentions JSON', async () => {
    server.reply({ body: chatCompletion('{}') });
    await call(caller(), 'Answer with one JSON object.');
    await call(caller(), 'Say hello.');
    expect(server.requests[0]?.body.response_format).toEqual({ type: 'json_object' });
    expect(server.requests[1]?.body.response_format).toBeUndefined();
  });

  it("uses the node's model, temperature and max_tokens over the defaults", async () => {
    server.reply({ body: chatCompletion('{}') });
    await call(caller({ temperature: 0.9, maxTokens: 100 }), 'JSON', {
      node_name: 'N',
      model: 'node-model',
      temperature: 0,
      max_tokens: 7,
    });
    await call(caller({ temperature: 0.9, maxTokens: 100 }), 'JSON', { node_name: 'N' });
    expect(server.requests[0]?.body).toMatchObject({ model: 'node-model', temperature: 0, max_tokens: 7 });
    expect(server.requests[1]?.body).toMatchObject({ model: 'test-model', temperature: 0.9, max_tokens: 100 });
  });

  it('can send the length limit as max_completion_tokens', async () => {
    server.reply({ body: chatCompletion('{}') });
    await call(caller({ maxTokensField: 'max_completion_tokens' }), 'JSON', { node_name: 'N', max_tokens: 9 });
    expect(server.requests[0]?.body.max_completion_tokens).toBe(9);
    expect(server.requests[0]?.body.max_tokens).toBeUndefined();
  });

  it('sends the identity as a system message and strips the System: prefix from the user message', async () => {
    server.reply({ body: chatCompletion('{}') });
    await call(caller(), 'System: You are terse.\n\n{"prompt": "hi"}', { node_name: 'N', system_prompt: 'You are terse.' });
    expect(server.requests[0]?.body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: '{"prompt": "hi"}' },
    ]);
  });

  it('reads base URL, model and key from OPENAI_* when no option gives them', async () => {
    server.reply({ body: chatCompletion('{}') });
    const c = createOpenAiCaller({
      retry: FAST,
      env: { OPENAI_BASE_URL: `${server.url}/v1/`, OPENAI_MODEL: 'env-model', OPENAI_API_KEY: 'sk-env' },
    });
    await call(c);
    expect(server.requests[0]?.url).toBe('/v1/chat/completions');
    expect(server.requests[0]?.body.model).toBe('env-model');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-env');
  });

  it('takes the key from getApiKey on every call (a secret store can rotate it)', async () => {
    server.reply({ body: chatCompletion('{}') });
    let n = 0;
    const c = caller({ apiKey: undefined, getApiKey: async () => `sk-${++n}` });
    await call(c);
    await call(c);
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-1', 'Bearer sk-2']);
  });

  it('sends no Authorization header without a key (local servers)', async () => {
    server.reply({ body: chatCompletion('{}') });
    await call(caller({ apiKey: undefined }));
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('returns an empty text when the content is null, so the engine asks again', async () => {
    server.reply({ body: { model: 'm', choices: [{ message: { role: 'assistant', content: null }, finish_reason: 'length' }] } });
    expect((await call(caller())).text).toBe('');
  });

  it('drops response_format for good when the server does not support it', async () => {
    server.reply(
      { status: 400, body: { error: { message: 'Unrecognized request argument supplied: response_format' } } },
      { body: chatCompletion('{"output": 1}') },
    );
    const c = caller();
    expect((await call(c)).text).toBe('{"output": 1}');
    await call(c);
    expect(server.requests.map((r) => r.body.response_format)).toEqual([{ type: 'json_object' }, undefined, undefined]);
  });

  it('fails with a ModelProviderError when no model is named anywhere', async () => {
    const err = await rejection(call(caller({ model: undefined }), 'x', { node_name: 'Writer' }));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(/no model for node 'Writer'.*OPENAI_MODEL/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('OpenAI-compatible caller: retries, timeouts, permanent errors', () => {
  it('retries a 429 and succeeds', async () => {
    server.reply(
      { status: 429, headers: { 'retry-after-ms': '1' }, body: { error: { message: 'Rate limit reached' } } },
      { body: chatCompletion('{"a": 1}') },
    );
    const answer = await call(caller());
    expect(answer.text).toBe('{"a": 1}');
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 500 and succeeds', async () => {
    server.reply(
      { status: 500, body: { error: { message: 'internal' } } },
      { status: 503, body: 'upstream down' },
      { body: chatCompletion('{"b": 2}') },
    );
    expect((await call(caller())).text).toBe('{"b": 2}');
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after maxAttempts with a TransientError that the runtime retries', async () => {
    server.reply({ status: 429, body: { error: { message: 'Rate limit reached for requests' } } });
    const err = await rejection(call(caller()));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).retryable).toBe(true);
    expect(err.message).toMatch(
      /openai: model 'test-model' at http:\/\/127\.0\.0\.1:\d+\/v1 failed 4 times; last error: HTTP 429: Rate limit reached/,
    );
    expect(server.requests).toHaveLength(4);
  });

  it('times out an attempt that does not answer, then retries', async () => {
    server.reply('hang', { body: chatCompletion('{"late": false}') });
    const answer = await call(caller({ retry: { ...FAST, timeoutMs: 100 } }));
    expect(answer.text).toBe('{"late": false}');
    expect(server.requests).toHaveLength(2);
  });

  it('throws a TransientError naming the timeout when every attempt times out', async () => {
    server.reply('hang');
    const err = await rejection(call(caller({ retry: { ...FAST, maxAttempts: 2, timeoutMs: 50 } })));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/failed 2 times; last error: no answer within 50 ms/);
  });

  it('retries network failures (connection refused) and says it could not reach the server', async () => {
    const gone = await startFakeServer();
    const url = gone.url;
    await gone.close();
    const c = createOpenAiCaller({ baseUrl: url, model: 'm', retry: { ...FAST, maxAttempts: 2 }, env: ENV });
    const err = await rejection(call(c));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/failed 2 times; last error: cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  it.each([401, 403])('treats HTTP %i as a rejected key: permanent, no retry, the message says what to check', async (status) => {
    server.reply({ status, body: { error: { message: 'Incorrect API key provided: sk-test', code: 'invalid_api_key' } } });
    const err = await rejection(call(caller()));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.name).toBe('ModelProviderError');
    expect((err as ModelProviderError).status).toBe(status);
    expect((err as ModelProviderError).retryable).toBe(false);
    expect(isPermanentModelError(err)).toBe(true);
    expect(err.message).toContain(`the API key was rejected by ${server.url}/v1 (HTTP ${status}: Incorrect API key provided: sk-test)`);
    expect(err.message).toContain('check OPENAI_API_KEY');
    expect(server.requests).toHaveLength(1);
  });

  it('says no key was sent when a 401 comes without one', async () => {
    server.reply({ status: 401, body: { error: { message: 'Missing bearer' } } });
    const err = await rejection(call(caller({ apiKey: undefined })));
    expect(err.message).toMatch(/no API key was sent: set OPENAI_API_KEY/);
  });

  it('names the model and the base URL on a 404', async () => {
    server.reply({ status: 404, body: { error: { message: 'The model `gpt-9` does not exist', code: 'model_not_found' } } });
    const err = await rejection(call(caller(), 'JSON', { node_name: 'N', model: 'gpt-9' }));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toContain(`unknown model 'gpt-9' at ${server.url}/v1 (HTTP 404: The model \`gpt-9\` does not exist)`);
    expect(server.requests).toHaveLength(1);
  });

  it("passes the provider's words on for a 400", async () => {
    server.reply({ status: 400, body: { error: { message: "Invalid value for 'temperature': must be <= 2" } } });
    const err = await rejection(call(caller(), 'JSON', { node_name: 'N', temperature: 5 }));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(/rejected the request for model 'test-model' \(HTTP 400: Invalid value for 'temperature': must be <= 2\)/);
    expect(server.requests).toHaveLength(1);
  });

  it('treats a 429 with insufficient_quota as permanent (no quota left is not throttling)', async () => {
    server.reply({ status: 429, body: { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } } });
    const err = await rejection(call(caller()));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(/no quota left/);
    expect(server.requests).toHaveLength(1);
  });
});

describe('OpenAI-compatible caller inside the engine', () => {
  const config = (extra = '') => `
workflows:
  main:
    Summarize:
      node_type: llm
      event_triggers: [START]
      prompt: "Summarize: {{ context.text }}"
      identity: analyst
      output_field: summary
      model: node-model
      temperature: 0.2
      max_tokens: 64
${extra}
      event_emissions:
        - signal_name: DONE
identities:
  analyst: "You are a careful analyst."
`;

  async function run(callLlm: CallLlm, extra = '') {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });
    let error: Error | undefined;
    let id = '';
    try {
      id = await orchestrate({
        config: config(extra),
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { text: 'a long text' },
        backends,
        broadcastSignalsCaller,
      });
    } catch (e) {
      error = e as Error;
    }
    const ids = await backends.context.listContexts?.();
    const execId = id || ids?.[0] || '';
    const events = (await backends.telemetry.getEvents(execId)) as TelemetryEvent[];
    return { context: await backends.context.getContext(execId), events, error };
  }

  it('runs an llm node end to end: a fenced JSON answer is parsed, tokens land in telemetry', async () => {
    server.reply({ body: chatCompletion('Sure!\n```json\n{"summary": "short"}\n```', { prompt_tokens: 120, completion_tokens: 9 }) });
    const { context, events, error } = await run(caller());
    expect(error).toBeUndefined();
    expect(context.summary).toEqual(['short']);
    expect(context.__operational__?.signals).toContain('DONE');
    const req = server.requests[0]!;
    expect(req.body).toMatchObject({ model: 'node-model', temperature: 0.2, max_tokens: 64, response_format: { type: 'json_object' } });
    const messages = req.body.messages as { role: string; content: string }[];
    expect(messages[0]).toEqual({ role: 'system', content: 'You are a careful analyst.' });
    expect(messages[1]?.role).toBe('user');
    expect(messages[1]?.content.startsWith('{')).toBe(true);
    expect(messages[1]?.content).toContain('Summarize: a long text');
    expect(messages[1]?.content).not.toContain('System:');
    const llmCalls = events.filter((e) => e.event_type === 'llm_call');
    expect(llmCalls).toHaveLength(1);
    expect(llmCalls[0]).toMatchObject({ node_name: 'Summarize', ok: true, input_tokens: 120, output_tokens: 9, model: 'test-model' });
    expect(typeof llmCalls[0]?.latency_ms).toBe('number');
    expect(summarizeUsage(events)).toMatchObject({ calls: 1, failed_calls: 0, input_tokens: 120, output_tokens: 9 });
  });

  it('counts tokens of every attempt when an answer is sent back', async () => {
    server.reply(
      { body: chatCompletion('not json at all', { prompt_tokens: 100, completion_tokens: 3 }) },
      { body: chatCompletion('{"summary": "ok"}', { prompt_tokens: 150, completion_tokens: 5 }) },
    );
    const { context, events } = await run(caller());
    expect(context.summary).toEqual(['ok']);
    expect(summarizeUsage(events)).toMatchObject({ calls: 2, input_tokens: 250, output_tokens: 8 });
    expect(String((server.requests[1]!.body.messages as { content: string }[])[1]?.content)).toContain('Your previous answer was rejected');
  });

  it('fails the node at once on a rejected key: one request, despite retries: 3', async () => {
    server.reply({ status: 401, body: { error: { message: 'Incorrect API key provided' } } });
    const { error, context } = await run(caller());
    expect(error?.name).toBe('NodeExecutionError');
    expect(error?.message).toMatch(/node 'Summarize' failed: openai: the API key was rejected .*check OPENAI_API_KEY/);
    expect(server.requests).toHaveLength(1);
    expect(context.__operational__?.llm_calls).toBe(1);
  });

  it('takes llm_failure_signal on a rejected key instead of failing', async () => {
    server.reply({ status: 403, body: { error: { message: 'forbidden' } } });
    const { error, context } = await run(caller(), '      llm_failure_signal: MODEL_DOWN');
    expect(error).toBeUndefined();
    expect(context.__operational__?.signals).toContain('MODEL_DOWN');
    expect(server.requests).toHaveLength(1);
  });
});

describe('retry policy', () => {
  it('draws full jitter below an exponential cap, bounded by maxDelayMs', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelayMs(3, { ...policy, random: () => 0 })).toBe(0);
  });

  it('waits at least Retry-After, still capped by maxDelayMs', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000, random: () => 0 };
    expect(backoffDelayMs(1, policy, 600)).toBe(600);
    expect(backoffDelayMs(1, policy, 60_000)).toBe(1_000);
  });

  it('reads Retry-After in seconds, as a date, and retry-after-ms', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(parseRetryAfterMs(h({ 'retry-after': '2' }))).toBe(2_000);
    expect(parseRetryAfterMs(h({ 'retry-after-ms': '250' }))).toBe(250);
    expect(parseRetryAfterMs(h({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6_000);
    expect(parseRetryAfterMs(h({}))).toBeUndefined();
  });

  it('throws a permanent failure at once and reports retries before a success', async () => {
    const delays: number[] = [];
    let n = 0;
    const ok = await withRetries({
      provider: 'p',
      target: 't',
      policy: { ...FAST, random: () => 0.5, baseDelayMs: 4, maxDelayMs: 100 },
      classify: () => ({ retryable: true }),
      onRetry: (i) => delays.push(i.delayMs),
      attempt: async () => {
        if (++n < 3) throw new Error('flaky');
        return 'done';
      },
    });
    expect(ok).toBe('done');
    expect(delays).toEqual([2, 4]);
    const permanent = new ModelProviderError('p', 'bad key', { status: 401 });
    let calls = 0;
    const err = await rejection(
      withRetries({
        provider: 'p',
        target: 't',
        policy: FAST,
        classify: () => ({ retryable: true }),
        attempt: async () => {
          calls++;
          throw permanent;
        },
      }),
    );
    expect(err).toBe(permanent);
    expect(calls).toBe(1);
  });

  it('stops early when maxElapsedMs leaves no room for another attempt', async () => {
    let calls = 0;
    const err = await rejection(
      withRetries({
        provider: 'p',
        target: 't',
        policy: { maxAttempts: 10, timeoutMs: 1_000, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 500 },
        classify: () => ({ retryable: true, reason: 'HTTP 503' }),
        attempt: async () => {
          calls++;
          throw new Error('down');
        },
      }),
    );
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toBe('p: t failed 1 time (out of time for another attempt); last error: HTTP 503');
  });

  it('honours an outer abort signal', async () => {
    const outer = new AbortController();
    const p = withRetries({
      provider: 'p',
      target: 't',
      signal: outer.signal,
      policy: FAST,
      classify: () => ({ retryable: true }),
      attempt: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    });
    outer.abort(new Error('shutting down'));
    expect((await rejection(p)).message).toBe('shutting down');
  });
});

describe('provider specs', () => {
  it('parses scripted:FILE, openai[:MODEL] and bedrock[:MODEL_ID] (ids with colons kept whole)', () => {
    expect(parseModelProviderSpec('scripted:rules.yaml')).toEqual({ provider: 'scripted', file: 'rules.yaml' });
    expect(parseModelProviderSpec('openai')).toEqual({ provider: 'openai' });
    expect(parseModelProviderSpec('openai:gpt-4o-mini')).toEqual({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(parseModelProviderSpec('bedrock:anthropic.claude-3-haiku-20240307-v1:0')).toEqual({
      provider: 'bedrock',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
    });
  });

  it('rejects unknown providers and scripted without a file, saying what is accepted', () => {
    expect(() => parseModelProviderSpec('claude')).toThrow(
      /unknown model provider 'claude': expected scripted:FILE, openai\[:MODEL\] or bedrock/,
    );
    expect(() => parseModelProviderSpec('scripted')).toThrow(ModelProviderError);
  });

  it('loads a scripted model from a YAML rules file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-providers-'));
    writeFileSync(
      join(dir, 'model.yaml'),
      'rules:\n  - contains: Translate\n    respond: {spanish: Hola}\ndefault: \'{"output": "ok"}\'\n',
    );
    const callLlm = createModelProvider({ provider: 'scripted', file: 'model.yaml', cwd: dir });
    expect(await callLlm('{"prompt": "Translate hello"}', {})).toBe('{"spanish":"Hola"}');
    expect(await createModelProvider(`scripted:${join(dir, 'model.yaml')}`)('{"prompt": "x"}', {})).toBe('{"output": "ok"}');
  });

  it('names the file when a rules file is missing or is not a scripted model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-providers-'));
    writeFileSync(join(dir, 'bad.yaml'), 'rules: 42\n');
    expect(() => createModelProvider(`scripted:${join(dir, 'none.yaml')}`)).toThrow(/cannot read the rules file '.*none\.yaml'/);
    expect(() => createModelProvider(`scripted:${join(dir, 'bad.yaml')}`)).toThrow(
      /the rules file '.*bad\.yaml' is not a scripted model: .*rules must be a list/,
    );
  });

  it('builds an OpenAI caller from a spec object', async () => {
    server.reply({ body: chatCompletion('{"x": 1}') });
    const c = createModelProvider({ provider: 'openai', baseUrl: server.url, model: 'spec-model', retry: FAST, env: ENV });
    expect(((await c('JSON', {})) as LlmAnswer).text).toBe('{"x": 1}');
    expect(server.requests[0]?.body.model).toBe('spec-model');
  });

  it('points to @soe/aws for bedrock', () => {
    expect(() => createModelProvider('bedrock')).toThrow(/part of @soe\/aws: use createCallLlm/);
  });
});

describe('system prompt and usage helpers', () => {
  it('splits the System: prefix only when it carries nodeConfig.system_prompt', () => {
    expect(splitSystemPrompt('System: S\n\nbody', { system_prompt: 'S' })).toEqual({ system: 'S', user: 'body' });
    expect(splitSystemPrompt('body', { system_prompt: 'S' })).toEqual({ system: 'S', user: 'body' });
    expect(splitSystemPrompt('System: S\n\nbody', {})).toEqual({ user: 'System: S\n\nbody' });
  });

  it('sums llm_call events and ignores the others', () => {
    const events = [
      { event_type: 'llm_call', timestamp: 't', latency_ms: 10, input_tokens: 5, output_tokens: 2, ok: true },
      { event_type: 'llm_call', timestamp: 't', latency_ms: 7, ok: false, error: 'boom' },
      { event_type: 'node_execution', timestamp: 't', latency_ms: 1000, input_tokens: 1000 },
    ];
    expect(summarizeUsage(events)).toEqual({ calls: 2, failed_calls: 1, input_tokens: 5, output_tokens: 2, latency_ms: 17 });
    expect(summarizeUsage([])).toEqual({ calls: 0, failed_calls: 0, input_tokens: 0, output_tokens: 0, latency_ms: 0 });
  });

  it('fails an agent at once on a permanent provider error, without spending its retries', async () => {
    let calls = 0;
    const callLlm: CallLlm = () => {
      calls++;
      throw new ModelProviderError('openai', 'the API key was rejected', { status: 401 });
    };
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });
    const run = orchestrate({
      config: 'main:\n  Helper:\n    node_type: agent\n    event_triggers: [START]\n    prompt: Help\n    retries: 5\n',
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    await expect(run).rejects.toThrow(/node 'Helper' failed: openai: the API key was rejected/);
    expect(calls).toBe(1);
  });

  it('gives agents the identity as nodeConfig.system_prompt too', async () => {
    const seen: Record<string, unknown>[] = [];
    const callLlm: CallLlm = (_prompt, nodeConfig) => {
      seen.push(nodeConfig);
      return seen.length === 1 ? '{"action": "finish"}' : '{"answer": "done"}';
    };
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });
    await orchestrate({
      config: `
workflows:
  main:
    Helper:
      node_type: agent
      event_triggers: [START]
      prompt: "Help"
      identity: helper
      output_field: answer
      tools: []
identities:
  helper: "You help."
`,
      initialWorkflowName: 'main',
      initialSignals: ['START'],
      backends,
      broadcastSignalsCaller,
    });
    expect(seen.map((c) => c.system_prompt)).toEqual(['You help.', 'You help.']);
  });
});
