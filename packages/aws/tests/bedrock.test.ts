/**
 * The Bedrock caller with the real BedrockRuntimeClient against a local server that speaks the
 * Converse protocol (POST /model/{modelId}/converse, JSON; errors named by x-amzn-errortype), the
 * Secrets Manager key reader with the real SecretsManagerClient, and the SOE_MODEL_* environment
 * contract. Every request goes to 127.0.0.1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type CallLlm,
  createAllNodes,
  createInMemoryBackends,
  type LlmAnswer,
  ModelProviderError,
  orchestrate,
  type RetryPolicy,
  summarizeUsage,
  type TelemetryEvent,
  TransientError,
} from '@soe/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  apiKeyFromSecret,
  createBedrockCaller,
  createCallLlm,
  createCallLlmFromEnv,
  createSecretApiKeyReader,
  modelSpecFromEnv,
} from '../src/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const FAST: RetryPolicy = { maxAttempts: 4, timeoutMs: 2_000, baseDelayMs: 1, maxDelayMs: 5 };
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };

type Reply = { status?: number; headers?: Record<string, string>; body?: unknown } | 'hang';
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A local server answering from a queue of replies (the last one repeats). Bedrock's client speaks
 * HTTP/2 (its default handler), so that server is cleartext HTTP/2; Secrets Manager and OpenAI speak HTTP/1.1.
 */
async function startServer(protocol: 'http1' | 'h2c' = 'http1') {
  let queue: Reply[] = [];
  const requests: Seen[] = [];
  const handle = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : {} });
      const reply = queue.length > 1 ? queue.shift()! : queue[0];
      if (reply === 'hang') return;
      const text = JSON.stringify(reply?.body ?? {});
      res.writeHead(reply?.status ?? 200, { 'content-type': 'application/json', ...reply?.headers });
      res.end(text);
    });
  };
  const sessions = new Set<Http2Session>();
  const server: Server | Http2Server =
    protocol === 'h2c' ? createHttp2Server(handle).on('session', (session) => sessions.add(session)) : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    reply(...replies: Reply[]) {
      queue = replies;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
type LocalServer = Awaited<ReturnType<typeof startServer>>;

/** A Converse answer as Bedrock sends it. */
function converse(text: string, usage = { inputTokens: 30, outputTokens: 6 }) {
  return {
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason: 'end_turn',
    usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
    metrics: { latencyMs: 12 },
  };
}

/** A Bedrock error: the SDK reads its type from x-amzn-errortype. */
function awsError(status: number, type: string, message: string): Reply {
  return { status, headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` }, body: { message } };
}

let server: LocalServer; // Bedrock (HTTP/2)
let secrets: LocalServer; // Secrets Manager (HTTP/1.1)
let client: BedrockRuntimeClient;
beforeAll(async () => {
  server = await startServer('h2c');
  secrets = await startServer('http1');
  client = new BedrockRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await server.close();
  await secrets.close();
});
afterEach(() => {
  server.requests.length = 0;
  secrets.requests.length = 0;
});

const caller = (opts: Parameters<typeof createBedrockCaller>[0] = {}) =>
  createBedrockCaller({ client, model: MODEL, region: 'us-east-1', retry: FAST, env: {}, ...opts });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('Bedrock caller: requests and answers', () => {
  it('sends a Converse request and returns text, usage and model', async () => {
    server.reply({ body: converse('{"output": "hi"}', { inputTokens: 42, outputTokens: 7 }) });
    const answer = (await caller()('Answer in JSON.', { node_name: 'N' })) as LlmAnswer;
    expect(answer).toEqual({ text: '{"output": "hi"}', model: MODEL, usage: { input_tokens: 42, output_tokens: 7 } });
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(decodeURIComponent(req?.url ?? '')).toBe(`/model/${MODEL}/converse`);
    expect(req?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST\/\d+\/us-east-1\/bedrock\/aws4_request/);
    expect(req?.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Answer in JSON.' }] }] });
  });

  it("sends the identity as system and the node's temperature / max_tokens as inferenceConfig", async () => {
    server.reply({ body: converse('{}') });
    await caller({ topP: 0.9 })('System: Be brief.\n\n{"prompt": "x"}', {
      node_name: 'N',
      system_prompt: 'Be brief.',
      model: 'meta.llama3-8b-instruct-v1:0',
      temperature: 0.1,
      max_tokens: 50,
    });
    const [req] = server.requests;
    expect(decodeURIComponent(req?.url ?? '')).toBe('/model/meta.llama3-8b-instruct-v1:0/converse');
    expect(req?.body).toEqual({
      messages: [{ role: 'user', content: [{ text: '{"prompt": "x"}' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 50, temperature: 0.1, topP: 0.9 },
    });
  });

  it('joins the text blocks and skips the others', async () => {
    server.reply({
      body: {
        ...converse(''),
        output: {
          message: {
            role: 'assistant',
            content: [{ reasoningContent: { reasoningText: { text: 'hmm' } } }, { text: '{"a":' }, { text: ' 1}' }],
          },
        },
      },
    });
    expect(((await caller()('x', {})) as LlmAnswer).text).toBe('{"a": 1}');
  });

  it('fails with a ModelProviderError when no model is named anywhere', async () => {
    const err = await rejection(Promise.resolve(caller({ model: undefined })('x', { node_name: 'Writer' })));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(/bedrock: no model for node 'Writer': set SOE_MODEL_ID/);
  });
});

describe('Bedrock caller: retries, timeouts, permanent errors', () => {
  it('retries a ThrottlingException and succeeds', async () => {
    server.reply(awsError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'), {
      body: converse('{"ok": 1}'),
    });
    expect(((await caller()('x', {})) as LlmAnswer).text).toBe('{"ok": 1}');
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 500 and a 503 and succeeds', async () => {
    server.reply(awsError(500, 'InternalServerException', 'internal'), awsError(503, 'ServiceUnavailableException', 'unavailable'), {
      body: converse('{"ok": 2}'),
    });
    expect(((await caller()('x', {})) as LlmAnswer).text).toBe('{"ok": 2}');
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after maxAttempts of throttling with a TransientError', async () => {
    server.reply(awsError(429, 'ThrottlingException', 'Too many requests'));
    const err = await rejection(Promise.resolve(caller()('x', {})));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toBe(
      `bedrock: model '${MODEL}' in us-east-1 failed 4 times; last error: ThrottlingException (HTTP 429): Too many requests`,
    );
    expect(server.requests).toHaveLength(4);
  });

  it('times out an attempt that does not answer, then retries', async () => {
    server.reply('hang', { body: converse('{"late": false}') });
    expect(((await caller({ retry: { ...FAST, timeoutMs: 150 } })('x', {})) as LlmAnswer).text).toBe('{"late": false}');
    expect(server.requests).toHaveLength(2);
  });

  it('throws a TransientError naming the timeout when every attempt times out', async () => {
    server.reply('hang');
    const err = await rejection(Promise.resolve(caller({ retry: { ...FAST, maxAttempts: 2, timeoutMs: 60 } })('x', {})));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/failed 2 times; last error: no answer within 60 ms$/);
  });

  it('creates its own client with the SDK retries off, so only this policy retries', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: server.url,
    });
    try {
      server.reply(awsError(429, 'ThrottlingException', 'slow down'));
      const own = createBedrockCaller({ model: MODEL, retry: { ...FAST, maxAttempts: 2 }, env: {} });
      expect(await rejection(Promise.resolve(own('x', {})))).toBeInstanceOf(TransientError);
      expect(server.requests).toHaveLength(2);
    } finally {
      process.env = saved;
    }
  });

  it('treats AccessDeniedException as permanent: one request, the message says what to enable', async () => {
    server.reply(awsError(403, 'AccessDeniedException', "You don't have access to the model with the specified model ID."));
    const err = await rejection(Promise.resolve(caller()('x', {})));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect((err as ModelProviderError).status).toBe(403);
    expect(err.message).toMatch(/access to model 'anthropic\.claude-3-haiku-20240307-v1:0' in us-east-1 was denied/);
    expect(err.message).toMatch(/enable access to the model in the Bedrock console.*bedrock:InvokeModel/);
    expect(server.requests).toHaveLength(1);
  });

  it('says the credentials were rejected on UnrecognizedClientException', async () => {
    server.reply(awsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'));
    const err = await rejection(Promise.resolve(caller()('x', {})));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(/the AWS credentials were rejected \(UnrecognizedClientException \(HTTP 403\): The security token/);
    expect(server.requests).toHaveLength(1);
  });

  it('names the model on ResourceNotFoundException', async () => {
    server.reply(awsError(404, 'ResourceNotFoundException', 'Model not found.'));
    const err = await rejection(Promise.resolve(caller()('x', { model: 'no.such-model' })));
    expect(err.message).toMatch(
      /unknown model 'no\.such-model' in us-east-1 \(ResourceNotFoundException \(HTTP 404\): Model not found\.\)/,
    );
    expect(server.requests).toHaveLength(1);
  });

  it("passes Bedrock's words on for a ValidationException", async () => {
    server.reply(awsError(400, 'ValidationException', 'The provided model identifier is invalid.'));
    const err = await rejection(Promise.resolve(caller()('x', {})));
    expect(err).toBeInstanceOf(ModelProviderError);
    expect(err.message).toMatch(
      /Bedrock rejected the request for model .*ValidationException \(HTTP 400\): The provided model identifier is invalid\./,
    );
    expect(server.requests).toHaveLength(1);
  });
});

describe('Bedrock caller inside the engine', () => {
  const config = (extra = '') => `
workflows:
  main:
    Classify:
      node_type: llm
      event_triggers: [START]
      prompt: "Classify: {{ context.ticket }}"
      identity: triage
      output_field: category
      max_tokens: 100
${extra}
      event_emissions:
        - signal_name: CLASSIFIED
identities:
  triage: "You triage support tickets."
`;

  async function run(callLlm: CallLlm, extra = '') {
    const backends = createInMemoryBackends();
    const { broadcastSignalsCaller } = createAllNodes(backends, { callLlm });
    let error: Error | undefined;
    try {
      await orchestrate({
        config: config(extra),
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { ticket: 'my invoice is wrong' },
        backends,
        broadcastSignalsCaller,
      });
    } catch (e) {
      error = e as Error;
    }
    const id = (await backends.context.listContexts?.())?.[0] ?? '';
    return { error, context: await backends.context.getContext(id), events: (await backends.telemetry.getEvents(id)) as TelemetryEvent[] };
  }

  it('runs an llm node end to end: fenced JSON parsed, system block sent, tokens in telemetry', async () => {
    server.reply({ body: converse('Here you go:\n```json\n{"category": "billing"}\n```', { inputTokens: 210, outputTokens: 11 }) });
    const { error, context, events } = await run(caller());
    expect(error).toBeUndefined();
    expect(context.category).toEqual(['billing']);
    expect(context.__operational__?.signals).toContain('CLASSIFIED');
    const body = server.requests[0]?.body as { system: unknown; inferenceConfig: unknown; messages: { content: { text: string }[] }[] };
    expect(body.system).toEqual([{ text: 'You triage support tickets.' }]);
    expect(body.inferenceConfig).toEqual({ maxTokens: 100 });
    expect(body.messages[0]?.content[0]?.text).toContain('Classify: my invoice is wrong');
    expect(body.messages[0]?.content[0]?.text).not.toContain('System:');
    expect(events.find((e) => e.event_type === 'llm_call')).toMatchObject({ ok: true, input_tokens: 210, output_tokens: 11, model: MODEL });
    expect(summarizeUsage(events)).toMatchObject({ calls: 1, input_tokens: 210, output_tokens: 11 });
  });

  it('fails the node at once when access is denied (no retries within the node)', async () => {
    server.reply(awsError(403, 'AccessDeniedException', 'no access'));
    const { error } = await run(caller());
    expect(error?.name).toBe('NodeExecutionError');
    expect(error?.message).toMatch(/node 'Classify' failed: bedrock: access to model .* was denied/);
    expect(server.requests).toHaveLength(1);
  });

  it('takes llm_failure_signal when access is denied', async () => {
    server.reply(awsError(403, 'AccessDeniedException', 'no access'));
    const { error, context } = await run(caller(), '      llm_failure_signal: NO_MODEL');
    expect(error).toBeUndefined();
    expect(context.__operational__?.signals).toContain('NO_MODEL');
  });
});

describe('API key from Secrets Manager', () => {
  /** Secrets Manager speaks awsJson1.1: POST / with X-Amz-Target: secretsmanager.GetSecretValue. */
  const secretsClient = () =>
    new SecretsManagerClient({ endpoint: secrets.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });

  it('reads the key with the real client and caches it for ttlMs', async () => {
    secrets.reply({
      body: { ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:k', Name: 'k', SecretString: '{"api_key": "sk-from-secret"}' },
    });
    let now = 0;
    const read = createSecretApiKeyReader({ secretId: 'k', client: secretsClient(), ttlMs: 1_000, now: () => now });
    expect(await Promise.all([read(), read()])).toEqual(['sk-from-secret', 'sk-from-secret']);
    now = 999;
    await read();
    expect(secrets.requests).toHaveLength(1);
    expect(secrets.requests[0]?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(secrets.requests[0]?.body).toEqual({ SecretId: 'k' });
    now = 1_000;
    await read();
    expect(secrets.requests).toHaveLength(2);
  });

  it('accepts a plain-text key and refuses a JSON secret without one', () => {
    expect(apiKeyFromSecret('  sk-plain \n', 's')).toBe('sk-plain');
    expect(apiKeyFromSecret('{"OPENAI_API_KEY": "sk-x"}', 's')).toBe('sk-x');
    expect(() => apiKeyFromSecret('{"user": "x"}', 's')).toThrow(/secret 's' is a JSON object without an API key/);
  });

  it('is permanent when access is denied, transient when throttled', async () => {
    secrets.reply({
      status: 400,
      headers: { 'x-amzn-errortype': 'AccessDeniedException' },
      body: { __type: 'AccessDeniedException', message: 'not authorized to perform secretsmanager:GetSecretValue' },
    });
    const denied = await rejection(createSecretApiKeyReader({ secretId: 'k', client: secretsClient() })());
    expect(denied).toBeInstanceOf(ModelProviderError);
    expect(denied.message).toMatch(
      /cannot read the API key from secret 'k' \(AccessDeniedException: .*\): .*secretsmanager:GetSecretValue/,
    );
    secrets.reply({
      status: 400,
      headers: { 'x-amzn-errortype': 'ThrottlingException' },
      body: { __type: 'ThrottlingException', message: 'Rate exceeded' },
    });
    const throttled = await rejection(createSecretApiKeyReader({ secretId: 'k', client: secretsClient() })());
    expect(throttled).toBeInstanceOf(TransientError);
  });
});

describe('createCallLlm and the SOE_MODEL_* environment', () => {
  it('is undefined when SOE_MODEL_PROVIDER is not set', () => {
    expect(createCallLlmFromEnv({})).toBeUndefined();
  });

  it('builds a Bedrock caller from SOE_MODEL_PROVIDER=bedrock and SOE_MODEL_ID', async () => {
    server.reply({ body: converse('{"x": 1}') });
    const callLlm = createCallLlmFromEnv(
      { SOE_MODEL_PROVIDER: 'bedrock', SOE_MODEL_ID: 'amazon.nova-micro-v1:0', SOE_MODEL_MAX_ATTEMPTS: '2', SOE_MODEL_TIMEOUT_MS: '5000' },
      { bedrockClient: client },
    );
    expect(((await callLlm!('x', {})) as LlmAnswer).model).toBe('amazon.nova-micro-v1:0');
    expect(decodeURIComponent(server.requests[0]?.url ?? '')).toBe('/model/amazon.nova-micro-v1:0/converse');
    expect(modelSpecFromEnv({ SOE_MODEL_PROVIDER: 'bedrock', SOE_MODEL_MAX_ATTEMPTS: '2', SOE_MODEL_TIMEOUT_MS: '5000' })).toMatchObject({
      provider: 'bedrock',
      retry: { maxAttempts: 2, timeoutMs: 5000 },
    });
  });

  it('builds an OpenAI caller whose key comes from SOE_MODEL_SECRET_ARN and URL from SOE_OPENAI_BASE_URL', async () => {
    const openai = await startServer();
    try {
      secrets.reply({ body: { SecretString: 'sk-secret' } });
      openai.reply({
        body: {
          model: 'gpt-test',
          choices: [{ message: { role: 'assistant', content: '{"y": 2}' } }],
          usage: { prompt_tokens: 3, completion_tokens: 1 },
        },
      });
      const callLlm = createCallLlmFromEnv(
        {
          SOE_MODEL_PROVIDER: 'openai',
          SOE_MODEL_ID: 'gpt-test',
          SOE_MODEL_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:openai',
          SOE_OPENAI_BASE_URL: `${openai.url}/v1`,
        },
        { secretsClient: new SecretsManagerClient({ endpoint: secrets.url, region: 'us-east-1', credentials: CREDENTIALS }) },
      );
      const answer = (await callLlm!('JSON please', { node_name: 'N' })) as LlmAnswer;
      expect(answer).toEqual({ text: '{"y": 2}', model: 'gpt-test', usage: { input_tokens: 3, output_tokens: 1 } });
      expect(openai.requests[0]?.headers.authorization).toBe('Bearer sk-secret');
      expect(openai.requests[0]?.url).toBe('/v1/chat/completions');
    } finally {
      await openai.close();
    }
  });

  it('builds a scripted model from SOE_MODEL_PROVIDER=scripted:FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soe-bedrock-'));
    const file = join(dir, 'model.json');
    writeFileSync(file, JSON.stringify({ default: '{"output": "scripted"}' }));
    const callLlm = createCallLlmFromEnv({ SOE_MODEL_PROVIDER: `scripted:${file}` });
    expect(await callLlm!('{"prompt": "x"}', {})).toBe('{"output": "scripted"}');
  });

  it('refuses a malformed variable, naming it', () => {
    expect(() => createCallLlmFromEnv({ SOE_MODEL_PROVIDER: 'bedrock', SOE_MODEL_TIMEOUT_MS: '30s' })).toThrow(
      /SOE_MODEL_TIMEOUT_MS='30s' is not a positive whole number/,
    );
    expect(() => createCallLlmFromEnv({ SOE_MODEL_PROVIDER: 'gemini' })).toThrow(/unknown model provider 'gemini'/);
  });

  it('accepts the text specs of soe run --llm, bedrock included', async () => {
    server.reply({ body: converse('{"z": 3}') });
    const callLlm = createCallLlm({ provider: 'bedrock', model: MODEL, client, retry: FAST, env: {} });
    expect(((await callLlm('x', {})) as LlmAnswer).text).toBe('{"z": 3}');
    expect(() => createCallLlm('scripted')).toThrow(/names no rules file/);
  });
});
