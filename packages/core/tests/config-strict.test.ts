import { describe, expect, it } from 'vitest';
import {
  createBuiltinTools,
  createEngine,
  createInMemoryBackends,
  createScriptedLlm,
  MAX_ITERATIONS,
  MAX_RETRIES,
  orchestrate,
  parseConfig,
  prepareExecution,
  validateConfig,
  WorkflowValidationError,
} from '../src/index.js';

const node = (extra: string) => `main:\n  A:\n    node_type: llm\n    event_triggers: [START]\n    prompt: hi\n${extra}`;

/** The issues of a config, errors and warnings apart. */
function issuesOf(yaml: string, strict = false) {
  const all = validateConfig(yaml, { strict });
  return { errors: all.filter((i) => i.severity !== 'warning'), warnings: all.filter((i) => i.severity === 'warning') };
}

describe('unknown keys', () => {
  it.each([
    ['promt: x', 'promt', 'prompt'],
    ['output_feild: x', 'output_feild', 'output_field'],
    ['temprature: 0.1', 'temprature', 'temperature'],
    ['event_trigger: [X]', 'event_trigger', 'event_triggers'],
    ['llm_failure_sigal: F', 'llm_failure_sigal', 'llm_failure_signal'],
  ])('%s is an error naming the key and suggesting the known one', (line, key, known) => {
    const { errors } = issuesOf(node(`    ${line}\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ workflow: 'main', node: 'A', field: key, line: 6 });
    expect(errors[0]!.message).toContain(`did you mean '${known}'`);
  });

  it('a misspelt condition on an emission is an error, so a guarded branch cannot fire unconditionally', () => {
    const { errors } = issuesOf(node(`    event_emissions:\n      - { signal_name: OK, conditon: "{{ false }}" }\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ field: 'event_emissions[0].conditon' });
    expect(errors[0]!.message).toContain("did you mean 'condition'");
  });

  it.each(['if', 'when', 'emit', 'signal', 'triggers', 'type', 'tool', 'function', 'available_tools', 'tool_names', 'retry'])(
    'the trap %s is an error saying what to write instead',
    (key) => {
      const { errors } = issuesOf(node(`    ${key}: x\n`));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ node: 'A', field: key });
      expect(errors[0]!.message).toMatch(/use |did you mean|does not apply/);
    },
  );

  it('a key of another node type is an error naming the types it belongs to', () => {
    const { errors } = issuesOf(
      'main:\n  R:\n    node_type: router\n    event_triggers: [START]\n    prompt: hi\n    event_emissions: [{ signal_name: X }]\n',
    );
    expect(errors[0]!.message).toContain("'prompt' does not apply to router nodes (a key of llm, agent nodes)");
  });

  it('nodeType for node_type and an unknown node_type both suggest the right spelling', () => {
    const missing = issuesOf('main:\n  A:\n    nodeType: router\n    event_triggers: [START]\n').errors;
    expect(missing[0]!.message).toContain("found 'nodeType': did you mean 'node_type'?");
    const typo = issuesOf('main:\n  A:\n    node_type: routr\n    event_triggers: [START]\n').errors;
    expect(typo[0]!.message).toContain("did you mean 'router'?");
  });

  it('any other unknown key is a warning: accepted by parseConfig, refused in strict mode', () => {
    const yaml = node('    description: drafts the answer\n    tags: [a]\n');
    const { errors, warnings } = issuesOf(yaml);
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.field)).toEqual(['description', 'tags']);
    expect(parseConfig(yaml).warnings).toHaveLength(2);
    expect(() => parseConfig(yaml, { strict: true })).toThrow(/field 'description'/);
  });

  it('a warning reaches the answer of prepareExecution, and strict: true refuses the start', async () => {
    const backends = createInMemoryBackends();
    const yaml = node('    description: drafts\n');
    const prepared = await prepareExecution({ config: yaml, initialWorkflowName: 'main', initialSignals: ['START'], backends });
    expect(prepared.warnings?.[0]).toMatchObject({ node: 'A', field: 'description', severity: 'warning' });
    await expect(
      prepareExecution({ config: yaml, initialWorkflowName: 'main', initialSignals: ['START'], backends, strict: true }),
    ).rejects.toThrow(WorkflowValidationError);
  });
});

describe('names', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    '%s is refused as workflow, node, output_field and identity name',
    (name) => {
      const yaml = `workflows:\n  ${name}:\n    ${name}:\n      node_type: llm\n      event_triggers: [START]\n      prompt: hi\n      output_field: ${name}\nidentities:\n  ${name}: You are.\n`;
      const { errors } = issuesOf(yaml);
      const fields = errors.map((e) => `${e.workflow ?? ''}/${e.node ?? ''}/${e.field ?? ''}`);
      expect(fields).toEqual(
        expect.arrayContaining([`${name}//`, `${name}/${name}/`, `${name}/${name}/output_field`, `//identities.${name}`]),
      );
      for (const e of errors) expect(e.message).toContain('Object.prototype');
    },
  );

  it('a child workflow named like an Object.prototype member is not taken for a defined one', () => {
    const { errors } = issuesOf(
      'main:\n  Kid:\n    node_type: child\n    event_triggers: [START]\n    child_workflow_name: toString\n    child_initial_signals: [START]\n',
    );
    expect(errors[0]).toMatchObject({ field: 'child_workflow_name' });
    expect(errors[0]!.message).toContain("child workflow 'toString' is not defined");
  });

  it('a misspelt child workflow and identity get a did-you-mean', () => {
    const { errors } = issuesOf(
      'workflows:\n  main:\n    Kid:\n      node_type: child\n      event_triggers: [START]\n      child_workflow_name: reveiw\n      child_initial_signals: [START]\n    Ask:\n      node_type: llm\n      event_triggers: [START]\n      prompt: hi\n      identity: reviwer\n  review:\n    R: { node_type: router, event_triggers: [START], event_emissions: [{ signal_name: X }] }\nidentities:\n  reviewer: You review.\n',
    );
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining("did you mean 'review'?"),
      expect.stringContaining("did you mean 'reviewer'?"),
    ]);
  });

  it('null workflows and nodes are reported, never crash', () => {
    expect(issuesOf('main: ~\n').errors[0]!.message).toContain('got null');
    expect(issuesOf('main:\n  A: ~\n').errors[0]).toMatchObject({ node: 'A' });
    expect(
      issuesOf(
        'workflows:\n  main: ~\n  other:\n    Kid: { node_type: child, event_triggers: [S], child_workflow_name: main, child_initial_signals: [S] }\n',
      ).errors,
    ).toHaveLength(1);
  });
});

describe('caps', () => {
  it(`retries above ${MAX_RETRIES} and max_iterations above ${MAX_ITERATIONS} are refused, naming the cap`, () => {
    expect(issuesOf(node('    retries: 1000000000\n')).errors[0]!.message).toContain(`from 0 to ${MAX_RETRIES}`);
    const agent = 'main:\n  A:\n    node_type: agent\n    event_triggers: [START]\n    prompt: hi\n    max_iterations: 1000000000\n';
    expect(issuesOf(agent).errors[0]!.message).toContain(`from 1 to ${MAX_ITERATIONS}`);
    expect(issuesOf(node(`    retries: ${MAX_RETRIES}\n`)).errors).toEqual([]);
  });
});

describe('injection runs the same validator', () => {
  it('soe_inject_node refuses a near miss and accepts an annotation', async () => {
    const config = `main:\n  Inject:\n    node_type: tool\n    event_triggers: [START]\n    tool_name: soe_inject_node\n    context_parameter_field: req\n    output_field: out\n    event_emissions: [{ signal_name: DONE }]\n`;
    const run = async (nodeConfig: object) => {
      const backends = createInMemoryBackends();
      const { broadcastSignalsCaller } = createEngine(backends, { builtinTools: createBuiltinTools() });
      const id = await orchestrate({
        config,
        initialWorkflowName: 'main',
        initialSignals: ['START'],
        initialContext: { req: { workflow_name: 'main', node_name: 'New', node_config_data: nodeConfig } },
        backends,
        broadcastSignalsCaller,
      });
      return backends.workflow.getWorkflowsRegistry(id);
    };
    await expect(
      run({ node_type: 'router', event_triggers: ['X'], event_emissions: [{ signal_name: 'Y', conditon: 'x' }] }),
    ).rejects.toThrow(/node 'New', field 'event_emissions\[0\]\.conditon'.*did you mean 'condition'/);
    const ok = await run({ node_type: 'router', event_triggers: ['X'], description: 'note', event_emissions: [{ signal_name: 'Y' }] });
    expect(ok?.main).toHaveProperty('New');
  });
});

describe('scripted model', () => {
  it('refuses a misspelt rule key (nod: would match every call) with a did-you-mean', () => {
    expect(() => createScriptedLlm({ rules: [{ nod: 'A', respond: 'x' } as never] })).toThrow(
      /rule 1: unknown key 'nod'.*did you mean 'node'/,
    );
    expect(() => createScriptedLlm({ rules: [{ stage: 'routr' as never, respond: 'x' }] })).toThrow(/did you mean 'router'/);
    expect(() => createScriptedLlm({ rules: [{ node: 'A', respond: 'x' }], default: 'y' })).not.toThrow();
  });
});
