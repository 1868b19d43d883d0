#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this file with tsx). Settings come from
 * context (`-c soe:modelProvider=bedrock …`, see lib/app-context.ts); every synth runs the cdk-nag
 * AwsSolutions checks and fails on an unacknowledged finding.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SoeStack } from '../lib/soe-stack.js';

const app = new App();
const stackName = (app.node.tryGetContext('soe:stackName') as string | undefined) || 'Soe';
new SoeStack(app, stackName, {
  // Environment-agnostic unless the CLI knows an account and region (cdk deploy with credentials).
  env:
    process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
      ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
      : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
