/**
 * Reads a model provider's API key from AWS Secrets Manager, for `createOpenAiCaller({ getApiKey })`:
 * the key never sits in the function's environment, and a rotated key is picked up within `ttlMs`.
 */
import { GetSecretValueCommand, type GetSecretValueCommandOutput, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorKind, ModelProviderError, TransientError } from '@soe/core';

/** How long a key read from the secret is reused before it is read again. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

/** The part of a Secrets Manager client the reader uses. */
export interface SecretValueClient {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
}

/** Options of {@link createSecretApiKeyReader}. */
export interface SecretApiKeyReaderOptions {
  /** The secret's ARN or name. */
  secretId: string;
  /** @default a SecretsManagerClient created on first use */
  client?: SecretValueClient;
  /** @default 300000 (5 minutes) */
  ttlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Keys of a JSON secret that hold the API key, tried in order. */
const KEY_FIELDS = ['api_key', 'apiKey', 'OPENAI_API_KEY', 'key', 'token'];

/** The API key in a secret: the whole string, or one field of a JSON object (`{"api_key": "…"}`). */
export function apiKeyFromSecret(secretString: string, secretId: string): string {
  const text = secretString.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text;
    }
    const obj = parsed as Record<string, unknown>;
    for (const field of KEY_FIELDS) {
      const v = obj[field];
      if (typeof v === 'string' && v.trim()) return v.trim();
    }
    throw new ModelProviderError(
      'secrets',
      `secret '${secretId}' is a JSON object without an API key: store the key as plain text, or under one of ${KEY_FIELDS.join(', ')}`,
    );
  }
  if (!text) throw new ModelProviderError('secrets', `secret '${secretId}' is empty: store the API key in it`);
  return text;
}

/**
 * Creates a function that returns the API key held in a Secrets Manager secret, cached for `ttlMs`.
 * Concurrent calls share one read. Throttling, 5xx and network failures throw `TransientError`
 * (the message is retried); access denied, a missing secret or an unusable value throw
 * `ModelProviderError` (permanent) naming the secret and what the worker's role needs.
 * @example
 * const callLlm = createOpenAiCaller({ getApiKey: createSecretApiKeyReader({ secretId: process.env.SOE_MODEL_SECRET_ARN! }) });
 */
export function createSecretApiKeyReader(opts: SecretApiKeyReaderOptions): () => Promise<string> {
  const ttlMs = opts.ttlMs ?? DEFAULT_SECRET_TTL_MS;
  const now = opts.now ?? Date.now;
  let client = opts.client;
  let cached: { key: string; at: number } | undefined;
  let inFlight: Promise<string> | undefined;

  const read = async (): Promise<string> => {
    client ??= new SecretsManagerClient({});
    let out: GetSecretValueCommandOutput;
    try {
      out = await client.send(new GetSecretValueCommand({ SecretId: opts.secretId }));
    } catch (err) {
      const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
      const name = typeof e.name === 'string' ? e.name : 'Error';
      const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
      const reason = `${name}: ${typeof e.message === 'string' ? e.message : String(err)}`;
      if (errorKind(err) === 'transient') {
        throw new TransientError(`secrets: cannot read the API key from secret '${opts.secretId}' right now (${reason})`, { cause: err });
      }
      throw new ModelProviderError(
        'secrets',
        `cannot read the API key from secret '${opts.secretId}' (${reason}): check that it exists in this region and that the worker's role may secretsmanager:GetSecretValue it (and kms:Decrypt its key)`,
        { status, cause: err },
      );
    }
    if (typeof out.SecretString !== 'string') {
      throw new ModelProviderError('secrets', `secret '${opts.secretId}' has no SecretString (a binary secret): store the API key as text`);
    }
    return apiKeyFromSecret(out.SecretString, opts.secretId);
  };

  return async () => {
    if (cached && now() - cached.at < ttlMs) return cached.key;
    inFlight ??= read()
      .then((key) => {
        cached = { key, at: now() };
        return key;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}
