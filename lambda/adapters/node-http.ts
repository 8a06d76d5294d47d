/**
 * Local-mode host: node:http around the relay core. Converts IncomingMessage to a web Request,
 * writes the Response back with backpressure, and turns the client's disconnect into an abort of
 * the upstream call (local mode can see it; Lambda cannot). Background work (usage writes) is
 * tracked so `close()` waits for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { RelayHandler } from '../core/relay';

/** The relay never trusts the Host header; URLs are built on this fixed origin. */
const ORIGIN = 'http://relay.local';

/** The web Request the core expects. The client's disconnect reaches the core through ctx.signal. */
export function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    } catch {
      // A header value Headers refuses is dropped; nothing reads it.
    }
  }
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return new Request(ORIGIN + (req.url?.startsWith('/') ? req.url : '/'), {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    // Required by Node's fetch for a streamed request body.
    ...(hasBody ? { duplex: 'half' } : {}),
  } as RequestInit);
}

async function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse, clientGone: AbortSignal): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // Answered before the request body was read to its end (e.g. 413): the rest of that body is still
  // on the connection, so it cannot carry another request. Close it after this response.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  // Send status and headers now, not with the first body chunk: a stream may take a while to start.
  res.flushHeaders();
  const reader = response.body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  if (clientGone.aborted) return cancel();
  clientGone.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const settle = () => {
            res.off('drain', settle);
            res.off('close', settle);
            resolve();
          };
          res.on('drain', settle);
          res.on('close', settle);
        });
      }
      if (clientGone.aborted) break;
    }
    if (clientGone.aborted) res.destroy();
    else res.end();
  } catch {
    // The body stream failed or was cancelled because the client left; nothing more to send.
    res.destroy();
  } finally {
    clientGone.removeEventListener('abort', cancel);
  }
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
      const request = toWebRequest(req);
      const response = await handle(request, { waitUntil: track, signal: clientGone.signal });
      await writeResponse(response, req, res, clientGone.signal);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"internal error","type":"server_error","code":"internal_error"}}');
      else res.destroy();
    });
    track(work);
  };
}

export async function startNodeRelayServer(handle: RelayHandler, options: { host: string; port: number }): Promise<NodeRelayServer> {
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.catch(() => undefined).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, createNodeListener(handle, track));
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
