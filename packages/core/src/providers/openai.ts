/**
 * A `CallLlm` for OpenAI-compatible chat-completions APIs (OpenAI, Azure OpenAI's v1 endpoint, vLLM,
 * Ollama, LM Studio, LiteLLM, OpenRouter…) over the global `fetch`: no SDK, no dependency.
 */
import { isNetworkError, ModelProviderError } from '../errors.js';
import type { CallLlm, LlmAnswer } from '../types.js';
import { modelSettings, splitSystemPrompt } from './messages.js';
import { type AttemptFailure, parseRetryAfterMs, type RetryPolicy, withRetries } from './retry.js';

/** Where requests go when neither the options nor `OPENAI_BASE_URL` say otherwise. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Options of {@link createOpenAiCaller}. Anything not given is read from the environment. */
export interface OpenAiCallerOptions {
  /** The API root, `…/v1`; requests go to `<baseUrl>/chat/completions`. @default OPENAI_BASE_URL, else https://api.openai.com/v1 */
  baseUrl?: string;
  /** The model of nodes that name none. @default OPENAI_MODEL */
  model?: string;
  /** The API key, sent as `Authorization: Bearer …`. @default OPENAI_API_KEY (none: no header, e.g. a local server) */
  apiKey?: string;
  /**
   * Reads the key on each call (takes precedence over `apiKey`): lets a deployment keep it in a secret
   * store and cache or rotate it there. A `ModelProviderError` or `TransientError` it throws passes through.
   */
  getApiKey?: () => string | undefined | Promise<string | undefined>;
  /** Default temperature; a node's `temperature` wins. @default the provider's */
  temperature?: number;
  /** Default answer length limit; a node's `max_tokens` wins. @default the provider's */
  maxTokens?: number;
  /** The request field for the length limit: newer OpenAI models want `max_completion_tokens`. @default 'max_tokens' */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /**
   * Ask for `response_format: { type: 'json_object' }`. `auto` sends it when the prompt mentions JSON
   * (every SOE prompt does; OpenAI requires the word) and drops it for good if the server rejects it.
   * @default 'auto'
   */
  jsonMode?: boolean | 'auto';
  /** Extra request headers (e.g. `api-key` for Azure, `HTTP-Referer` for OpenRouter). */
  headers?: Record<string, string>;
  /** Timeouts and retries. */
  retry?: RetryPolicy;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Where the defaults are read from. @default process.env */
  env?: Record<string, string | undefined>;
}

/** An HTTP answer other than 2xx, with what the provider said. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly providerMessage: string,
    readonly providerCode: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}${providerMessage ? `: ${providerMessage}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

/** The provider's own words from an error body: `error.message`, `message`, `detail`, or the text. */
function providerMessageOf(text: string): { message: string; code?: string } {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === 'object' && error !== null) {
      const e = error as Record<string, unknown>;
      const code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : undefined;
      if (typeof e.message === 'string') return { message: e.message, code };
    }
    if (typeof error === 'string') return { message: error };
    if (typeof body.message === 'string') return { message: body.message };
    if (typeof body.detail === 'string') return { message: body.detail };
  } catch {
    /* not JSON: use the text */
  }
  return { message: text.trim().slice(0, 500) };
}

/** The text of a chat-completions answer: the first choice's content (string or text parts), or its refusal. */
function answerText(body: Record<string, unknown>): string | undefined {
  const choices = body.choices;
  if (!Array.isArray(choices) || choices.length === 0) return undefined;
  const message = (choices[0] as { message?: { content?: unknown; refusal?: unknown } }).message;
  if (!message) return undefined;
  const content = message.content;
  if (typeof content === 'string' && content !== '') return content;
  if (Array.isArray(content)) {
    const text = content.map((p) => (typeof p === 'string' ? p : typeof p?.text === 'string' ? p.text : '')).join('');
    if (text) return text;
  }
  if (typeof message.refusal === 'string' && message.refusal) return message.refusal;
  // An empty answer (content null, cut off by max_tokens…) is still an answer: the engine rejects it
  // and asks again with the problem, within the node's retries.
  return typeof content === 'string' ? content : '';
}

const JSON_MODE_REJECTED = /response_format|json_object|json mode|json_mode/i;

/**
 * Creates a `CallLlm` that sends each prompt to an OpenAI-compatible `/chat/completions` endpoint.
 *
 * The node's identity becomes the system message; the node's `model`, `temperature` and `max_tokens`
 * override the defaults; the answer comes back as `LlmAnswer` with the token usage the provider
 * reported, which the engine records in `llm_call` telemetry. Throttling (429), 5xx, network errors and
 * timeouts are retried by the {@link RetryPolicy}, then thrown as `TransientError`; a rejected key
 * (401/403), an unknown model (404) or a rejected request (other 4xx) throws `ModelProviderError` at once.
 * @example
 * const callLlm = createOpenAiCaller({ model: 'gpt-4o-mini' });            // key from OPENAI_API_KEY
 * const local = createOpenAiCaller({ baseUrl: 'http://localhost:11434/v1', model: 'llama3.1' });
 */
export function createOpenAiCaller(opts: OpenAiCallerOptions = {}): CallLlm {
  const env = opts.env ?? process.env;
  const baseUrl = (opts.baseUrl ?? env.OPENAI_BASE_URL ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  const url = `${baseUrl}/chat/completions`;
  const defaults = { model: opts.model ?? env.OPENAI_MODEL, temperature: opts.temperature, maxTokens: opts.maxTokens };
  const doFetch = opts.fetch ?? globalThis.fetch;
  const maxTokensField = opts.maxTokensField ?? 'max_tokens';
  let jsonMode = opts.jsonMode ?? 'auto';

  const keyOf = async (): Promise<string | undefined> => {
    if (opts.getApiKey) return (await opts.getApiKey()) || undefined;
    return opts.apiKey ?? (env.OPENAI_API_KEY || undefined);
  };

  const permanent = (err: HttpStatusError, model: string, hadKey: boolean): ModelProviderError => {
    const said = err.providerMessage ? `: ${err.providerMessage}` : '';
    const status = err.status;
    if (status === 401 || status === 403) {
      const hint = hadKey
        ? 'check OPENAI_API_KEY / the secret that holds the key (SOE_MODEL_SECRET_ARN)'
        : 'no API key was sent: set OPENAI_API_KEY or the secret that holds the key (SOE_MODEL_SECRET_ARN)';
      return new ModelProviderError('openai', `the API key was rejected by ${baseUrl} (HTTP ${status}${said}): ${hint}`, {
        status,
        cause: err,
      });
    }
    if (status === 404) {
      return new ModelProviderError(
        'openai',
        `unknown model '${model}' at ${baseUrl} (HTTP 404${said}); check the model name, and that the base URL ends where /chat/completions is served (often …/v1)`,
        { status, cause: err },
      );
    }
    if (status === 429) {
      return new ModelProviderError('openai', `the account at ${baseUrl} has no quota left (HTTP 429${said})`, { status, cause: err });
    }
    return new ModelProviderError('openai', `${baseUrl} rejected the request for model '${model}' (HTTP ${status}${said})`, {
      status,
      cause: err,
    });
  };

  return async (prompt, nodeConfig, options): Promise<LlmAnswer> => {
    const settings = modelSettings(nodeConfig, defaults);
    const model = settings.model;
    if (!model) {
      throw new ModelProviderError(
        'openai',
        `no model for node '${String(nodeConfig.node_name ?? '?')}': set OPENAI_MODEL (SOE_MODEL_ID on AWS), the caller's model option, or model: on the node`,
      );
    }
    const { system, user } = splitSystemPrompt(prompt, nodeConfig);
    const messages = system
      ? [
          { role: 'system', content: system },
          { role: 'user', content: user },
        ]
      : [{ role: 'user', content: user }];
    const apiKey = await keyOf();
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...opts.headers };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;

    const request = async (signal: AbortSignal, json: boolean): Promise<Record<string, unknown>> => {
      const body: Record<string, unknown> = { model, messages };
      if (settings.temperature !== undefined) body.temperature = settings.temperature;
      if (settings.maxTokens !== undefined) body[maxTokensField] = settings.maxTokens;
      if (json) body.response_format = { type: 'json_object' };
      const res = await doFetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      const text = await res.text();
      if (!res.ok) {
        const said = providerMessageOf(text);
        throw new HttpStatusError(res.status, said.message, said.code, parseRetryAfterMs(res.headers));
      }
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (e) {
        // A 200 whose body does not parse was most likely cut off on the way: worth another attempt.
        throw new Error(`the answer is not JSON (${text.length} bytes): ${text.slice(0, 200)}`, { cause: e });
      }
    };

    const classify = (err: unknown): AttemptFailure => {
      if (err instanceof HttpStatusError) {
        const s = err.status;
        const retryable = (s === 429 && err.providerCode !== 'insufficient_quota') || s === 408 || s === 409 || s >= 500;
        if (retryable) return { retryable, retryAfterMs: err.retryAfterMs, reason: err.message };
        return { retryable: false, error: permanent(err, model, apiKey !== undefined) };
      }
      if (isNetworkError(err)) return { retryable: true, reason: `cannot reach ${baseUrl}: ${networkReason(err)}` };
      if (err instanceof Error && err.message.startsWith('the answer is not JSON')) return { retryable: true, reason: err.message };
      return { retryable: false };
    };

    const body = await withRetries({
      signal: options?.signal,
      provider: 'openai',
      target: `model '${model}' at ${baseUrl}`,
      policy: opts.retry,
      classify,
      attempt: async (signal) => {
        const json = jsonMode === true || (jsonMode === 'auto' && /json/i.test(prompt));
        try {
          return await request(signal, json);
        } catch (err) {
          // Some OpenAI-compatible servers do not know response_format: drop it for good and ask again.
          if (json && jsonMode === 'auto' && err instanceof HttpStatusError && (err.status === 400 || err.status === 422)) {
            if (JSON_MODE_REJECTED.test(err.providerMessage)) {
              jsonMode = false;
              return await request(signal, false);
            }
          }
          throw err;
        }
      },
    });

    const text = answerText(body);
    if (text === undefined) {
      throw new ModelProviderError(
        'openai',
        `the answer of model '${model}' at ${baseUrl} has no choices[0].message.content: ${JSON.stringify(body).slice(0, 300)}`,
      );
    }
    const usage = body.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
    const answer: LlmAnswer = { text, model: typeof body.model === 'string' ? body.model : model };
    if (usage && typeof usage === 'object') {
      answer.usage = {
        ...(typeof usage.prompt_tokens === 'number' ? { input_tokens: usage.prompt_tokens } : {}),
        ...(typeof usage.completion_tokens === 'number' ? { output_tokens: usage.completion_tokens } : {}),
      };
    }
    return answer;
  };
}

/** `ECONNREFUSED`, `fetch failed (ECONNRESET)`…: the most specific reason in an error's cause chain. */
function networkReason(err: unknown): string {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return err instanceof Error ? err.message : String(err);
}
