/** The local host: IncomingMessage → the relay's request, its response → ServerResponse with backpressure. */
import type { RelayHandler } from '../../../lambda/core/http';
import { startNodeRelayServer } from '../../../lambda/hosts/local/node-server';

async function text(body: AsyncIterable<Uint8Array> | Uint8Array | undefined): Promise<string> {
  if (!body) return '';
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

test('hands the core method, path, query, headers and body; never a URL built from the Host header', async () => {
  let seen: { path: string; query: string; method: string; headers: Record<string, unknown>; body: string } | undefined;
  const handle: RelayHandler = async (request) => {
    seen = { path: request.path, query: request.query, method: request.method, headers: { ...request.headers }, body: await text(request.body) };
    return { status: 201, headers: { 'x-test': '1' }, body: new TextEncoder().encode('ok') };
  };
  const server = await startNodeRelayServer(handle, { host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${server.url}/v1/chat/completions?x=1`, { method: 'POST', headers: { host: 'evil.example', 'x-a': 'b' }, body: 'payload' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-test')).toBe('1');
    expect(await res.text()).toBe('ok');
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.query).toBe('x=1');
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['x-a']).toBe('b');
    expect(seen?.body).toBe('payload');
  } finally {
    await server.close();
  }
});

test('streams a large body to a slow reader without losing bytes', async () => {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  const handle: RelayHandler = async () => ({
    status: 200,
    headers: {},
    body: (async function* () {
      for (let i = 0; i < 64; i++) yield chunk;
    })(),
  });
  const server = await startNodeRelayServer(handle, { host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(server.url);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(total).toBe(64 * chunk.length);
  } finally {
    await server.close();
  }
});

test('signals the core when the client goes away, stops the body, and waits for background work on close', async () => {
  let aborted = false;
  let bodyStopped = false;
  let background = false;
  const handle: RelayHandler = async (_request, ctx) => {
    ctx.signal?.addEventListener('abort', () => (aborted = true));
    ctx.waitUntil(new Promise((resolve) => setTimeout(() => resolve((background = true)), 100)));
    return {
      status: 200,
      headers: {},
      body: (async function* () {
        try {
          yield new TextEncoder().encode('first');
          // Waits like a stalled upstream until the client's abort ends it.
          await new Promise<void>((resolve) => ctx.signal?.addEventListener('abort', () => resolve()));
        } finally {
          bodyStopped = true;
        }
      })(),
    };
  };
  const server = await startNodeRelayServer(handle, { host: '127.0.0.1', port: 0 });
  const controller = new AbortController();
  const res = await fetch(server.url, { signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  controller.abort();
  await new Promise((r) => setTimeout(r, 50));
  expect(aborted).toBe(true);
  expect(bodyStopped).toBe(true);
  await server.close();
  expect(background).toBe(true);
});
