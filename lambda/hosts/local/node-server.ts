/**
 * Local-mode host: node:http around the relay core. IncomingMessage becomes the relay's request
 * as is (its headers object, its chunks as the body), the response goes out through
 * the shared response writer, and the client's disconnect aborts the upstream call (local mode can
 * see it; Lambda cannot). Background work (usage writes) is tracked so `close()` waits for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RelayHandler, RelayRequest, RelayResponse } from '../../core/http';
import { readableChunks } from '../shared/readable-chunks';
import { writeBody } from '../shared/response-writer';

const INTERNAL_ERROR = '{"error":{"message":"internal error","type":"server_error","code":"internal_error"}}';

/** The relay's request. The Host header is never trusted or used. */
export function toRelayRequest(req: IncomingMessage): RelayRequest {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const method = req.method ?? 'GET';
  return {
    method,
    path: path.startsWith('/') ? path : '/',
    query: queryAt < 0 ? '' : url.slice(queryAt + 1),
    headers: req.headers,
    // Not destroyed when the core stops early (e.g. 413): the answer still goes out on this connection.
    body: method === 'GET' || method === 'HEAD' ? undefined : readableChunks(req, { destroyOnReturn: false }),
  };
}

async function writeResponse(response: RelayResponse, req: IncomingMessage, res: ServerResponse, clientGone: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { ...response.headers };
  // Answered before the request body was read to its end (e.g. 413): the rest of that body is still
  // on the connection, so it cannot carry another request. Close it after this response.
  if (!req.complete) headers.connection = 'close';
  const body = response.body;
  if (body instanceof Uint8Array) {
    headers['content-length'] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  if (body === undefined) {
    res.end();
    return;
  }
  // Send status and headers now, not with the first body chunk: a stream may take a while to start.
  res.flushHeaders();
  const result = await writeBody(body, res, clientGone);
  if (result === 'complete') res.end();
  else res.destroy();
}

export interface NodeRelayServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8787 */
  readonly url: string;
  /** Stops accepting connections, lets in-flight requests finish within `graceMs`, then waits for background work. */
  close(graceMs?: number): Promise<void>;
  /** Resolves when all background work started so far has settled. */
  idle(): Promise<void>;
}

export function createNodeListener(handle: RelayHandler, track: (work: Promise<unknown>) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    const work = (async () => {
      const response = await handle(toRelayRequest(req), { waitUntil: track, signal: clientGone.signal });
      await writeResponse(response, req, res, clientGone.signal);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(INTERNAL_ERROR);
      else res.destroy();
    });
    track(work);
  };
}

export interface NodeServerLimits {
  /** Time a client has to send its request headers; slow-header clients are cut (default 30 s). */
  readonly headersTimeoutMs?: number;
  /** Time a client has to send its whole request, body included (default 120 s). */
  readonly requestTimeoutMs?: number;
  /** Connections served at once; more are refused (default 512). */
  readonly maxConnections?: number;
  /** How often Node checks the two timeouts above (default 2 s). */
  readonly checkIntervalMs?: number;
}

export async function startNodeRelayServer(handle: RelayHandler, options: { host: string; port: number } & NodeServerLimits): Promise<NodeRelayServer> {
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.catch(() => undefined).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  // On a shared machine, a client that opens connections and sends nothing must not hold them.
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      headersTimeout: options.headersTimeoutMs ?? 30_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      connectionsCheckingInterval: options.checkIntervalMs ?? 2_000,
    },
    createNodeListener(handle, track),
  );
  server.maxConnections = options.maxConnections ?? 512;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const idle = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
  };
  return {
    server,
    url: `http://${host}:${address.port}`,
    idle,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Let in-flight requests finish (up to the grace period), then cut what is left.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([idle(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
      await idle();
    },
  };
}
