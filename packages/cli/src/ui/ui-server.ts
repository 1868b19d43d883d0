/** The `soe ui` web server: serves the page app and a small JSON API over the runs of one runtime, on loopback. */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { distPath } from './dist-path.js';
import { buildExecutionView, type ExecutionSummary, summarize, type TokenPrices } from './execution-view.js';
import type { UiSource } from './ui-sources.js';

/** Options of {@link startUiServer}. */
export interface UiServerOptions {
  source: UiSource;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** @default 127.0.0.1 (loopback only) */
  host?: string;
  /** Token prices, for the cost line. */
  prices?: TokenPrices;
}

/** A running UI server. */
export interface UiServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Where the page app is: built by scripts/bundle-ui.mjs next to the compiled server. */
const ASSETS = distPath('ui-app');
const ASSET_TYPES: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
/** Largest action request body (a list of signal names). */
const MAX_BODY = 64 * 1024;

const page = (label: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SOE runs</title><link rel="stylesheet" href="/assets/app.css"></head>
<body data-source="${escapeHtml(label)}"><div id="app">Loading…</div><script type="module" src="/assets/app.js"></script></body></html>
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpError(415, 'send the action as application/json');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `the request body is over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8') || '{}';
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'the request body is not a JSON object');
  }
}

/** Lists the source's executions, newest first; one that cannot be read is listed with its error as status. */
async function listExecutions(source: UiSource, prices?: TokenPrices): Promise<ExecutionSummary[]> {
  const out: ExecutionSummary[] = [];
  for (const id of await source.listExecutionIds()) {
    const facts = await source.read(id).catch(() => undefined);
    if (facts) out.push(summarize(buildExecutionView(facts, prices)));
  }
  return out.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
}

/** Refuses requests whose Host or Origin is not this server (a web page elsewhere, DNS rebinding). */
function checkOrigin(req: IncomingMessage, host: string): void {
  const hostHeader = String(req.headers.host ?? '');
  const name = hostHeader.replace(/:\d+$/, '');
  if (LOOPBACK.has(host) && !LOOPBACK.has(name)) throw new HttpError(403, `host '${hostHeader}' is not this loopback server`);
  const origin = req.headers.origin;
  if (req.method !== 'GET' && origin && origin !== `http://${hostHeader}`) throw new HttpError(403, `origin '${origin}' may not act here`);
}

async function route(req: IncomingMessage, res: ServerResponse, opts: UiServerOptions, host: string): Promise<void> {
  checkOrigin(req, host);
  const url = new URL(req.url ?? '/', 'http://ui.local');
  const path = url.pathname;
  const { source, prices } = opts;
  if (req.method === 'GET' && (path === '/' || /^\/executions\/[^/]+\/?$/.test(path)))
    return send(res, 200, 'text/html; charset=utf-8', page(source.label));
  if (req.method === 'GET' && path === '/favicon.ico') {
    res.writeHead(204);
    return void res.end();
  }
  if (req.method === 'GET' && path.startsWith('/assets/')) {
    const name = path.slice('/assets/'.length);
    const type = ASSET_TYPES[name];
    if (!type) throw new HttpError(404, `no asset '${name}'`);
    try {
      return send(res, 200, type, await readFile(join(ASSETS, name)));
    } catch {
      throw new HttpError(500, `the page app is not built (${name} missing): run npm run build`);
    }
  }
  if (req.method === 'GET' && path === '/api/executions')
    return sendJson(res, 200, { source: source.label, executions: await listExecutions(source, prices) });
  const m = /^\/api\/executions\/([^/]+)(?:\/(signal|cancel|redrive))?$/.exec(path);
  if (!m) throw new HttpError(404, `nothing at ${path}`);
  const id = decodeURIComponent(m[1]!);
  const action = m[2];
  if (!action) {
    if (req.method !== 'GET') throw new HttpError(405, 'use GET');
    const facts = await source.read(id);
    if (!facts) throw new HttpError(404, `execution '${id}' was not found in ${source.label}`);
    return sendJson(res, 200, buildExecutionView(facts, prices));
  }
  if (req.method !== 'POST') throw new HttpError(405, 'use POST');
  const body = await readJsonBody(req);
  let message: string;
  if (action === 'signal') {
    const signals = Array.isArray(body.signals) ? body.signals.filter((s): s is string => typeof s === 'string' && s.trim() !== '') : [];
    if (!signals.length) throw new HttpError(400, 'signal: give { "signals": ["NAME", …] } with at least one signal name');
    if (!source.signal) throw new HttpError(409, `${source.label} takes no signals from the UI`);
    message = await source.signal(id, signals);
  } else if (action === 'cancel') {
    if (!source.cancel) throw new HttpError(409, `${source.label} cannot cancel from the UI`);
    message = await source.cancel(id);
  } else {
    if (!source.redrive) throw new HttpError(409, `redrive needs a deployed stack; ${source.label} has no failed broadcasts to re-send`);
    message = await source.redrive(id);
  }
  return sendJson(res, 200, { ok: true, message });
}

/**
 * Starts the `soe ui` web server: the page app, and a JSON API over a {@link UiSource}
 * (`GET /api/executions`, `GET /api/executions/ID`, `POST /api/executions/ID/signal|cancel|redrive`).
 * @example
 * const ui = await startUiServer({ source: new FileUiSource('.soe-data'), port: 4400 });
 * console.log(ui.url);
 */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    route(req, res, opts, host).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: e instanceof Error ? e.message : String(e) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
