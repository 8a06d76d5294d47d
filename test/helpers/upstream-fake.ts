/**
 * The one scriptable provider fake on 127.0.0.1. It answers OpenAI, Azure OpenAI and Anthropic
 * requests from recorded-shape fixtures, records what it received (so tests can check what went
 * upstream), and can be scripted: a handler replaces the answer, or a queue of faults per "host"
 * (path prefix /a or /b, so two providers can share one fake) is consumed one per request.
 *
 * With `echo`, answers carry the request's sentinel (the last message's text) instead of the fixed
 * reply, and streams are written in a few paced writes, so concurrent clients can check they got
 * their own content.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { anthropicMessageJson, anthropicMessageSse, openAiChatJson, openAiChatSse, openAiEmbeddingJson, responsesJson, responsesSse } from './fixtures';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

export type UpstreamHandler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export type Fault =
  | 'ok'
  | 'hang'
  | 'stall'
  | 'reset'
  | 'in-band-error'
  | 'trickle'
  | 'truncated'
  | { status: number; retryAfter?: string; body?: string };

export type FakeHost = 'a' | 'b';

export interface UpstreamFake {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** Requests received per host prefix. */
  readonly hits: Record<FakeHost, number>;
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  connections(): number;
  /** Replaces the answer for the next requests (until reset). */
  respondWith(handler: UpstreamHandler): void;
  /** Queues behaviours for a host, one per request, before the normal answer resumes. */
  script(host: FakeHost, ...faults: Fault[]): void;
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_REPLY = 'Hello from the mock upstream';
export const DEFAULT_PIECES = ['Hello', ' from', ' the', ' mock', ' upstream'];

function sentinelOf(body: any): string {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  const last = messages[messages.length - 1];
  return typeof last?.content === 'string' ? last.content : 'none';
}

const isMessages = (path: string) => path.split('?')[0].endsWith('/v1/messages');

/** The caller's function tool, when a Responses request declares one: the fixture then calls it. */
function functionTool(body: Record<string, unknown>): { name: string; arguments: string } | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as { type?: string; name?: string }[]) : [];
  const tool = tools.find((t) => t.type === 'function' && typeof t.name === 'string');
  return tool ? { name: tool.name as string, arguments: '{"city":"Paris"}' } : undefined;
}

/** The normal answer for a path, from the fixtures. */
export function normalAnswer(req: ReceivedRequest, res: ServerResponse, echo = false): void {
  const body = req.json ?? {};
  const path = req.path.split('?')[0];
  const text = echo ? sentinelOf(body) : DEFAULT_REPLY;
  const pieces = echo ? [text, ' ', text] : DEFAULT_PIECES;
  let sse: string | undefined;
  if (path.endsWith('/chat/completions')) {
    if (!body.stream) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openAiChatJson(text)));
    sse = openAiChatSse(pieces, (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true);
  } else if (path.endsWith('/responses/compact')) {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'cmp_fixture', object: 'response.compaction', output: [], usage: { input_tokens: 900, output_tokens: 60, total_tokens: 960 } }));
  } else if (/\/responses\/[^/]+$/.test(path)) {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.method === 'DELETE' ? { id: 'resp_fixture', object: 'response', deleted: true } : responsesJson(text)));
  } else if (path.endsWith('/responses')) {
    if (!body.stream) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(responsesJson(text, functionTool(body))));
    const tool = functionTool(body);
    sse = responsesSse(tool ? ['{"city":', '"Paris"}'] : pieces, { toolCall: tool });
  } else if (path.endsWith('/messages/count_tokens')) {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 4321 }));
  } else if (path.endsWith('/embeddings')) {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openAiEmbeddingJson(5, body.encoding_format === 'base64')));
  } else if (isMessages(path)) {
    if (!body.stream) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(anthropicMessageJson(text)));
    sse = anthropicMessageSse(pieces);
  } else {
    return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such path"}}');
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  if (!echo) return void res.end(sse);
  // Interleave with other requests: send in a few writes with short pauses.
  const events = sse.split(/(?<=\n\n)/);
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i >= events.length) return void res.end();
    res.write(events[i++]);
    setTimeout(next, i % 3 === 0 ? 5 : 0);
  };
  next();
}

function streamEvents(req: ReceivedRequest): string[] {
  const body = req.json ?? {};
  const sentinel = sentinelOf(body);
  const pieces = [sentinel, ' ', sentinel];
  const text = isMessages(req.path) ? anthropicMessageSse(pieces) : openAiChatSse(pieces, (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true);
  return text.split(/(?<=\n\n)/);
}

function playFault(fault: Fault, req: ReceivedRequest, res: ServerResponse, echo: boolean): void {
  if (typeof fault === 'object') {
    res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
    res.end(fault.body ?? '{"error":{"message":"scripted failure"}}');
    return;
  }
  if (fault === 'ok') return normalAnswer(req, res, echo);
  if (fault === 'hang') return;
  if (!req.json?.stream) return void res.destroy();
  const all = streamEvents(req);
  const anthropic = isMessages(req.path);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  switch (fault) {
    case 'stall':
      res.write(all.slice(0, 3).join(''));
      return;
    case 'reset':
      res.write(all.slice(0, 3).join(''));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    case 'truncated':
      res.end(all.slice(0, 3).join(''));
      return;
    case 'in-band-error':
      res.write(all.slice(0, 2).join(''));
      res.end(anthropic ? 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"busy"}}\n\n' : 'data: {"error":{"message":"busy","type":"server_error"}}\n\n');
      return;
    case 'trickle': {
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

export interface UpstreamFakeOptions {
  readonly echo?: boolean;
  /** Serve https with this certificate (the caller trusts it, e.g. through NODE_EXTRA_CA_CERTS). */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
}

export async function startUpstreamFake(options: UpstreamFakeOptions = {}): Promise<UpstreamFake> {
  const echo = options.echo ?? false;
  const received: ReceivedRequest[] = [];
  const queues: Record<FakeHost, Fault[]> = { a: [], b: [] };
  const hits: Record<FakeHost, number> = { a: 0, b: 0 };
  let handler: UpstreamHandler | undefined;
  let connections = 0;
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const record: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
      received.push(record);
      const host: FakeHost = record.path.startsWith('/b/') ? 'b' : 'a';
      hits[host]++;
      const fault = queues[host].shift();
      if (fault !== undefined) return playFault(fault, record, res, echo);
      if (handler) return void Promise.resolve(handler(record, res)).catch(() => res.destroy());
      normalAnswer(record, res, echo);
    });
  };
  const server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createServer(listener);
  server.on(options.tls ? 'secureConnection' : 'connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    received,
    hits,
    connections: () => connections,
    respondWith(next) {
      handler = next;
    },
    script(host, ...faults) {
      queues[host].push(...faults);
    },
    reset() {
      handler = undefined;
      received.length = 0;
      queues.a.length = 0;
      queues.b.length = 0;
      hits.a = 0;
      hits.b = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
