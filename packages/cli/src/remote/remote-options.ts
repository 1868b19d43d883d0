/** The flags that say where a deployed stack is. */
import type { Command } from 'commander';

/** Flags that say where a deployed stack is. */
export interface RemoteOptions {
  outputs?: string;
  stack?: string;
  startFunction?: string;
  signalFunction?: string;
  statusFunction?: string;
  endpoint?: string;
  region?: string;
}

/** The deployed functions the remote commands call. */
export type FunctionKind = 'start' | 'signal' | 'status';

/** Adds the flags naming the deployed functions a command calls, and the endpoint and region. */
export function addRemoteOptions(cmd: Command, kinds: readonly FunctionKind[]): Command {
  cmd.option(
    '--outputs <file>',
    'CDK outputs file with the function names (cdk deploy --outputs-file FILE); default: ./cdk-outputs.json if present',
  );
  cmd.option('--stack <name>', 'the stack to read in the outputs file, when it holds several');
  for (const k of kinds)
    cmd.option(`--${k}-function <name>`, `name or ARN of the deployed ${k} function (env SOE_${k.toUpperCase()}_FUNCTION)`);
  cmd.option(
    '--endpoint <url>',
    'Lambda endpoint to call instead of AWS, e.g. LocalStack http://localhost:4566 (env AWS_ENDPOINT_URL_LAMBDA)',
  );
  cmd.option('--region <region>', 'AWS region (default: AWS_REGION, the ARN, or your profile)');
  return cmd;
}

/** Help text on how the remote commands find a stack. */
export const REMOTE_HELP = `
Finding the deployed functions: --start-function / --signal-function / --status-function (name or ARN),
else SOE_START_FUNCTION / SOE_SIGNAL_FUNCTION / SOE_STATUS_FUNCTION, else the stack outputs in --outputs FILE
(or ./cdk-outputs.json), as written by \`cdk deploy --outputs-file cdk-outputs.json\`.
Credentials and region come from the usual AWS chain (AWS_PROFILE, AWS_REGION…). With --endpoint and no
credentials in the environment, the dummy credentials test/test are used (LocalStack accepts them).`;
