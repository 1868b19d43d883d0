import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A function the server can invoke: takes the JSON event, resolves to the JSON answer (or throws). */
export type InvokeHandler = (event: unknown) => unknown;

/** One request the server answered. */
export interface Invocation {
  functionName: string;
  payload: unknown;
  status: number;
  functionError?: string;
}

/** A running Lambda Invoke endpoint. */
export interface LambdaInvokeServer {
  /** `http://127.0.0.1:<port>`: pass it as the client's endpoint. */
  endpoint: string;
  invocations: Invocation[];
  close(): Promise<void>;
}

/** Lambda's limit on a synchronous (RequestResponse) answer: 6 MB. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/**
 * Serves the Lambda Invoke API on 127.0.0.1 for the given functions, the way Lambda answers a
 * RequestResponse invocation: `POST /2015-03-31/functions/{name}/invocations` with the JSON event,
 * 200 with the handler's JSON; a handler that throws gives 200 with `X-Amz-Function-Error: Unhandled`
 * and `{ errorType, errorMessage, trace }`; an answer over 6 MB is refused as Lambda refuses it
 * (`Function.ResponseSizeTooLarge`); an unknown function gives 404 ResourceNotFoundException.
 * Names may be given as ARNs (the last `:`-separated part is the name).
 */
export async function startLambdaInvokeServer(functions: Record<string, InvokeHandler>): Promise<LambdaInvokeServer> {
  const invocations: Invocation[] = [];
  const server = createServer(async (req, res) => {
    const match = req.method === 'POST' ? PATH.exec((req.url ?? '').split('?')[0]!) : null;
    if (!match) {
      send(res, 404, { 'x-amzn-errortype': 'UnknownOperationException' }, { message: `no route for ${req.method} ${req.url}` });
      return;
    }
    const requested = decodeURIComponent(match[1]!);
    const functionName = requested.startsWith('arn:') ? requested.split(':').pop()! : requested;
    const text = await body(req);
    const payload = text ? JSON.parse(text) : {};
    const handler = functions[functionName];
    if (!handler) {
      invocations.push({ functionName, payload, status: 404 });
      send(
        res,
        404,
        { 'x-amzn-errortype': 'ResourceNotFoundException' },
        { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${functionName}` },
      );
      return;
    }
    try {
      const answer = await handler(payload);
      const bytes = Buffer.byteLength(JSON.stringify(answer ?? null));
      if (bytes > MAX_RESPONSE_BYTES) {
        invocations.push({ functionName, payload, status: 200, functionError: 'Unhandled' });
        send(
          res,
          200,
          { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' },
          {
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: `Response payload size (${bytes} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
          },
        );
        return;
      }
      invocations.push({ functionName, payload, status: 200 });
      send(res, 200, { 'x-amz-executed-version': '$LATEST' }, answer ?? null);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      invocations.push({ functionName, payload, status: 200, functionError: 'Unhandled' });
      send(
        res,
        200,
        { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' },
        { errorType: err.name, errorMessage: err.message, trace: [] },
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
