/**
 * A scriptable provider on 127.0.0.1: answers OpenAI and Anthropic requests from fixtures by
 * default, records what it received (so tests can check what went upstream), and lets a test
 * replace the answer per request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicMessageJson, anthropicMessageSse, openAiChatJson, openAiChatSse, openAiEmbeddingJson } from './fixtures';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

export type UpstreamHandler = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface MockUpstream {
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  connections(): number;
  /** Replaces the answer for the next requests (until reset). */
  respondWith(handler: UpstreamHandler): void;
  reset(): void;
  close(): Promise<void>;
}

export const DEFAULT_REPLY = 'Hello from the mock upstream';
export const DEFAULT_PIECES = ['Hello', ' from', ' the', ' mock', ' upstream'];

export const defaultHandler: UpstreamHandler = (req, res) => {
  const body = req.json ?? {};
  if (req.path.endsWith('/chat/completions')) {
    if (body.stream) {
      const options = body.stream_options as { include_usage?: boolean } | undefined;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(openAiChatSse(DEFAULT_PIECES, options?.include_usage === true));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openAiChatJson(DEFAULT_REPLY)));
    }
    return;
  }
  if (req.path.endsWith('/embeddings')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openAiEmbeddingJson(5, body.encoding_format === 'base64')));
    return;
  }
  if (req.path === '/v1/messages') {
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(anthropicMessageSse(DEFAULT_PIECES));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(anthropicMessageJson(DEFAULT_REPLY)));
    }
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such path"}}');
};

export async function startMockUpstream(): Promise<MockUpstream> {
  const received: ReceivedRequest[] = [];
  let handler: UpstreamHandler = defaultHandler;
  const server: Server = createServer((req, res) => {
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
      const record = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json };
      received.push(record);
      Promise.resolve(handler(record, res)).catch(() => res.destroy());
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    connections: () => connections,
    respondWith(next) {
      handler = next;
    },
    reset() {
      handler = defaultHandler;
      received.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
