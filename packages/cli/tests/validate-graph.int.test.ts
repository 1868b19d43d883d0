import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, parseJsonOut, ROOT, requireBuiltCli, runCli } from './helpers.js';

// A file that is not YAML is written at run time (the linter parses YAML files in the repository).
let tmp: string;
let syntaxError: string;
beforeAll(() => {
  requireBuiltCli();
  tmp = mkdtempSync(join(tmpdir(), 'soe-cli-yaml-'));
  syntaxError = join(tmp, 'syntax-error.yaml');
  writeFileSync(
    syntaxError,
    'main:\n  A:\n    node_type: router\n    event_triggers: [START\n    event_emissions:\n      - signal_name: DONE\n',
  );
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('soe validate', () => {
  it('refuses a misspelt key naming it and the known one, and warns about annotations unless --strict', async () => {
    const typo = join(tmp, 'conditon.yaml');
    writeFileSync(
      typo,
      'main:\n  Check:\n    node_type: router\n    event_triggers: [START]\n    event_emissions:\n      - { signal_name: OK, conditon: "{{ false }}" }\n',
    );
    const bad = await runCli(['validate', typo]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(
      `${typo}:6:28: error: workflow 'main', node 'Check', field 'event_emissions[0].conditon': unknown key 'conditon' in an emission: did you mean 'condition'?`,
    );
    const annotated = join(tmp, 'annotated.yaml');
    writeFileSync(
      annotated,
      'main:\n  Check:\n    node_type: router\n    description: routes\n    event_triggers: [START]\n    event_emissions: [{ signal_name: OK }]\n',
    );
    const warned = await runCli(['validate', annotated]);
    expect(warned.code).toBe(0);
    expect(lines(warned.stdout)).toEqual([
      expect.stringContaining(`${annotated}:4:5: warning: workflow 'main', node 'Check', field 'description': unknown key 'description'`),
      `${annotated}: ok (1 workflow, 1 node, 1 warning)`,
    ]);
    const strict = await runCli(['validate', '--strict', annotated]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain(`${annotated}:4:5: error: workflow 'main', node 'Check', field 'description'`);
  });

  it('reports every problem of a broken file at once, each with file, line, column, workflow, node and field', async () => {
    const r = await runCli(['validate', `${FIXTURES}/broken.yaml`]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      `${FIXTURES}/broken.yaml:5:7: error: workflow 'main', node 'Check', field 'node_type': unknown node_type 'routr' (expected one of router, tool, llm, agent, child); did you mean 'router'?`,
      expect.stringMatching(
        new RegExp(`^${FIXTURES}/broken.yaml:10:7: error: workflow 'main', node 'Ask', field 'prompt': template error: `),
      ),
      `${FIXTURES}/broken.yaml:11:7: error: workflow 'main', node 'Ask', field 'retries': expected a whole number of retries from 0 to 20, got number -1`,
      expect.stringMatching(
        new RegExp(
          `^${FIXTURES}/broken.yaml:15:7: error: workflow 'main', node 'Spawn', field 'child_workflow_name': child workflow 'nowhere' is not defined`,
        ),
      ),
      expect.stringMatching(new RegExp(`^${FIXTURES}/broken.yaml:18:3: error: field 'context_schema.score': unknown type 'integr'`)),
    ]);
    expect(r.stderr).toContain('5 problems in 1 file of 1 checked');
  });

  it('locates YAML syntax errors', async () => {
    const r = await runCli(['validate', syntaxError]);
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith(`${syntaxError}:5:5: error: YAML syntax error: `)).toBe(true);
  });

  it('prints one ok line per valid file, and exits 0 when all are valid', async () => {
    const r = await runCli(['validate', 'examples/routing/workflow.yaml', 'examples/fan-out/workflow.yaml']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'examples/routing/workflow.yaml: ok (1 workflow, 6 nodes)',
      'examples/fan-out/workflow.yaml: ok (2 workflows, 5 nodes)',
    ]);
    expect(r.stderr).toBe('');
  });

  it('checks every file even when one is missing or broken, and exits 1', async () => {
    const r = await runCli([
      'validate',
      `${FIXTURES}/missing.yaml`,
      `${FIXTURES}/missing-child.yaml`,
      'examples/agent-tools/workflow.yaml',
    ]);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      `${FIXTURES}/missing.yaml: error: workflow file '${FIXTURES}/missing.yaml' does not exist (looked at ${ROOT}/${FIXTURES}/missing.yaml)`,
      expect.stringMatching(
        new RegExp(`^${FIXTURES}/missing-child.yaml:5:5: error: workflow 'main', node 'Spawn', field 'child_workflow_name'`),
      ),
      'examples/agent-tools/workflow.yaml: ok (1 workflow, 2 nodes)',
    ]);
  });

  it('--tools also checks that every tool a node names is exported', async () => {
    const ok = await runCli(['validate', 'examples/tool-pipeline/workflow.yaml', '--tools', 'examples/tool-pipeline/tools.mjs']);
    expect(ok.code).toBe(0);
    const bad = await runCli(['validate', 'examples/tool-pipeline/workflow.yaml', '--tools', 'examples/routing/tools.mjs']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /workflow.yaml:15:7: error: workflow 'checkout', node 'FetchOrder', field 'tool_name': tool 'fetch_order' is not exported by the tools module \(it exports: open_case, ask_for_details\)/,
    );
  });

  it('--json gives the issues as data', async () => {
    const r = await runCli(['validate', `${FIXTURES}/missing-child.yaml`, '--json']);
    expect(r.code).toBe(1);
    const [v] = parseJsonOut<Array<{ file: string; ok: boolean; issues: Array<Record<string, unknown>> }>>(r);
    expect(v).toMatchObject({ file: `${FIXTURES}/missing-child.yaml`, ok: false });
    expect(v!.issues[0]).toMatchObject({ line: 5, column: 5, workflow: 'main', node: 'Spawn', field: 'child_workflow_name' });
  });
});

describe('soe graph', () => {
  it('flags a cycle of nodes that trigger each other unconditionally, naming them and the limit that ends it', async () => {
    const loop = join(tmp, 'ping-pong.yaml');
    writeFileSync(
      loop,
      'main:\n  Ping:\n    node_type: router\n    event_triggers: [START, PONG]\n    event_emissions: [{ signal_name: PING }]\n  Pong:\n    node_type: router\n    event_triggers: [PING]\n    event_emissions: [{ signal_name: PONG }, { signal_name: DONE, condition: "{{ false }}" }]\n',
    );
    const r = await runCli(['graph', loop, '--json']);
    const findings = (parseJsonOut(r) as { findings: { kind: string; message: string; node: string }[] }).findings;
    const cycles = findings.filter((f) => f.kind === 'unconditional-cycle');
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toMatchObject({ node: 'Ping' });
    expect(cycles[0]!.message).toContain('Ping → Pong → Ping');
    expect(cycles[0]!.message).toContain('limits.max_node_runs');
    expect((await runCli(['graph', 'examples/routing/workflow.yaml', '--json'])).stdout).not.toContain('unconditional-cycle');
  });

  it('draws node → signal → node in Mermaid, child workflows dotted', async () => {
    const r = await runCli(['graph', 'examples/fan-out/workflow.yaml']);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out.startsWith('flowchart LR\n')).toBe(true);
    expect(out).toContain('subgraph m1["workflow digest"]');
    expect(out).toContain('["LoadDocuments<br/><small>tool</small>"]');
    expect(out).toMatch(/s\d+ --> n\d+/);
    expect(out).toMatch(/n\d+ -\.->\|"one child per documents"\| s\d+/);
    expect(out).toMatch(/s\d+ -\.->\|"to parent"\| s\d+/);
    expect(r.stderr).toMatch(/workflow.yaml:50:11: warning: .*emits DONE, which no node of 'digest' listens to/);
  });

  it('draws DOT with --format dot', async () => {
    const r = await runCli(['graph', 'examples/routing/workflow.yaml', '--format', 'dot']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^digraph soe \{/);
    expect(r.stdout).toContain('"triage/signal/VALID" -> "triage/node/Classify";');
    expect(r.stdout).toContain(
      '"triage/node/Classify" -> "triage/signal/BILLING" [label="The ticket is about invoices, charges, payments or refunds"];',
    );
  });

  it('flags unheard signals, unreachable nodes and workflows never started, with their lines (exit 0: warnings)', async () => {
    const r = await runCli(['graph', `${FIXTURES}/signal-flow.yaml`]);
    expect(r.code).toBe(0);
    const f = `${FIXTURES}/signal-flow.yaml`;
    expect(lines(r.stderr)).toEqual([
      `${f}:14:11: warning: workflow 'main', node 'Review', field 'event_emissions[0].signal_name': emits REVIEWED, which no node of 'main' listens to (fine if it marks the end of the run)`,
      `${f}:17:7: warning: workflow 'main', node 'Publish', field 'event_triggers': waits for APPROVED, which no node emits: it runs only when a caller sends it (soe send ID --signals APPROVED)`,
      `${f}:20:11: warning: workflow 'main', node 'Publish', field 'event_emissions[0].signal_name': emits PUBLISHED, which no node of 'main' listens to (fine if it marks the end of the run)`,
      `${f}:23:7: warning: workflow 'main', node 'Never', field 'event_triggers': waits for REVIEWD, which no node emits: did you mean 'REVIEWED'?`,
      `${f}:25:11: warning: workflow 'main', node 'Never', field 'event_emissions[0].signal_name': emits DONE, which no node of 'main' listens to (fine if it marks the end of the run)`,
      `${f}:37:11: warning: workflow 'worker', node 'Work', field 'event_emissions[0].signal_name': emits WORKED to the parent workflow, where no node listens to it`,
      `${f}:38:3: warning: workflow 'unused': is never started: no child node that can run names it (start it with soe run --workflow unused)`,
      '0 errors, 7 warnings',
    ]);
    expect(r.stdout).toMatch(/\["Never<br\/><small>router<\/small>"\]:::unreachable/);
    expect(r.stdout).toMatch(/\(\["REVIEWED"\]\):::unheard/);
  });

  it('--signals changes what is reachable', async () => {
    const r = await runCli(['graph', `${FIXTURES}/signal-flow.yaml`, '--signals', 'START,APPROVED', '--json']);
    const g = parseJsonOut<{ findings: Array<{ kind: string; node?: string }> }>(r);
    expect(g.findings.filter((x) => x.kind === 'unreachable-node').map((x) => x.node)).toEqual(['Never']);
  });

  it('a child workflow that does not exist is an error, located, with a suggestion (exit 1)', async () => {
    const r = await runCli(['graph', `${FIXTURES}/missing-child.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${FIXTURES}/missing-child.yaml:5:5: error: workflow 'main', node 'Spawn', field 'child_workflow_name': child_workflow_name 'summarise_one' is not a workflow of this config (did you mean 'summarize_one'?)`,
    );
    expect(r.stdout).toContain('["missing workflow summarise_one"]:::missing');
  });

  it('a broken file gets the validation errors with their locations, and exit 1', async () => {
    const r = await runCli(['graph', `${FIXTURES}/broken.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${FIXTURES}/broken.yaml:5:7: error: workflow 'main', node 'Check', field 'node_type': unknown node_type 'routr'`,
    );
    expect(r.stderr).toContain(`${FIXTURES}/broken.yaml:18:3: error: field 'context_schema.score'`);
  });

  it('a file that is not YAML draws nothing and exits 1', async () => {
    const r = await runCli(['graph', syntaxError]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/syntax-error.yaml:5:5: error: YAML syntax error/);
  });

  it('an unknown format says which ones exist', async () => {
    const r = await runCli(['graph', 'examples/routing/workflow.yaml', '--format', 'svg']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("soe: error: unknown graph format 'svg'");
    expect(r.stderr).toContain('hint: use --format mermaid or --format dot');
  });
});
