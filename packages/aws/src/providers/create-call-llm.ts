/**
 * The model provider factory of the AWS side: the specs of `@soe/core`'s `createModelProvider`
 * (`scripted:FILE`, `openai[:MODEL]`) plus `bedrock[:MODEL_ID]`, an OpenAI key read from Secrets
 * Manager, and the Lambda worker's environment contract (`SOE_MODEL_*`).
 */

import {
  type CallLlm,
  createModelProvider,
  createOpenAiCaller,
  ModelProviderError,
  type ModelProviderSpec,
  type OpenAiProviderSpec,
  parseModelProviderSpec,
  type RetryPolicy,
  type ScriptedProviderSpec,
} from '@soe/core';
import { ENV } from '../env-contract.js';
import { type BedrockCallerOptions, createBedrockCaller } from './bedrock.js';
import { createSecretApiKeyReader, type SecretValueClient } from './secret-api-key.js';

/** Bedrock with the options of {@link createBedrockCaller}. */
export interface BedrockModelSpec extends BedrockCallerOptions {
  provider: 'bedrock';
}

/** An OpenAI-compatible endpoint whose key may live in Secrets Manager. */
export interface OpenAiModelSpec extends OpenAiProviderSpec {
  /** ARN or name of a secret holding the API key (plain text, or JSON `{"api_key": "…"}`); read with a 5-minute cache. */
  secretArn?: string;
  /** The Secrets Manager client for `secretArn`. @default one created on first use */
  secretsClient?: SecretValueClient;
}

/** Every provider `createCallLlm` can build. */
export type CallLlmSpec = ScriptedProviderSpec | OpenAiModelSpec | BedrockModelSpec;

/**
 * Builds a `CallLlm` from a spec: text as `soe run --llm` takes it (`scripted:FILE`, `openai`,
 * `openai:MODEL`, `bedrock`, `bedrock:MODEL_ID`), or an object with the provider's options.
 * Scripted and OpenAI-compatible models come from `@soe/core`; Bedrock is built here.
 * @example
 * const callLlm = createCallLlm('bedrock:anthropic.claude-3-5-haiku-20241022-v1:0');
 * const openai = createCallLlm({ provider: 'openai', model: 'gpt-4o-mini', secretArn: process.env.SOE_MODEL_SECRET_ARN });
 */
export function createCallLlm(spec: string | CallLlmSpec | ModelProviderSpec): CallLlm {
  const s = (typeof spec === 'string' ? parseModelProviderSpec(spec) : spec) as CallLlmSpec;
  if (s.provider === 'bedrock') {
    const { provider: _provider, ...opts } = s;
    return createBedrockCaller(opts);
  }
  if (s.provider === 'openai') {
    const { secretArn, secretsClient, ...opts } = s;
    if (secretArn && !opts.getApiKey) {
      const { provider: _provider, ...callerOpts } = opts;
      return createOpenAiCaller({ ...callerOpts, getApiKey: createSecretApiKeyReader({ secretId: secretArn, client: secretsClient }) });
    }
    return createModelProvider(opts);
  }
  return createModelProvider(s);
}

/** Clients the environment-built caller may use instead of creating its own (tests, shared clients). */
export interface CallLlmFromEnvDeps {
  bedrockClient?: BedrockCallerOptions['client'];
  secretsClient?: SecretValueClient;
}

function positiveInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new ModelProviderError('model', `${name}='${raw}' is not a positive whole number`);
  }
  return n;
}

/**
 * The spec the worker's environment describes, or undefined when `SOE_MODEL_PROVIDER` is not set.
 *
 * | variable | meaning |
 * | --- | --- |
 * | `SOE_MODEL_PROVIDER` | `bedrock`, `openai` or `scripted:FILE` (`bedrock:ID` / `openai:MODEL` also name the model) |
 * | `SOE_MODEL_ID` | the model of nodes that name none (Bedrock model or inference-profile id; OpenAI model name) |
 * | `SOE_MODEL_SECRET_ARN` | openai: the Secrets Manager secret holding the API key |
 * | `SOE_OPENAI_BASE_URL` | openai: the API root (`…/v1`); default `OPENAI_BASE_URL`, else api.openai.com |
 * | `SOE_BEDROCK_REGION` | bedrock: region of the model, when not the function's own |
 * | `SOE_MODEL_TIMEOUT_MS`, `SOE_MODEL_MAX_ATTEMPTS`, `SOE_MODEL_MAX_ELAPSED_MS` | the retry policy |
 */
export function modelSpecFromEnv(
  env: Record<string, string | undefined> = process.env,
  deps: CallLlmFromEnvDeps = {},
): CallLlmSpec | undefined {
  const text = env[ENV.modelProvider]?.trim();
  if (!text) return undefined;
  const parsed = parseModelProviderSpec(text);
  const retry: RetryPolicy = {};
  const timeoutMs = positiveInt(env, ENV.modelTimeoutMs);
  const maxAttempts = positiveInt(env, ENV.modelMaxAttempts);
  const maxElapsedMs = positiveInt(env, ENV.modelMaxElapsedMs);
  if (timeoutMs !== undefined) retry.timeoutMs = timeoutMs;
  if (maxAttempts !== undefined) retry.maxAttempts = maxAttempts;
  if (maxElapsedMs !== undefined) retry.maxElapsedMs = maxElapsedMs;
  const model = (parsed.provider !== 'scripted' ? parsed.model : undefined) ?? (env[ENV.modelId]?.trim() || undefined);
  switch (parsed.provider) {
    case 'bedrock':
      return {
        provider: 'bedrock',
        env,
        retry,
        ...(model ? { model } : {}),
        ...(env[ENV.bedrockRegion] ? { region: env[ENV.bedrockRegion] } : {}),
        ...(deps.bedrockClient ? { client: deps.bedrockClient } : {}),
      };
    case 'openai':
      return {
        provider: 'openai',
        env,
        retry,
        ...(model ? { model } : {}),
        ...(env[ENV.openAiBaseUrl] ? { baseUrl: env[ENV.openAiBaseUrl] } : {}),
        ...(env[ENV.modelSecretArn] ? { secretArn: env[ENV.modelSecretArn] } : {}),
        ...(deps.secretsClient ? { secretsClient: deps.secretsClient } : {}),
      };
    default:
      return parsed;
  }
}

/**
 * The `CallLlm` the worker's environment describes (see {@link modelSpecFromEnv}), or undefined when
 * `SOE_MODEL_PROVIDER` is not set. Call it once at module scope: clients and the cached key are reused
 * by warm invocations. Throws a ModelProviderError naming the variable when one is malformed.
 * @example
 * // functions/worker.ts
 * export const handler = createWorkerHandler({ dynamo, sqs, ...readRuntimeEnv(), toolsRegistry, callLlm: callLlm ?? createCallLlmFromEnv() });
 */
export function createCallLlmFromEnv(
  env: Record<string, string | undefined> = process.env,
  deps: CallLlmFromEnvDeps = {},
): CallLlm | undefined {
  const spec = modelSpecFromEnv(env, deps);
  return spec ? createCallLlm(spec) : undefined;
}
