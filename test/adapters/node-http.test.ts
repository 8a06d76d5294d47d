/** The local host: IncomingMessage → Request, Response → ServerResponse with backpressure. */
import { startNodeRelayServer } from '../../lambda/adapters/node-http';
import type { RelayHandler } from '../../lambda/core/relay';

test('hands the core method, path, query, headers and body; never the Host header', async () => {
  let seen: { url: string; method: string; headers: Record<string, string>; body: string } | undefined;
  const handle: RelayHandler = async (request) => {
    seen = { url: request.url, method: request.method, headers: Object.fromEntries(request.headers), body: await request.text() };
    return new Response('ok', { status: 201, headers: { 'x-test': '1' } });
  };
  const server = await startNodeRelayServer(handle, { host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${server.url}/v1/chat/completions?x=1`, { method: 'POST', headers: { host: 'evil.example', 'x-a': 'b' }, body: 'payload' });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-test')).toBe('1');
    expect(await res.text()).toBe('ok');
    expect(seen?.url).toBe('http://relay.local/v1/chat/completions?x=1');
    expect(seen?.method).toBe('POST');
    expect(seen?.headers['x-a']).toBe('b');
    expect(seen?.body).toBe('payload');
  } finally {
    await server.close();
  }
});

test('streams a large body to a slow reader without losing bytes', async () => {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  const handle: RelayHandler = async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 64) return controller.close();
        controller.enqueue(chunk);
      },
    });
    return new Response(body);
  };
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

test('signals the core when the client goes away and waits for background work on close', async () => {
  let aborted = false;
  let background = false;
  const handle: RelayHandler = async (_request, ctx) => {
    ctx.signal?.addEventListener('abort', () => (aborted = true));
    ctx.waitUntil(new Promise((resolve) => setTimeout(() => resolve((background = true)), 100)));
    return new Response(new ReadableStream({ pull: () => new Promise(() => undefined) }));
  };
  const server = await startNodeRelayServer(handle, { host: '127.0.0.1', port: 0 });
  const controller = new AbortController();
  const res = await fetch(server.url, { signal: controller.signal });
  controller.abort();
  await res.body?.cancel().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  expect(aborted).toBe(true);
  await server.close();
  expect(background).toBe(true);
});
