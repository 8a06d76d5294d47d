/**
 * A local Lambda Runtime API with an API Gateway front, for running the function bundle under AWS's
 * own runtime interface client (npm aws-lambda-ric).
 *
 * - The front (`frontUrl`) takes a plain HTTP request, turns it into the REST API proxy event API
 *   Gateway sends, and queues it as an invocation.
 * - The runtime side (`runtimeApi`, for AWS_LAMBDA_RUNTIME_API) serves it on
 *   GET /2018-06-01/runtime/invocation/next and reads the answer the way API Gateway does for a
 *   streamed integration: a chunked POST to /invocation/{id}/response whose body is the JSON prelude
 *   (statusCode, headers, cookies), 8 NUL bytes, then the body, passed to the caller as it arrives;
 *   error trailers (Lambda-Runtime-Function-Error-Type/-Body) cut the caller's connection, and an
 *   /invocation/{id}/error before any byte answers 502, as API Gateway does.
 *
 * It records, per invocation, when the runtime asked for the next event after it: the runtime only
 * asks once the invocation is over (its background work and event loop included), so that is when
 * the function's slot would be free again.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

export interface Invocation {
  readonly id: string;
  readonly path: string;
  readonly receivedAt: number;
  /** When the function's answer ended (its POST finished). */
  answeredAt?: number;
  /** When the runtime next asked for work: the invocation is over. */
  finishedAt?: number;
  /** How the function answered: 'streamed', 'buffered' or 'error'. */
  mode?: 'streamed' | 'buffered' | 'error';
  /** The error type from trailers or an /error post. */
  errorType?: string;
}

export interface LocalRuntimeApi {
  /** host:port, for AWS_LAMBDA_RUNTIME_API. */
  readonly runtimeApi: string;
  /** Where clients send requests (as to the API Gateway stage). */
  readonly frontUrl: string;
  readonly invocations: Invocation[];
  readonly initErrors: string[];
  /** Resolves when the runtime first asks for work (init done). */
  ready(timeoutMs: number): Promise<void>;
  /** Resolves when the invocation for this request id is over (the runtime asked for the next). */
  finished(invocation: Invocation, timeoutMs: number): Promise<number>;
  /** The function is gone: every waiting and later caller gets a 500 saying why. */
  fail(reason: string): void;
  close(): Promise<void>;
}

interface Pending {
  readonly invocation: Invocation;
  readonly event: unknown;
  readonly client: ServerResponse;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** The REST API (v1) proxy event API Gateway builds from a request. */
function proxyEvent(req: IncomingMessage, body: Buffer, requestId: string) {
  const url = new URL(req.url ?? '/', 'http://front');
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: '/{proxy+}',
    path: url.pathname,
    httpMethod: req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { proxy: url.pathname.slice(1) },
    stageVariables: null,
    requestContext: {
      requestId,
      stage: 'v1',
      httpMethod: req.method,
      path: `/v1${url.pathname}`,
      identity: { sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? null },
      requestTimeEpoch: Date.now(),
    },
    body: body.length > 0 ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
  };
}

export async function startLocalRuntimeApi(): Promise<LocalRuntimeApi> {
  const queue: Pending[] = [];
  const waiting: ((pending: Pending) => void)[] = [];
  const inFlight = new Map<string, Pending>();
  const invocations: Invocation[] = [];
  const initErrors: string[] = [];
  let polled = false;
  const pollWaiters: (() => void)[] = [];
  let lastInvocation: Invocation | undefined;
  const finishWaiters = new Map<Invocation, ((at: number) => void)[]>();

  let failure: string | undefined;
  const refuse = (client: ServerResponse) => {
    if (!client.headersSent) client.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: failure }));
    else client.destroy();
  };

  const enqueue = (pending: Pending) => {
    if (failure) return refuse(pending.client);
    const taker = waiting.shift();
    if (taker) taker(pending);
    else queue.push(pending);
  };

  const front = createServer((req, res) => {
    void readAll(req).then((body) => {
      const invocation: Invocation = { id: randomUUID(), path: req.url ?? '/', receivedAt: Date.now() };
      invocations.push(invocation);
      enqueue({ invocation, event: proxyEvent(req, body, randomUUID()), client: res });
    });
  });

  const markFinished = (invocation: Invocation) => {
    invocation.finishedAt = Date.now();
    for (const resolve of finishWaiters.get(invocation) ?? []) resolve(invocation.finishedAt);
    finishWaiters.delete(invocation);
  };

  const next = (res: ServerResponse) => {
    if (lastInvocation && lastInvocation.finishedAt === undefined) markFinished(lastInvocation);
    if (!polled) {
      polled = true;
      for (const resolve of pollWaiters.splice(0)) resolve();
    }
    const serve = (pending: Pending) => {
      inFlight.set(pending.invocation.id, pending);
      lastInvocation = pending.invocation;
      res.writeHead(200, {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': pending.invocation.id,
        'lambda-runtime-deadline-ms': String(Date.now() + 900_000),
        'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:eu-west-1:111122223333:function:relay',
        'lambda-runtime-trace-id': 'Root=1-00000000-000000000000000000000000;Sampled=0',
      });
      res.end(JSON.stringify(pending.event));
    };
    const queued = queue.shift();
    if (queued) serve(queued);
    else waiting.push(serve);
  };

  /** The streamed answer: prelude, 8 NULs, body, passed on as it arrives. */
  const streamedAnswer = (req: IncomingMessage, res: ServerResponse, pending: Pending) => {
    const { client, invocation } = pending;
    const prelude = (req.headers['content-type'] ?? '') === PRELUDE_CONTENT_TYPE;
    invocation.mode = prelude ? 'streamed' : 'buffered';
    let head: Buffer | undefined = prelude ? Buffer.alloc(0) : undefined;
    if (!prelude) client.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') });
    req.on('data', (chunk: Buffer) => {
      if (head === undefined) return void client.write(chunk);
      head = Buffer.concat([head, chunk]);
      const at = head.indexOf(DELIMITER);
      if (at < 0) return;
      const meta = JSON.parse(head.subarray(0, at).toString('utf8')) as { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
      const rest = head.subarray(at + DELIMITER.length);
      head = undefined;
      client.writeHead(meta.statusCode ?? 200, { ...(meta.headers ?? {}), ...(meta.cookies?.length ? { 'set-cookie': meta.cookies } : {}) });
      if (rest.length > 0) client.write(rest);
    });
    req.on('end', () => {
      invocation.answeredAt = Date.now();
      const errorType = req.trailers['lambda-runtime-function-error-type'];
      if (errorType) {
        invocation.errorType = errorType;
        client.destroy();
      } else {
        if (head !== undefined) client.writeHead(502, { 'content-type': 'application/json' }).write('{"message":"Internal server error"}');
        client.end();
      }
      res.writeHead(202).end('{"status":"OK"}');
    });
  };

  const runtime = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/2018-06-01/runtime/invocation/next') return next(res);
    if (req.method === 'POST' && url === '/2018-06-01/runtime/init/error') {
      return void readAll(req).then((body) => {
        initErrors.push(body.toString('utf8'));
        res.writeHead(202).end('{"status":"OK"}');
      });
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    const pending = match ? inFlight.get(match[1]) : undefined;
    if (!match || !pending || req.method !== 'POST') return void res.writeHead(404).end('{"errorType":"NotFound"}');
    inFlight.delete(match[1]);
    if (match[2] === 'response') return streamedAnswer(req, res, pending);
    void readAll(req).then((body) => {
      pending.invocation.mode = 'error';
      pending.invocation.answeredAt = Date.now();
      pending.invocation.errorType = String(req.headers['lambda-runtime-function-error-type'] ?? (JSON.parse(body.toString() || '{}') as { errorType?: string }).errorType);
      if (!pending.client.headersSent) pending.client.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal server error"}');
      else pending.client.destroy();
      res.writeHead(202).end('{"status":"OK"}');
    });
  });
  // The runtime holds its /next request open while there is no work.
  runtime.keepAliveTimeout = 0;
  runtime.headersTimeout = 0;
  runtime.requestTimeout = 0;

  const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const [frontPort, runtimePort] = await Promise.all([listen(front), listen(runtime)]);
  return {
    runtimeApi: `127.0.0.1:${runtimePort}`,
    frontUrl: `http://127.0.0.1:${frontPort}`,
    invocations,
    initErrors,
    ready: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        if (polled) return resolve();
        const timer = setTimeout(() => reject(new Error(`the runtime did not ask for work within ${timeoutMs} ms (init errors: ${initErrors.join(' | ') || 'none'})`)), timeoutMs);
        pollWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
    finished: (invocation, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        if (invocation.finishedAt !== undefined) return resolve(invocation.finishedAt);
        const timer = setTimeout(() => reject(new Error(`invocation ${invocation.path} still running after ${timeoutMs} ms`)), timeoutMs);
        finishWaiters.set(invocation, [
          ...(finishWaiters.get(invocation) ?? []),
          (at) => {
            clearTimeout(timer);
            resolve(at);
          },
        ]);
      }),
    fail(reason) {
      failure = reason;
      for (const pending of [...queue.splice(0), ...inFlight.values()]) refuse(pending.client);
      inFlight.clear();
    },
    async close() {
      for (const server of [front, runtime]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
