/**
 * A scripted HTTP server on 127.0.0.1 (port 0) for provider tests: each request takes the next reply
 * from a queue (the last one repeats) and is recorded with its parsed JSON body.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted reply; `hang` never answers (for timeouts). */
export type FakeReply = { status?: number; headers?: Record<string, string>; body?: unknown } | 'hang';

/** A request as the server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export interface FakeServer {
  url: string;
  requests: SeenRequest[];
  /** Replaces the reply queue. */
  reply(...replies: FakeReply[]): void;
  close(): Promise<void>;
}

export async function startFakeServer(...initial: FakeReply[]): Promise<FakeServer> {
  let queue: FakeReply[] = initial;
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        body = { raw };
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = queue.length > 1 ? queue.shift()! : queue[0];
      if (reply === undefined) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"no reply scripted"}}');
        return;
      }
      if (reply === 'hang') return;
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply(...replies) {
      queue = replies;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A chat-completions answer as OpenAI sends it. */
export function chatCompletion(content: string, usage = { prompt_tokens: 12, completion_tokens: 5 }, model = 'test-model') {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}
