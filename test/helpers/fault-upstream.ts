/**
 * A scriptable provider on 127.0.0.1 for fault injection. Two "hosts" share it by path prefix
 * (/a and /b); each has a queue of behaviours consumed one per request, falling back to a normal
 * answer. Normal answers echo the request's sentinel (the last message's text) so concurrent
 * clients can check they got their own content.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicMessageSse, openAiChatJson, openAiChatSse } from './fixtures';

export type Fault =
  | 'ok'
  | 'hang'
  | 'stall'
  | 'reset'
  | 'in-band-error'
  | 'trickle'
  | 'truncated'
  | { status: number; retryAfter?: string; body?: string };

export interface FaultUpstream {
  readonly url: string;
  /** Requests received per host prefix. */
  readonly hits: { a: number; b: number };
  script(host: 'a' | 'b', ...faults: Fault[]): void;
  reset(): void;
  close(): Promise<void>;
}

function sentinelOf(body: any): string {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  return typeof last?.content === 'string' ? last.content : 'none';
}

function events(body: any, anthropic: boolean, pieces: string[]): string[] {
  const text = anthropic ? anthropicMessageSse(pieces) : openAiChatSse(pieces, body?.stream_options?.include_usage === true);
  return text.split(/(?<=\n\n)/);
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const queues: Record<'a' | 'b', Fault[]> = { a: [], b: [] };
  const hits = { a: 0, b: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const host = (req.url ?? '').startsWith('/b/') ? 'b' : 'a';
      hits[host]++;
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = {};
      }
      const anthropic = (req.url ?? '').endsWith('/v1/messages');
      const fault = queues[host].shift() ?? 'ok';
      respond(fault, body, anthropic, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    script(host, ...faults) {
      queues[host].push(...faults);
    },
    reset() {
      queues.a.length = 0;
      queues.b.length = 0;
      hits.a = 0;
      hits.b = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function respond(fault: Fault, body: any, anthropic: boolean, res: ServerResponse): void {
  const sentinel = sentinelOf(body);
  const sse = () => res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (typeof fault === 'object') {
    res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
    res.end(fault.body ?? '{"error":{"message":"scripted failure"}}');
    return;
  }
  if (fault === 'hang') return;
  if (!body.stream) {
    if (fault !== 'ok') return void res.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openAiChatJson(sentinel)));
    return;
  }
  const all = events(body, anthropic, [sentinel, ' ', sentinel]);
  switch (fault) {
    case 'ok': {
      sse();
      // Interleave with other requests: send in a few writes with short pauses.
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i >= all.length) return void res.end();
        res.write(all[i++]);
        setTimeout(next, i % 3 === 0 ? 5 : 0);
      };
      next();
      return;
    }
    case 'stall':
      sse();
      res.write(all.slice(0, 3).join(''));
      return;
    case 'reset':
      sse();
      res.write(all.slice(0, 3).join(''));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    case 'truncated':
      sse();
      res.end(all.slice(0, 3).join(''));
      return;
    case 'in-band-error':
      sse();
      res.write(all.slice(0, 2).join(''));
      res.end(anthropic ? 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n' : 'data: {"error":{"message":"busy","type":"server_error"}}\n\n');
      return;
    case 'trickle': {
      sse();
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i >= all.length) {
          clearInterval(timer);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(all[i++]);
      }, 60);
      return;
    }
  }
}
