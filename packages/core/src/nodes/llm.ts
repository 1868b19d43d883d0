/** The llm node: one model call whose answer is checked and stored. */
import { isDeepStrictEqual } from 'node:util';
import { markOwnedValues } from '../backends/apply-update.js';
import { NOT_DIRECT, schemaNow } from '../backends/direct.js';
import { schemaForField } from '../context-schema.js';
import { newest, referencedFields, templateVars } from '../context-view.js';
import { isRetryable } from '../errors.js';
import { deepFreeze } from '../registry.js';
import type { LazyText } from '../step-capture.js';
import {
  type CompiledTemplate,
  compileTemplateAt,
  contextReadsOf,
  planOfTemplate,
  renderCompiledAt,
  renderPlanAt,
  renderTemplateAt,
} from '../templates/index.js';
import type { Plan } from '../templates/interpret.js';
import type { CallLlm, ConversationMessage, EventEmission, JSONSchema, LlmAnswer, NodeConfig, StoredContext } from '../types.js';
import { emissionsOf, emitWhere, selectionMode, unconditionalOf } from './emissions.js';
import {
  answerSchema,
  type CallHooks,
  callUntilValid,
  checkAnswer,
  composeLlmPrompt,
  type ModelCallOptions,
  type PromptShape,
  parseAnswer,
  promptValues,
  signalInstructions,
} from './llm-contract.js';
import {
  addCounter,
  appendField,
  type NodeExecutor,
  type NodeOutcome,
  type NodeRun,
  type NodeServices,
  siteOf,
  startOutcome,
} from './types.js';

/** Settings shared by llm and agent nodes. */
export interface ModelNodeSettings {
  outputField?: string;
  retries: number;
  failureSignal?: string;
  /** The conversation history key, when the node has an identity. */
  historyKey?: string;
  systemPrompt?: string;
  fieldSchema?: JSONSchema;
  emissions: EventEmission[];
  mode: 'engine' | 'model' | 'none';
}

/** Default number of extra attempts when an answer is unusable. */
export const DEFAULT_LLM_RETRIES = 3;

/** The settings of an llm or agent node that its config alone gives. */
function configSettings(node: NodeConfig): ModelNodeSettings {
  const emissions = emissionsOf(node);
  const mode = selectionMode(emissions);
  // Every field named here, those set later too: a field added to a record made from a literal
  // grows it a second store of fields.
  return {
    outputField: typeof node.output_field === 'string' ? node.output_field : undefined,
    retries: typeof node.retries === 'number' ? node.retries : DEFAULT_LLM_RETRIES,
    failureSignal: typeof node.llm_failure_signal === 'string' ? node.llm_failure_signal : undefined,
    historyKey: undefined,
    systemPrompt: undefined,
    fieldSchema: undefined,
    emissions,
    mode,
  };
}

const hasIdentity = (node: NodeConfig): boolean => typeof node.identity === 'string' && node.identity !== '';

/** Resolves identity, system prompt, output schema and retry settings of an llm or agent node. */
export async function modelNodeSettings(run: NodeRun, services: NodeServices): Promise<ModelNodeSettings> {
  const node = run.node;
  const mainId = run.context.__operational__?.main_execution_id ?? run.executionId;
  const settings = configSettings(node);
  if (hasIdentity(node)) {
    const identity = renderTemplateAt(String(node.identity), templateVars(run.context), siteOf(run, 'identity')).trim();
    if (identity) {
      // The identity turns history on; history belongs to the main execution, so children share it.
      settings.historyKey = mainId;
      const prompt = await services.backends.identity?.getIdentity(mainId, identity);
      if (prompt) settings.systemPrompt = prompt;
    }
  }
  if (settings.outputField) {
    const schema = await services.backends.contextSchema?.getContextSchema(mainId);
    settings.fieldSchema = schemaForField(schema, settings.outputField);
  }
  return settings;
}

/**
 * {@link modelNodeSettings} without a promise, for a node without an identity (no history to read)
 * whose context schema, if any, is in a built-in backend; undefined for any other.
 */
function modelNodeSettingsNow(run: NodeRun, services: NodeServices, memo: LlmNodeMemo): ModelNodeSettings | undefined {
  if (hasIdentity(run.node)) return undefined;
  const base = settingsOf(run, memo);
  const schemas = services.backends.contextSchema;
  if (base.outputField && schemas) {
    const schema = schemaNow(schemas, run.context.__operational__?.main_execution_id ?? run.executionId);
    if (schema === NOT_DIRECT) return undefined;
    const fieldSchema = schemaForField(schema, base.outputField);
    if (fieldSchema !== undefined) return { ...settingsFields(base), fieldSchema };
  }
  return base;
}

/**
 * What a node's config alone says of its settings: the memo itself when the config cannot change
 * (the engine's are frozen), read and not changed by the run; made again per run otherwise.
 */
function settingsOf(run: NodeRun, memo: LlmNodeMemo): Readonly<ModelNodeSettings> {
  return memo.config === run.node ? memo : configSettings(run.node);
}

/** The settings fields of `s` as a record of their own (the memo that holds them holds more). */
function settingsFields(s: Readonly<ModelNodeSettings>): ModelNodeSettings {
  return {
    outputField: s.outputField,
    retries: s.retries,
    failureSignal: s.failureSignal,
    historyKey: s.historyKey,
    systemPrompt: s.systemPrompt,
    fieldSchema: s.fieldSchema,
    emissions: s.emissions,
    mode: s.mode,
  };
}

/** Formats a conversation history as text for the prompt. */
export function historyText(history: ConversationMessage[]): string {
  return history.map((m) => `${m.role}: ${m.content}`).join('\n');
}

/** The JSON of the context fields a prompt template refers to. */
export function promptContext(source: string, ctx: StoredContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of referencedFields(source)) {
    const v = newest(ctx, f);
    if (v !== undefined) out[f] = v;
  }
  return out;
}

/** The answer contract of an llm node: the answer's JSON Schema and the instructions before it. */
interface AnswerContract {
  readonly fieldSchema: JSONSchema | undefined;
  readonly schema: JSONSchema;
  readonly instructions: string;
}

// A contract with no field schema and no signals to choose depends on the output field's name alone:
// node configs share it, and with it one schema and one prompt tail (up to this many names).
const plainContracts = new Map<string, AnswerContract>();
const PLAIN_CONTRACTS = 1024;

/**
 * What the runs of one llm node config share, made on its first run: the prompt template (compiled),
 * the context fields it refers to, whether its text depends on those alone (see contextReadsOf), the
 * answer contract and the prompt's shape; and, for a frozen config, the settings its runs read (the
 * memo is their settings record). One record per node: a run finds it on its memo (see NodeMemo), or
 * by config when it has none. With many node configs, what a run reads of its own is then in few
 * places in memory, each one more read that the CPU's caches may no longer hold.
 */
class LlmNodeMemo implements Readonly<ModelNodeSettings> {
  readonly outputField: string | undefined;
  readonly retries: number;
  readonly failureSignal: string | undefined;
  readonly historyKey: string | undefined = undefined;
  readonly systemPrompt: string | undefined = undefined;
  readonly fieldSchema: JSONSchema | undefined = undefined;
  readonly emissions: EventEmission[];
  readonly mode: ModelNodeSettings['mode'];
  /** While the field's schema stays the same (a backend may hand out a new copy per read). */
  contract: AnswerContract | undefined = undefined;
  shape: PromptShape | undefined = undefined;
  constructor(
    /** The node config it was made for, when that config is frozen: its runs read the settings here. */
    readonly config: NodeConfig | undefined,
    readonly source: string,
    readonly template: CompiledTemplate,
    /** The template's plan, when it has one: rendered from here, the compiled record is not read. */
    readonly plan: Plan | null,
    readonly fields: readonly string[],
    readonly again: boolean,
    settings: ModelNodeSettings,
  ) {
    this.outputField = settings.outputField;
    this.retries = settings.retries;
    this.failureSignal = settings.failureSignal;
    this.emissions = settings.emissions;
    this.mode = settings.mode;
  }
}
const memos = new WeakMap<NodeConfig, LlmNodeMemo>();

// The lists of fields prompts refer to, shared by the prompts that refer to the same (most prompts of
// a workflow read the same few fields): a run then reads a list that other nodes keep in cache.
const fieldLists = new Map<string, readonly string[]>();
const FIELD_LISTS = 1024;

function sharedFields(source: string): readonly string[] {
  const fields = referencedFields(source);
  const key = fields.join('\u0000');
  let shared = fieldLists.get(key);
  if (!shared) {
    shared = Object.freeze(fields);
    if (fieldLists.size < FIELD_LISTS) fieldLists.set(key, shared);
  }
  return shared;
}

function memoOf(run: NodeRun): LlmNodeMemo {
  const held = run.memo;
  let memo = (held ? held.llm : memos.get(run.node)) as LlmNodeMemo | undefined;
  // Found by the config itself: comparing the prompt text would read it, one more place in memory per run.
  if (memo !== undefined && memo.config === run.node) return memo;
  const source = String(run.node.prompt);
  if (memo?.source !== source) {
    const template = compileTemplateAt(source, siteOf(run, 'prompt'));
    const fields = sharedFields(source);
    const again = contextReadsOf(source)?.every((f) => fields.includes(f)) === true;
    const config = Object.isFrozen(run.node) ? run.node : undefined;
    memo = new LlmNodeMemo(config, source, template, planOfTemplate(template), fields, again, configSettings(run.node));
    if (held) held.llm = memo;
    else memos.set(run.node, memo);
  }
  return memo;
}

/** The node's answer contract: its runs share one schema (ajv finds its validator by the object) and one prompt tail. */
function contractOf(memo: LlmNodeMemo, s: ModelNodeSettings): AnswerContract {
  const known = memo.contract;
  if (known && (known.fieldSchema === s.fieldSchema || isDeepStrictEqual(known.fieldSchema, s.fieldSchema))) return known;
  const choose = s.mode === 'model' ? s.emissions : undefined;
  const plain = s.fieldSchema === undefined && !choose ? (s.outputField ?? '') : undefined;
  let contract = plain === undefined ? undefined : plainContracts.get(plain);
  if (!contract) {
    let instructions = `Answer the prompt. Put your answer in "${s.outputField ?? 'output'}".`;
    if (choose) instructions += `\n${signalInstructions(choose)}`;
    contract = {
      fieldSchema: s.fieldSchema,
      schema: answerSchema({ outputField: s.outputField, fieldSchema: s.fieldSchema, signals: choose }),
      instructions,
    };
    // Shared by node configs: frozen, so that no run can change it for the others.
    if (plain !== undefined && plainContracts.size < PLAIN_CONTRACTS) plainContracts.set(plain, deepFreeze(contract));
  }
  memo.contract = contract;
  return contract;
}

/**
 * Prefixes the identity's system prompt as a `System: …` line. The prompt text keeps it, so every
 * `callLlm` sees it; providers with a system role also get it as `nodeConfig.system_prompt` (see
 * {@link providerConfig}) and send it as a system message, stripping this prefix.
 */
export function withSystemPrompt(prompt: string, systemPrompt: string | undefined): string {
  // Joined into one flat string, as buildPrompt's (telemetry keeps it).
  return systemPrompt ? ['System: ', systemPrompt, '\n\n', prompt].join('') : prompt;
}

/**
 * Turns a parsed answer into the output value and the selected signals, accepting the bare value
 * when the schema types the field and no signals are to be chosen.
 */
export function interpretAnswer(
  answer: string,
  s: ModelNodeSettings,
  schema: JSONSchema,
): { value: unknown; selected: string[] | undefined } {
  const parsed = parseAnswer(answer);
  const key = s.outputField ?? 'output';
  const isObj = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (!s.outputField && s.mode !== 'model') {
    // Without an output_field the answer is not stored: any JSON object will do.
    if (!isObj) throw new Error('the answer must be a JSON object');
    return { value: (parsed as Record<string, unknown>).output, selected: undefined };
  }
  if (isObj && key in (parsed as object)) {
    checkAnswer(parsed, schema);
    const obj = parsed as Record<string, unknown>;
    return { value: obj[key], selected: Array.isArray(obj.selected_signals) ? (obj.selected_signals as string[]) : undefined };
  }
  if (s.fieldSchema && s.mode !== 'model') {
    checkAnswer({ [key]: parsed }, schema);
    return { value: parsed, selected: undefined };
  }
  throw new Error(`the answer must be a JSON object with the key "${key}"`);
}

/** Applies the answer's effects and chooses the signals (shared by the llm node and the agent's response stage). */
export function finishModelNode(
  run: NodeRun,
  outcome: NodeOutcome,
  s: ModelNodeSettings,
  value: unknown,
  selected: string[] | undefined,
  services: NodeServices,
): void {
  if (s.outputField) appendField(outcome, s.outputField, value === undefined ? null : value);
  if (s.mode === 'engine')
    outcome.emit = unconditionalOf(run) ?? emitWhere(run, services, s.emissions, () => templateVars(run.context, outcome.update));
  else if (s.mode === 'model') {
    const offered = new Set(s.emissions.map((e) => e.signal_name));
    outcome.emit = (selected ?? []).filter((x) => offered.has(x));
  }
}

/** Handles a model failure: the failure signal if the node has one, else a node error. */
export function failModelNode(outcome: NodeOutcome, s: ModelNodeSettings, error: unknown, services: NodeServices): NodeOutcome {
  if (services.propagateTransient && isRetryable(error)) throw error;
  const err = error instanceof Error ? error : new Error(String(error));
  // Every failure counts, handled or not, as for tool nodes, and its reason goes to telemetry (node_error)
  // and the trace. The output field stays unset: upstream's contract, checked by the conformance suite.
  addCounter(outcome, 'errors');
  if (s.failureSignal) {
    outcome.emit = [s.failureSignal];
    outcome.handledError = err;
    return outcome;
  }
  outcome.error = err;
  return outcome;
}

/** Records a model call in the counters and telemetry. */
export function modelCallHook(run: NodeRun, outcome: NodeOutcome, services: NodeServices, stage: string): CallHooks {
  return {
    onCall(attempt: number, latencyMs: number, error?: unknown, answer?: LlmAnswer, prompt?: string | LazyText) {
      recordModelCall(run, outcome, services, stage, attempt, latencyMs, error, answer, prompt);
    },
  };
}

/** Counts a model call in the outcome and logs it as an `llm_call` event. */
function recordModelCall(
  run: NodeRun,
  outcome: NodeOutcome,
  services: NodeServices,
  stage: string,
  attempt: number,
  latencyMs: number,
  error: unknown,
  answer: LlmAnswer | undefined,
  prompt: string | LazyText | undefined,
): void {
  addCounter(outcome, 'llm_calls');
  const tokens = (answer?.usage?.input_tokens ?? 0) + (answer?.usage?.output_tokens ?? 0);
  if (tokens > 0) addCounter(outcome, 'tokens', tokens);
  // Fields set one by one, in this order, rather than spread from a record made per field.
  const data: Record<string, unknown> = { node_name: run.nodeName, stage, attempt, latency_ms: latencyMs, ok: error === undefined };
  if (answer?.usage) {
    data.input_tokens = answer.usage.input_tokens ?? 0;
    data.output_tokens = answer.usage.output_tokens ?? 0;
  }
  if (answer?.model) data.model = answer.model;
  if (error !== undefined) data.error = error instanceof Error ? error.message : String(error);
  // Step I/O: capped and redacted by the engine's telemetry (step-capture.ts).
  if (prompt !== undefined) data.prompt = prompt;
  if (answer) data.response = answer.text;
  void services.telemetry(run.executionId, 'llm_call', data, true);
}

/**
 * The node config as the model provider sees it (plain data): the node's YAML fields (`model`,
 * `temperature`, `max_tokens`…), `node_name`, and `system_prompt` when the node has an identity.
 */
export function providerConfig(node: NodeConfig, nodeName: string, systemPrompt?: string): Record<string, unknown> {
  const config: Record<string, unknown> = { ...node, node_name: nodeName };
  if (systemPrompt) config.system_prompt = systemPrompt;
  else delete config.system_prompt;
  return config;
}

/**
 * llm: renders the prompt, calls the model under the JSON contract (retrying unusable answers with
 * the error fed back), stores the answer's value in `output_field` and emits signals — by evaluating
 * Jinja conditions, or by the model's `selected_signals` when conditions are descriptions.
 */
export const executeLlm: NodeExecutor = async (run, services) => {
  const outcome = startOutcome(run.nodeName);
  const callLlm = modelOf(run, services);
  const s = await modelNodeSettings(run, services);
  const history = s.historyKey ? await services.backends.conversationHistory?.getConversationHistory(s.historyKey) : undefined;
  return askModel(run, services, callLlm, outcome, s, history);
};

/**
 * {@link executeLlm}, answering with the outcome itself when nothing it reads or calls answers with a
 * promise: a node without an identity, a context schema in a built-in backend (or none), and a model
 * that answers synchronously (a stub in tests, a cache).
 */
export function executeLlmNow(run: NodeRun, services: NodeServices): NodeOutcome | Promise<NodeOutcome> {
  const callLlm = modelOf(run, services);
  const memo = memoOf(run);
  const s = modelNodeSettingsNow(run, services, memo);
  if (!s) return executeLlm(run, services);
  return askModel(run, services, callLlm, startOutcome(run.nodeName), s, undefined, memo);
}

function modelOf(run: NodeRun, services: NodeServices): CallLlm {
  if (!services.callLlm) throw new Error(`node '${run.nodeName}' is an llm node but no callLlm was given to the engine`);
  return services.callLlm;
}

/** An llm node once its settings and history are read: the prompt made, the model asked, the answer applied. */
function askModel(
  run: NodeRun,
  services: NodeServices,
  callLlm: CallLlm,
  outcome: NodeOutcome,
  s: ModelNodeSettings,
  history: ConversationMessage[] | undefined,
  memo: LlmNodeMemo = memoOf(run),
): NodeOutcome | Promise<NodeOutcome> {
  const vars = templateVars(run.context);
  const rendered =
    memo.plan !== null
      ? renderPlanAt(memo.plan, vars, () => siteOf(run, 'prompt'))
      : renderCompiledAt(memo.template, vars, siteOf(run, 'prompt'));
  const { schema, instructions } = contractOf(memo, s);
  const fields = memo.fields;
  const head = {
    rendered,
    fields,
    values: promptValues(fields, (f) => newest(run.context, f)),
    history: history ? historyText(history) : '',
    source: memo.again ? memo.source : undefined,
  };
  const prompt = composeLlmPrompt(memo, head, instructions, schema, s.systemPrompt);
  const call = new LlmCall(run, services, outcome, s, schema, callLlm, prompt.text, prompt.parts, rendered);
  try {
    const answered = callUntilValid(call);
    if (answered instanceof Promise) return settleModel(run, services, outcome, s, answered, call);
    finishModelNode(run, outcome, s, answered.value, answered.selected, services);
    // The value was parsed from the answer for this run, and is all it appends: the store keeps it as it is.
    if (outcome.update.fields) markOwnedValues(outcome.update);
  } catch (e) {
    return failModelNode(outcome, s, e, services);
  }
  return s.historyKey ? remember(services, s.historyKey, call).then(() => outcome) : outcome;
}

/**
 * The model call of one llm node run: what {@link callUntilValid} needs, its hooks, and the answer it
 * accepted (for the conversation history). One record per run, rather than closures over the run.
 */
class LlmCall implements ModelCallOptions<{ value: unknown; selected: string[] | undefined }>, CallHooks {
  /** The accepted answer's text. */
  answer = '';
  constructor(
    private readonly run: NodeRun,
    private readonly services: NodeServices,
    private readonly outcome: NodeOutcome,
    private readonly settings: ModelNodeSettings,
    private readonly schema: JSONSchema,
    readonly callLlm: CallLlm,
    readonly prompt: string,
    readonly shownPrompt: LazyText,
    /** The rendered template, as the conversation history keeps it. */
    readonly rendered: string,
  ) {}
  get nodeConfig(): Record<string, unknown> {
    return providerConfig(this.run.node, this.run.nodeName, this.settings.systemPrompt);
  }
  get retries(): number {
    return this.settings.retries;
  }
  get hooks(): CallHooks {
    return this;
  }
  get what(): string {
    return `workflow '${this.run.workflowName}', node '${this.run.nodeName}'`;
  }
  get signal(): AbortSignal | undefined {
    return this.run.signal;
  }
  accept(answer: string): { value: unknown; selected: string[] | undefined } {
    const r = interpretAnswer(answer, this.settings, this.schema);
    this.answer = answer;
    return r;
  }
  propagate(e: unknown): boolean {
    return this.services.propagateTransient && isRetryable(e);
  }
  onCall(attempt: number, latencyMs: number, error?: unknown, answer?: LlmAnswer, prompt?: string | LazyText): void {
    recordModelCall(this.run, this.outcome, this.services, 'llm', attempt, latencyMs, error, answer, prompt);
  }
}

/** The rest of {@link askModel} once the model answers with a promise. */
async function settleModel(
  run: NodeRun,
  services: NodeServices,
  outcome: NodeOutcome,
  s: ModelNodeSettings,
  answered: Promise<{ value: unknown; selected: string[] | undefined }>,
  said: { rendered: string; answer: string },
): Promise<NodeOutcome> {
  try {
    const { value, selected } = await answered;
    finishModelNode(run, outcome, s, value, selected, services);
  } catch (e) {
    return failModelNode(outcome, s, e, services);
  }
  if (s.historyKey) await remember(services, s.historyKey, said);
  return outcome;
}

/** Adds the prompt's rendered text and the accepted answer to the conversation history. */
async function remember(services: NodeServices, historyKey: string, said: { rendered: string; answer: string }): Promise<void> {
  const histories = services.backends.conversationHistory;
  if (!histories) return;
  await histories.appendToConversationHistory(historyKey, { role: 'user', content: said.rendered });
  await histories.appendToConversationHistory(historyKey, { role: 'assistant', content: said.answer });
}
