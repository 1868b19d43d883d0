/** The agent node: a model loop that calls tools until it answers. */
import { templateVars } from '../context-view.js';
import { isRetryable } from '../errors.js';
import { formatProblems, validateAgainstSchema } from '../schema-validation.js';
import { renderTemplateAt } from '../templates/index.js';
import {
  failModelNode,
  finishModelNode,
  historyText,
  interpretAnswer,
  modelCallHook,
  modelNodeSettings,
  promptContext,
  providerConfig,
  withSystemPrompt,
} from './llm.js';
import { answerSchema, buildPrompt, callUntilValid, checkAnswer, parseAnswer, signalInstructions } from './llm-contract.js';
import { errorMessage, invokeTool } from './tool.js';
import { type NodeExecutor, siteOf, startOutcome } from './types.js';

/** Loop rounds an agent gets when the node does not set `max_iterations`. */
export const DEFAULT_MAX_ITERATIONS = 10;

/**
 * Most bytes of an agent's transcript (the conversation history its stages see). Past it, the oldest
 * tool results are replaced by a marker, so a long loop of large results cannot grow the prompt without bound.
 */
export const MAX_TRANSCRIPT_BYTES = 256 * 1024;
/** Most bytes of one tool result in the transcript; the rest is cut with a marker. */
const MAX_ENTRY_BYTES = MAX_TRANSCRIPT_BYTES / 4;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Cuts one transcript entry to {@link MAX_ENTRY_BYTES}. */
function cutEntry(entry: string): string {
  const size = bytes(entry);
  if (size <= MAX_ENTRY_BYTES) return entry;
  const kept = Buffer.from(entry, 'utf8')
    .subarray(0, MAX_ENTRY_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${kept}… [cut: ${size - bytes(kept)} more bytes]`;
}

/**
 * Adds an entry and keeps the transcript under {@link MAX_TRANSCRIPT_BYTES}: the oldest tool results
 * (entries `[tool …`) are elided first, each replaced by a one-line marker naming the tool.
 */
export function pushBounded(transcript: string[], entry: string, maxBytes = MAX_TRANSCRIPT_BYTES): void {
  transcript.push(cutEntry(entry));
  let total = transcript.reduce((n, e) => n + bytes(e) + 1, 0);
  for (let i = 0; i < transcript.length - 1 && total > maxBytes; i++) {
    const e = transcript[i]!;
    const tool = /^\[tool ([^\]]+)\]/.exec(e);
    if (!tool || e.endsWith('elided]')) continue;
    const marker = `[tool ${tool[1]}] result elided: ${bytes(e)} bytes, to keep the transcript under ${maxBytes} bytes; call the tool again if needed. [elided]`;
    total -= bytes(e) - bytes(marker);
    transcript[i] = marker;
  }
}

const ROUTER_INSTRUCTIONS =
  'You are the planning step of an agent. Decide the next action: call one of the available tools ' +
  '({"action": "call_tool", "tool_name": "<name>"}) or finish ({"action": "finish"}) when the task can be answered.';

const ROUTER_SCHEMA = {
  type: 'object',
  properties: { action: { type: 'string', enum: ['call_tool', 'finish'] }, tool_name: { type: 'string' } },
  required: ['action'],
};

/**
 * agent: a bounded loop of model stages. The router stage picks a tool or finishes; the parameter
 * stage writes the tool's arguments (validated against its JSON Schema); the tool runs and its result
 * or error becomes the next state; the response stage writes the answer as an llm node would.
 * Running out of `max_iterations`, or of `retries` consecutive tool failures, fails the agent.
 */
export const executeAgent: NodeExecutor = async (run, services) => {
  const outcome = startOutcome(run.nodeName);
  if (!services.callLlm) throw new Error(`node '${run.nodeName}' is an agent node but no callLlm was given to the engine`);
  const callLlm = services.callLlm;
  const node = run.node;
  const s = await modelNodeSettings(run, services);
  const source = String(node.prompt);
  const task = renderTemplateAt(source, templateVars(run.context), siteOf(run, 'prompt'));
  const context = promptContext(source, run.context);
  const toolNames = (Array.isArray(node.tools) ? node.tools : Array.isArray(node.available_tools) ? node.available_tools : []) as string[];
  const maxIterations = typeof node.max_iterations === 'number' ? node.max_iterations : DEFAULT_MAX_ITERATIONS;
  const identityHistory = s.historyKey ? await services.backends.conversationHistory?.getConversationHistory(s.historyKey) : undefined;
  const transcript: string[] = identityHistory?.length ? [historyText(identityHistory)] : [];
  const nodeConfig = providerConfig(node, run.nodeName, s.systemPrompt);
  const what = `workflow '${run.workflowName}', node '${run.nodeName}'`;
  const propagate = (e: unknown) => services.propagateTransient && isRetryable(e);
  const availableTools = toolNames.map((name) => {
    const t = services.resolveTool(name);
    return { name, description: t?.description ?? '', parameters: t?.parameters ?? { type: 'object' } };
  });

  try {
    let finished = false;
    let consecutiveToolErrors = 0;
    const unknownTools: string[] = [];
    for (let iteration = 1; iteration <= maxIterations && !finished; iteration++) {
      const routerHead = {
        instructions: ROUTER_INSTRUCTIONS,
        task_description: task,
        context,
        available_tools: availableTools,
        conversation_history: transcript.join('\n'),
      };
      const decision = await callUntilValid({
        callLlm,
        nodeConfig,
        signal: run.signal,
        retries: s.retries,
        propagate,
        what: `${what}, router stage`,
        prompt: withSystemPrompt(buildPrompt(routerHead, 'Choose the next action.', ROUTER_SCHEMA), s.systemPrompt),
        hooks: modelCallHook(run, outcome, services, 'router'),
        accept: (answer) => {
          const v = parseAnswer(answer);
          checkAnswer(v, ROUTER_SCHEMA);
          const d = v as { action: string; tool_name?: string };
          if (d.action === 'call_tool' && !d.tool_name) throw new Error('"tool_name" is required when action is "call_tool"');
          return d;
        },
      });
      if (decision.action === 'finish') {
        finished = true;
        break;
      }
      const toolName = String(decision.tool_name);
      const tool = toolNames.includes(toolName) ? services.resolveTool(toolName) : undefined;
      if (!tool) {
        unknownTools.push(toolName);
        pushBounded(
          transcript,
          `[router] chose tool '${toolName}', which is not available. Available tools: ${toolNames.join(', ') || 'none'}.`,
        );
        continue;
      }
      const schema = tool.parameters ?? { type: 'object' };
      const paramHead = { task_description: task, context, tool_name: toolName, conversation_history: transcript.join('\n') };
      const args = await callUntilValid({
        callLlm,
        nodeConfig,
        signal: run.signal,
        retries: s.retries,
        propagate,
        what: `${what}, parameter stage for tool '${toolName}'`,
        prompt: withSystemPrompt(
          buildPrompt(paramHead, `Write the arguments for the tool '${toolName}' as one JSON object.`, schema),
          s.systemPrompt,
        ),
        hooks: modelCallHook(run, outcome, services, 'parameter'),
        accept: (answer) => {
          const v = parseAnswer(answer);
          const problems = validateAgainstSchema(schema, v);
          if (problems.length) throw new Error(`the arguments do not match the tool's schema: ${formatProblems(problems)}`);
          return v;
        },
      });
      try {
        const result = await invokeTool(run, services, outcome, tool, args, { agent: true });
        consecutiveToolErrors = 0;
        pushBounded(
          transcript,
          `[tool ${toolName}] arguments: ${JSON.stringify(args)}\n[tool ${toolName}] result: ${JSON.stringify(result ?? null)}`,
        );
      } catch (e) {
        // The node's time is up: no more rounds.
        if (propagate(e) || run.signal?.aborted) throw e;
        consecutiveToolErrors++;
        pushBounded(transcript, `[tool ${toolName}] arguments: ${JSON.stringify(args)}\n[tool ${toolName}] error: ${errorMessage(e)}`);
        if (consecutiveToolErrors > s.retries)
          throw new Error(`${what}: tool '${toolName}' failed ${consecutiveToolErrors} times in a row; last error: ${errorMessage(e)}`);
      }
    }
    if (!finished) {
      // Say why: a model that keeps naming a tool the node does not have is a config or prompt problem.
      const unknown = [...new Set(unknownTools)];
      throw new Error(
        unknown.length
          ? `${what}: the agent chose tool${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `'${t}'`).join(', ')}, not among its tools (${toolNames.join(', ') || 'none'}), and did not finish within max_iterations (${maxIterations})`
          : `${what}: the agent did not finish within max_iterations (${maxIterations})`,
      );
    }

    const choose = s.mode === 'model' ? s.emissions : undefined;
    const schema = answerSchema({ outputField: s.outputField, fieldSchema: s.fieldSchema, signals: choose });
    const responseHead = { task_description: task, context, conversation_history: transcript.join('\n') };
    let instructions = `Write the final answer. Put it in "${s.outputField ?? 'output'}".`;
    if (choose) instructions += `\n${signalInstructions(choose)}`;
    let answerText = '';
    const { value, selected } = await callUntilValid({
      callLlm,
      nodeConfig,
      signal: run.signal,
      retries: s.retries,
      propagate,
      what: `${what}, response stage`,
      prompt: withSystemPrompt(buildPrompt(responseHead, instructions, schema), s.systemPrompt),
      hooks: modelCallHook(run, outcome, services, 'response'),
      accept: (answer) => {
        const r = interpretAnswer(answer, s, schema);
        answerText = answer;
        return r;
      },
    });
    finishModelNode(run, outcome, s, value, selected, services);
    if (s.historyKey && services.backends.conversationHistory) {
      await services.backends.conversationHistory.appendToConversationHistory(s.historyKey, { role: 'user', content: task });
      await services.backends.conversationHistory.appendToConversationHistory(s.historyKey, { role: 'assistant', content: answerText });
    }
  } catch (e) {
    return failModelNode(outcome, s, e, services);
  }
  return outcome;
};
