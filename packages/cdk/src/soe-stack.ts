/** `SoeStack`: a ready stack holding one {@link SoeOrchestrator}, with outputs naming what a client calls. */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ContextDefaults, orchestratorPropsFromContext } from './app-context.js';
import { SoeOrchestrator } from './soe-orchestrator.js';
import type { SoeOrchestratorProps } from './soe-orchestrator-props.js';

/** Properties of {@link SoeStack}: the stack's own plus everything {@link SoeOrchestratorProps} offers. */
export interface SoeStackProps extends StackProps {
  /**
   * The orchestrator's settings.
   * @default - read from context (`-c soe:workflowsDir=workflows -c soe:modelProvider=…`, see
   * app-context.ts), falling back to {@link contextDefaults}
   */
  readonly orchestrator?: SoeOrchestratorProps;

  /**
   * What the stack deploys when neither {@link orchestrator} nor a context key says otherwise.
   * @default - no workflows folder, no tools module, no model provider
   */
  readonly contextDefaults?: ContextDefaults;
}

/**
 * A ready stack: one {@link SoeOrchestrator} and outputs naming what a client calls — the functions, the
 * table and the queues. SOE's own `bin/app.ts` deploys it as `Soe`.
 * @example
 * new SoeStack(app, 'Soe', { orchestrator: { workflowsDir: 'workflows', modelProvider: 'bedrock', modelId } });
 */
export class SoeStack extends Stack {
  public readonly orchestrator: SoeOrchestrator;

  constructor(scope: Construct, id: string, props: SoeStackProps = {}) {
    const { orchestrator: _orchestrator, contextDefaults: _defaults, ...stackProps } = props;
    super(scope, id, {
      description: 'SOE: signal-driven orchestration of LLM and agent workflows (DynamoDB, SQS, Lambda)',
      ...stackProps,
    });
    const soe = new SoeOrchestrator(this, 'Soe', props.orchestrator ?? orchestratorPropsFromContext(this, props.contextDefaults));
    this.orchestrator = soe;

    const out = (outputId: string, value: string, description: string) => new CfnOutput(this, outputId, { value, description });
    out(
      'StartFunctionName',
      soe.startFunction.functionName,
      'Invoke with {"workflowName"|"config", "initialWorkflowName", "initialSignals", "initialContext"?}',
    );
    out('SignalFunctionName', soe.signalFunction.functionName, 'Invoke with {"executionId", "signals"}');
    out('StatusFunctionName', soe.statusFunction.functionName, 'Invoke with {"executionId", "includeContext"?}');
    out('WorkerFunctionName', soe.workerFunction.functionName, 'The SQS worker');
    out('WorkerLogGroupName', soe.workerFunction.logGroup.logGroupName, 'The worker logs (aws logs tail <this>)');
    out('TableName', soe.table.tableName, 'DynamoDB table of executions, context records and telemetry');
    out('QueueUrl', soe.queue.queueUrl, 'FIFO signal queue');
    out('DeadLetterQueueUrl', soe.deadLetterQueue.queueUrl, 'Dead-letter queue of the signal queue');
    out('DelayQueueUrl', soe.delayQueue.queueUrl, 'Delay queue (spawn_interval)');
    out('DelayDeadLetterQueueUrl', soe.delayDeadLetterQueue.queueUrl, 'Dead-letter queue of the delay queue');
    out('DeadLetterFunctionName', soe.deadLetterFunction.functionName, 'Marks the execution of every dead-lettered message FAILED');
    out(
      'DeadLetterLogGroupName',
      soe.deadLetterFunction.logGroup.logGroupName,
      'The dead-letter consumer logs: which executions it marked FAILED, and why',
    );
    out('DeployedWorkflows', soe.deployedWorkflows.join(',') || '-', 'Workflow files the start function knows by name');
  }
}
