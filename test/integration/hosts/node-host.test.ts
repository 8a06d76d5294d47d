/**
 * The node:http host around the pipeline: request bodies read from the socket within the limit,
 * the connection closed after an early answer, and a client's disconnect cancelling the upstream
 * call with one aborted usage record.
 */
import { request as httpRequest } from 'node:http';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';
import { openAiChatSse } from '../../helpers/fixtures';

let h: TestRelay;
let key: string;

beforeAll(async () => {
  h = await buildRelay({ host: 'http', settings: { maxBodyBytes: 4096, headersTimeoutMs: 400, idleTimeoutMs: 400 } });
  key = h.key.secret;
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const chat = (body: unknown) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...(body as object) });

test('rejects a streamed (chunked) body over the limit with 413', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(h.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      resolve(res.statusCode as number);
    });
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write('x'.repeat(1000));
    req.end();
  });
  expect(status).toBe(413);
  expect(h.upstream.received).toHaveLength(0);
});


test('a client that disconnects mid-stream cancels the upstream request and leaves one aborted record', async () => {
  let upstreamClosed!: () => void;
  const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
  h.upstream.respondWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const events = openAiChatSse(['a', 'b', 'c'], true).split('\n\n');
    res.write(events.slice(0, 3).join('\n\n') + '\n\n');
    res.on('close', upstreamClosed);
  });
  const controller = new AbortController();
  const response = await fetch(h.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: chat({ stream: true }), signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  controller.abort();
  await closed;
  const record = await h.usageFor(response.headers.get('x-request-id') as string);
  expect(record).toMatchObject({ outcome: 'aborted', completed: false, usageSource: 'estimated', streamed: true });
  expect((await h.usageItems()).filter((i) => i.requestId === record?.requestId)).toHaveLength(1);
});

test('after answering 413 before the body was read, the connection is closed so the next request is not stuck behind it', async () => {
  const agentFetch = async (body: string) => {
    const started = Date.now();
    const res = await fetch(h.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - started, connection: res.headers.get('connection') };
  };
  const tooLarge = await agentFetch(chat({ pad: 'x'.repeat(200_000) }));
  expect(tooLarge).toMatchObject({ status: 413, connection: 'close' });
  const next = await agentFetch(chat({}));
  expect(next.status).toBe(200);
  expect(next.ms).toBeLessThan(2000);
});
