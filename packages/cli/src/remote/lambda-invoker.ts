/** Invokes the deployed functions and turns their failures into clear errors. */
import { messageOf, RemoteError } from '../errors.js';
import type { FunctionKind, RemoteOptions } from './remote-options.js';

/** The handlers' error answer (see HandlerError in @soe/aws). */
interface HandlerErrorBody {
  error: { type?: string; message?: string; code?: string; issues?: Array<Record<string, unknown>> };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The region in a Lambda ARN (`arn:aws:lambda:eu-west-1:…`). */
function regionOfArn(name: string): string | undefined {
  const m = /^arn:aws[\w-]*:lambda:([a-z0-9-]+):/.exec(name);
  return m?.[1];
}

/**
 * Calls deployed SOE functions through Lambda Invoke (RequestResponse) and turns every way it can go
 * wrong into a RemoteError that says what to do: unknown function, missing credentials or region, an
 * endpoint that does not answer, a function that crashed (`X-Amz-Function-Error`), or a handler that
 * rejected the request (`{ error: { type, message, issues } }`).
 */
export class LambdaInvoker {
  private client: import('@aws-sdk/client-lambda').LambdaClient | undefined;
  private sdk: typeof import('@aws-sdk/client-lambda') | undefined;

  constructor(
    private readonly opts: RemoteOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Invokes a function with a JSON payload; resolves to its JSON answer. */
  async invoke(kind: FunctionKind, functionName: string, payload: unknown): Promise<Record<string, unknown>> {
    const { client, sdk } = await this.connect(functionName);
    let res: import('@aws-sdk/client-lambda').InvokeCommandOutput;
    try {
      res = await client.send(
        new sdk.InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(payload)),
        }),
      );
    } catch (e) {
      throw this.explain(kind, functionName, e);
    }
    const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      throw new RemoteError(`the ${kind} function '${functionName}' answered with something that is not JSON: ${text.slice(0, 200)}`, {
        hint: 'check that the name points at an SOE function of the stack',
      });
    }
    if (res.FunctionError) {
      const b = isObj(body) ? body : {};
      throw new RemoteError(
        `the ${kind} function '${functionName}' failed (${res.FunctionError}): ${String(b.errorType ?? 'Error')}: ${String(b.errorMessage ?? text)}`,
        { hint: `see the function's CloudWatch logs (log group /aws/lambda/${functionName.split(':').pop()})` },
      );
    }
    if (isObj(body) && isObj(body.error)) {
      const err = (body as unknown as HandlerErrorBody).error;
      throw new RemoteError(
        `the ${kind} function rejected the request: ${err.type ? `${err.type}: ` : ''}${err.message ?? 'unknown error'}`,
        {
          issues: err.issues,
          hint: hintForHandlerError(err.type),
        },
      );
    }
    if (!isObj(body)) throw new RemoteError(`the ${kind} function '${functionName}' answered ${text || 'nothing'}, not a JSON object`);
    return body;
  }

  private async connect(functionName: string) {
    if (this.client && this.sdk) return { client: this.client, sdk: this.sdk };
    this.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-lambda');
    const endpoint = this.opts.endpoint;
    // An empty variable counts as unset.
    const region =
      this.opts.region ||
      this.env.AWS_REGION ||
      this.env.AWS_DEFAULT_REGION ||
      regionOfArn(functionName) ||
      (endpoint ? 'us-east-1' : undefined);
    const hasCredentials = Boolean(
      this.env.AWS_ACCESS_KEY_ID ||
        this.env.AWS_PROFILE ||
        this.env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
        this.env.AWS_WEB_IDENTITY_TOKEN_FILE,
    );
    this.client = new sdk.LambdaClient({
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      // LocalStack and other emulators take any credentials; don't make users invent some.
      ...(endpoint && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
    });
    this.sdk = sdk;
    return { client: this.client, sdk };
  }

  private explain(kind: FunctionKind, functionName: string, e: unknown): RemoteError {
    const name = (e as { name?: string })?.name ?? '';
    const msg = messageOf(e);
    const code = (e as { code?: string })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
    const where = this.opts.endpoint ? ` at ${this.opts.endpoint}` : '';
    if (name === 'ResourceNotFoundException') {
      return new RemoteError(`the ${kind} function '${functionName}' does not exist${where}`, {
        hint: `check --${kind}-function / the outputs file and the region (${this.opts.region || this.env.AWS_REGION || 'from your profile'}); is the stack deployed?`,
        cause: e,
      });
    }
    if (/region is missing/i.test(msg)) {
      return new RemoteError('no AWS region is configured', { hint: 'pass --region eu-west-1, or set AWS_REGION', cause: e });
    }
    if (name === 'CredentialsProviderError' || /credential/i.test(msg)) {
      return new RemoteError(`no AWS credentials to call the ${kind} function: ${msg}`, {
        hint: 'configure credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
        cause: e,
      });
    }
    if (name === 'AccessDeniedException' || name === 'AccessDeniedError' || /not authorized/i.test(msg)) {
      return new RemoteError(`not allowed to invoke the ${kind} function '${functionName}': ${msg}`, {
        hint: 'your identity needs lambda:InvokeFunction on the stack functions',
        cause: e,
      });
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || /ECONNREFUSED|ENOTFOUND|getaddrinfo/.test(msg)) {
      return new RemoteError(`cannot reach the Lambda endpoint${where || ' of the region'}: ${msg}`, {
        hint: this.opts.endpoint ? 'is the emulator (e.g. LocalStack) running on that address?' : 'check your network and --region',
        cause: e,
      });
    }
    return new RemoteError(`calling the ${kind} function '${functionName}' failed: ${name ? `${name}: ` : ''}${msg}`, { cause: e });
  }
}

function hintForHandlerError(type: string | undefined): string | undefined {
  switch (type) {
    case 'WorkflowValidationError':
      return 'fix the config or the flags named above; soe validate FILE checks a file locally';
    case 'UnknownExecutionError':
    case 'OperationalValidationError':
      return 'check the execution id (soe start prints it)';
    case 'RequestValidationError':
      return 'check the flags of the command';
    default:
      return undefined;
  }
}
