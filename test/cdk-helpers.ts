/** Shared setup of the CDK tests: an App like `cdk synth` builds it, without bundling (unless asked). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SoeOrchestrator, type SoeOrchestratorProps } from '@soe/cdk';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The context of cdk.json: `new App()` does not read it, `cdk synth` does. */
export const cdkJsonContext = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** Temporary folders of this test file, removed after it. */
const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/**
 * An App with cdk.json's context. By default no stack is bundled (`aws:cdk:bundling-stacks: []`,
 * aws/aws-cdk#12844): NodejsFunction then skips esbuild and a synth takes a fraction of a second.
 */
export function newApp(opts: { bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  return new App({
    context: { ...cdkJsonContext, ...(opts.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...opts.context },
    // The CloudFormation schema check runs in bin/app.ts's test and in every `cdk synth`; here it only costs time.
    builtinCloudFormationValidation: false,
    outdir: tempDir('soe-cdk-'),
  });
}

/** A stack holding one orchestrator, and its template. */
export function synth(props: SoeOrchestratorProps = {}, configure?: (stack: Stack) => SoeOrchestratorProps) {
  const app = newApp();
  const stack = new Stack(app, 'Test');
  const soe = new SoeOrchestrator(stack, 'Soe', configure ? { ...props, ...configure(stack) } : props);
  return { app, stack, soe, template: Template.fromStack(stack) };
}

/** Writes files into a fresh temporary folder and returns its path. */
export function tempFiles(files: Record<string, string>): string {
  const dir = tempDir('soe-files-');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** CloudFormation JSON: untyped by nature. */
// biome-ignore lint/suspicious/noExplicitAny: template properties are arbitrary JSON
type Json = Record<string, any>;

/** The one resource of a type whose logical id starts with `prefix`. */
export function resourceOf(template: Template, type: string, prefix: string): { id: string; props: Json } {
  const found = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  const [id, res] = found[0]!;
  return { id, props: (res as { Properties: Json }).Properties };
}

/** The IAM policy statements attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(
  template: Template,
  rolePrefix: string,
): Array<{ Action: string | string[]; Resource: unknown; Effect: string }> {
  const role = resourceOf(template, 'AWS::IAM::Role', rolePrefix).id;
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Every action a role is allowed, sorted. */
export function actionsOf(template: Template, rolePrefix: string): string[] {
  return statementsOf(template, rolePrefix)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

/** A minimal valid workflow file. */
export const VALID_WORKFLOW = `
workflows:
  main:
    Greet:
      node_type: router
      event_triggers: [START]
      event_emissions:
        - signal_name: DONE
`;
