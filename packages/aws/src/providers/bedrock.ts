/**
 * A `CallLlm` for Amazon Bedrock through the Converse API: one request shape for every model that
 * supports messages (Claude, Llama, Mistral, Nova…), the identity as the `system` block, the node's
 * `temperature` / `max_tokens` as `inferenceConfig`, token usage from the answer.
 */

import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  type InferenceConfiguration,
} from '@aws-sdk/client-bedrock-runtime';
import {
  type AttemptFailure,
  type CallLlm,
  errorKind,
  type LlmAnswer,
  ModelProviderError,
  modelSettings,
  type RetryPolicy,
  splitSystemPrompt,
  withRetries,
} from '@soe/core';
import { ENV } from '../env-contract.js';

/** The part of a Bedrock runtime client the caller uses (a real `BedrockRuntimeClient`, or a fake in tests). */
export interface ConverseClient {
  send(command: ConverseCommand, options?: { abortSignal?: AbortSignal }): Promise<ConverseCommandOutput>;
}

/** Options of {@link createBedrockCaller}. */
export interface BedrockCallerOptions {
  /** The model id, inference profile id or ARN of nodes that name none. @default SOE_MODEL_ID, else BEDROCK_MODEL_ID */
  model?: string;
  /**
   * The client. Without one, a `BedrockRuntimeClient` with the SDK's own retries turned off
   * (`maxAttempts: 1`, so this caller's {@link RetryPolicy} alone decides) is created on first use.
   * An injected client keeps its own retry settings.
   */
  client?: ConverseClient;
  /** Region of the client created here (and shown in messages). @default SOE_BEDROCK_REGION, else the SDK's (AWS_REGION) */
  region?: string;
  /** Default temperature; a node's `temperature` wins. */
  temperature?: number;
  /** Default answer length limit; a node's `max_tokens` wins. */
  maxTokens?: number;
  /** Default nucleus sampling. */
  topP?: number;
  /** Timeouts and retries. */
  retry?: RetryPolicy;
  /** Where the defaults are read from. @default process.env */
  env?: Record<string, string | undefined>;
}

/** Bedrock's own errors a later attempt may not meet; throttling, 5xx and network are @soe/core's `errorKind`. */
const BEDROCK_TRANSIENT_NAMES = new Set([
  'ModelNotReadyException',
  'ModelTimeoutException',
  'ModelErrorException',
  'ServiceQuotaExceededException',
]);

/** The caller's AWS credentials, not the model, were refused. */
const CREDENTIAL_NAMES = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'CredentialsProviderError',
]);

interface AwsErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * Creates a `CallLlm` that sends each prompt to Bedrock's Converse API.
 *
 * Throttling, 5xx, model-not-ready, network errors and timeouts are retried by the {@link RetryPolicy},
 * then thrown as `TransientError`; access denied, unknown model and validation errors throw
 * `ModelProviderError` at once, saying what to fix.
 * @example
 * const callLlm = createBedrockCaller({ model: 'anthropic.claude-3-5-haiku-20241022-v1:0' });
 */
export function createBedrockCaller(opts: BedrockCallerOptions = {}): CallLlm {
  const env = opts.env ?? process.env;
  const region = opts.region ?? (env[ENV.bedrockRegion] || undefined);
  const defaults = {
    model: opts.model ?? (env[ENV.modelId] || env.BEDROCK_MODEL_ID || undefined),
    temperature: opts.temperature,
    maxTokens: opts.maxTokens,
  };
  let client = opts.client;
  const clientOf = (): ConverseClient => {
    client ??= new BedrockRuntimeClient({ ...(region ? { region } : {}), maxAttempts: 1 });
    return client;
  };
  const where = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'the default region';

  const classify =
    (model: string) =>
    (err: unknown): AttemptFailure => {
      const e = (typeof err === 'object' && err !== null ? err : {}) as AwsErrorShape;
      const name = typeof e.name === 'string' ? e.name : '';
      const said = typeof e.message === 'string' && e.message ? e.message : String(err);
      const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
      const reason = `${name || 'Error'}${status ? ` (HTTP ${status})` : ''}: ${said}`;
      if (BEDROCK_TRANSIENT_NAMES.has(name) || errorKind(err) === 'transient') {
        return { retryable: true, reason };
      }
      const fail = (message: string) => ({ retryable: false, error: new ModelProviderError('bedrock', message, { status, cause: err }) });
      if (name === 'AccessDeniedException') {
        return fail(
          `access to model '${model}' in ${where} was denied (${reason}): enable access to the model in the Bedrock console ` +
            `for this region, and allow bedrock:InvokeModel on it for the worker's role`,
        );
      }
      if (CREDENTIAL_NAMES.has(name) || status === 401 || status === 403) {
        return fail(`the AWS credentials were rejected (${reason}): check the role or the credentials the worker runs with`);
      }
      if (name === 'ResourceNotFoundException' || status === 404) {
        return fail(`unknown model '${model}' in ${where} (${reason}): check the model id, or use an inference profile id`);
      }
      return fail(`Bedrock rejected the request for model '${model}' (${reason})`);
    };

  return async (prompt, nodeConfig, options): Promise<LlmAnswer> => {
    const settings = modelSettings(nodeConfig, defaults);
    const model = settings.model;
    if (!model) {
      throw new ModelProviderError(
        'bedrock',
        `no model for node '${String(nodeConfig.node_name ?? '?')}': set SOE_MODEL_ID, the caller's model option, or model: on the node`,
      );
    }
    const { system, user } = splitSystemPrompt(prompt, nodeConfig);
    const inferenceConfig: InferenceConfiguration = {};
    if (settings.maxTokens !== undefined) inferenceConfig.maxTokens = settings.maxTokens;
    if (settings.temperature !== undefined) inferenceConfig.temperature = settings.temperature;
    if (opts.topP !== undefined) inferenceConfig.topP = opts.topP;
    const input: ConverseCommandInput = {
      modelId: model,
      messages: [{ role: 'user', content: [{ text: user }] }],
      ...(system ? { system: [{ text: system }] } : {}),
      ...(Object.keys(inferenceConfig).length ? { inferenceConfig } : {}),
    };
    const out = await withRetries({
      signal: options?.signal,
      provider: 'bedrock',
      target: `model '${model}' in ${where}`,
      policy: opts.retry,
      classify: classify(model),
      attempt: (signal) => clientOf().send(new ConverseCommand(input), { abortSignal: signal }),
    });
    const blocks = out.output?.message?.content ?? [];
    const text = blocks.map((b) => (typeof b.text === 'string' ? b.text : '')).join('');
    const answer: LlmAnswer = { text, model };
    if (out.usage) {
      answer.usage = {
        ...(typeof out.usage.inputTokens === 'number' ? { input_tokens: out.usage.inputTokens } : {}),
        ...(typeof out.usage.outputTokens === 'number' ? { output_tokens: out.usage.outputTokens } : {}),
      };
    }
    return answer;
  };
}
