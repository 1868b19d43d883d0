/**
 * What the providers read from a call: the system prompt of the node's identity and the user message,
 * and the node's model settings (`model`, `temperature`, `max_tokens`).
 */

/** A prompt split into the system message and the user message. */
export interface ChatParts {
  /** The identity's system prompt, when the node has one. */
  system?: string;
  /** The prompt without the `System: …` prefix that carries the system prompt in the text. */
  user: string;
}

/**
 * Splits a prompt for a provider with a system role. The engine keeps the identity's system prompt in
 * the prompt text (as a `System: …` line, so every model sees it) and also passes it as
 * `nodeConfig.system_prompt`; a provider sends it as a system message and strips the prefix, so the
 * model does not read it twice.
 * @example
 * const { system, user } = splitSystemPrompt(prompt, nodeConfig);
 */
export function splitSystemPrompt(prompt: string, nodeConfig: Record<string, unknown>): ChatParts {
  const system = nodeConfig.system_prompt;
  if (typeof system !== 'string' || system === '') return { user: prompt };
  const prefix = `System: ${system}\n\n`;
  return { system, user: prompt.startsWith(prefix) ? prompt.slice(prefix.length) : prompt };
}

/** A node's model settings: its own `model`, `temperature` and `max_tokens` over the provider's defaults. */
export interface ModelSettings {
  model?: string;
  temperature?: number;
  maxTokens?: number;
}

/** Reads `model`, `temperature` and `max_tokens` from the node config, falling back to `defaults`. */
export function modelSettings(nodeConfig: Record<string, unknown>, defaults: ModelSettings = {}): ModelSettings {
  const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    model: str(nodeConfig.model) ?? defaults.model,
    temperature: num(nodeConfig.temperature) ?? defaults.temperature,
    maxTokens: num(nodeConfig.max_tokens) ?? defaults.maxTokens,
  };
}
