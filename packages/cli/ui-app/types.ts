// The JSON the `soe ui` server answers (see src/ui/execution-view.ts, which these mirror).

export interface GraphEmission {
  signal: string;
  condition?: string;
  onFailure?: boolean;
}
export interface GraphNode {
  workflow: string;
  name: string;
  type: string;
  triggers: string[];
  emissions: GraphEmission[];
  child?: { workflow: string; initialSignals: string[]; signalsToParent: string[]; fanOut?: string; missing: boolean };
  reachable: boolean;
}
export interface GraphWorkflow {
  name: string;
  nodes: GraphNode[];
  started: boolean;
  entrySignals: string[];
  reachingSignals: string[];
}
export type Event = { event_type: string; timestamp: string | number; execution_id: string } & Record<string, unknown>;

export interface NodeRun {
  id: string;
  executionId: string;
  node: string;
  type: string;
  start: number;
  end?: number;
  ok?: boolean;
  triggeredBy: string[];
  emitted: string[];
  selectedBy?: string;
  emissions?: Array<{ signal: string; condition?: string; emitted: boolean }>;
  outputs?: unknown;
  calls: Event[];
  error?: string;
  children: string[];
}
export interface ExecutionPart {
  executionId: string;
  parentId?: string;
  workflowName?: string;
  fields: Record<string, unknown[]>;
  operational?: Record<string, unknown>;
}
export type Status = 'RUNNING' | 'WAITING' | 'IDLE' | 'FAILED' | 'CANCELLED';
export interface ExecutionView {
  executionId: string;
  workflowName?: string;
  status: Status;
  error?: string;
  failedNode?: string;
  startedAt?: number;
  lastEventAt?: number;
  durationMs?: number;
  graph?: { initialWorkflow?: string; workflows: GraphWorkflow[] };
  awaited: Array<{ signal: string; received: boolean; nodes: string[] }>;
  signals: string[];
  ran: string[];
  parts: ExecutionPart[];
  runs: NodeRun[];
  usage: { calls: number; input_tokens: number; output_tokens: number; latency_ms: number; cost?: number };
  events: Event[];
  actions: { signal: boolean; cancel: boolean; redrive: boolean };
}
export interface ExecutionSummary {
  executionId: string;
  workflowName?: string;
  status: Status;
  startedAt?: number;
  durationMs?: number;
  nodes: number;
  tokens: number;
  children: number;
}
