/** The public surface of the `soe` command package: the program, its errors, graph analysis, the local runtimes and the remote client. */
export { CliError, InputFileError, InvalidConfigError, RemoteError, UsageError } from './errors.js';
export type {
  AnalyzeGraphOptions,
  GraphChildLink,
  GraphEmission,
  GraphFinding,
  GraphNode,
  GraphWorkflow,
  SignalGraph,
} from './graph/analyze-graph.js';
export { analyzeGraph, externalSignals, graphNode, workflowsOf } from './graph/analyze-graph.js';
export { renderDot } from './graph/render-dot.js';
export { renderMermaid } from './graph/render-mermaid.js';
export type { Locator, Position } from './graph/yaml-locator.js';
export { createLocator } from './graph/yaml-locator.js';
export type { RuntimeSpec } from './input/parse-runtime.js';
export { parseRuntime } from './input/parse-runtime.js';
export type { CliRuntime, CliRuntimeOptions, RunOutcome, StartRequest } from './local/cli-runtime.js';
export { localRuntimeError, openCliRuntime } from './local/cli-runtime.js';
export type { ToolsModule } from './local/load-tools-module.js';
export { loadErrorLocation, loadToolsModule } from './local/load-tools-module.js';
export { CLI_VERSION, createProgram, main } from './program.js';
export type { FunctionKind, RemoteOptions } from './remote/remote-options.js';
export { functionFromOutputs, resolveFunction } from './remote/resolve-function.js';
export type { RemoteStartRequest, RemoteStatus, WaitResult } from './remote/soe-remote.js';
export { SoeRemote } from './remote/soe-remote.js';
