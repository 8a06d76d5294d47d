/**
 * Privacy: a unique canary travels in prompts, system messages, tool arguments, request headers,
 * model names, keys, upstream answers and upstream error bodies, over every main code path. After
 * the run it appears in no log line, no console output, no stored item of any table, and no error
 * body the relay wrote itself.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { anthropicMessageJson, anthropicMessageSse, openAiChatJson, openAiChatSse } from '../../helpers/fixtures';
import { normalAnswer } from '../../helpers/upstream-fake';
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';

const CANARY = `CANARY${randomUUID().replace(/-/g, '')}`;
let h: DevServerRelay;
const consoleOutput: string[] = [];
const errorBodies: string[] = [];

beforeAll(async () => {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleOutput.push(args.map(String).join(' ')));
  }
  h = await startDevServerRelay({ settings: { headersTimeoutMs: 300, idleTimeoutMs: 300 } });
});
afterAll(async () => {
  await h.close();
  jest.restoreAllMocks();
});

const messages = [
  { role: 'system' as const, content: `You are ${CANARY}` },
  { role: 'user' as const, content: `Say ${CANARY}` },
];
const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string', description: CANARY } } } } }];

async function raw(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(h.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.firstKey.secret}`, 'content-type': 'application/json', 'x-canary': CANARY, 'user-agent': CANARY, ...headers },
    body,
  });
  const text = await res.text();
  // Error answers whole; for streams, the error events only (the rest is the provider's answer).
  if (res.status >= 400) errorBodies.push(text);
  else errorBodies.push(...text.split('\n\n').filter((event) => event.includes('"error"')));
  return { status: res.status, text };
}

test('the canary appears nowhere the relay writes, across success, error, stream and abort paths', async () => {
  const openai = new OpenAI({ apiKey: h.firstKey.secret, baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-canary': CANARY } });
  const anthropic = new Anthropic({ apiKey: h.firstKey.secret, baseURL: h.url, maxRetries: 0, defaultHeaders: { 'x-canary': CANARY } });

  // Upstream answers carry the canary (the client must get them; nothing may keep them).
  h.upstream.respondWith((req, res) => {
    const body = req.json ?? {};
    if (req.path === '/v1/messages') {
      res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
      return void res.end(body.stream ? anthropicMessageSse([CANARY, ' done']) : JSON.stringify(anthropicMessageJson(CANARY)));
    }
    if (req.path.endsWith('/chat/completions')) {
      res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
      return void res.end(body.stream ? openAiChatSse([CANARY, ' done'], true) : JSON.stringify(openAiChatJson(CANARY)));
    }
    return normalAnswer(req, res);
  });
  const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
  expect(completion.choices[0].message.content).toBe(CANARY);
  let streamed = '';
  for await (const chunk of await openai.chat.completions.create({ model: 'fast', messages, stream: true })) streamed += chunk.choices[0]?.delta?.content ?? '';
  expect(streamed).toContain(CANARY);
  const message = await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 10, system: CANARY, messages: [{ role: 'user', content: CANARY }] });
  expect(message.content[0]).toMatchObject({ text: CANARY });
  for await (const event of await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 10, messages: [{ role: 'user', content: CANARY }], stream: true })) void event;

  // Upstream error bodies and in-band error events carry the canary.
  h.upstream.respondWith((_req, res) => void res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: CANARY } })));
  expect((await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages }))).status).toBe(502);
  // A provider's 4xx message goes to the caller who sent the prompt it may quote ("prompt is too long"), and nowhere else.
  h.upstream.respondWith((_req, res) => void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `prompt is too long: ${CANARY}` } })));
  const refused = await raw('/v1/messages', JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 5, messages }));
  expect(refused.status).toBe(400);
  expect(JSON.parse(errorBodies.pop() as string)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: `prompt is too long: ${CANARY}` } });
  h.upstream.respondWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: CANARY } })}\n\n`);
  });
  const inBand = await raw('/v1/messages', JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 5, messages, stream: true }));
  expect(inBand.text).not.toContain(CANARY);
  h.upstream.respondWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`data: ${JSON.stringify({ error: { message: CANARY } })}\n\n`);
  });
  await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }));

  // Timeout paths: before headers, and a stream stalled after a canary chunk.
  h.upstream.respondWith(() => undefined);
  expect((await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages }))).status).toBe(504);
  h.upstream.respondWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(openAiChatSse([CANARY], true).split('\n\n').slice(0, 2).join('\n\n') + '\n\n');
  });
  await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }));

  // Client errors with the canary in the body, the model name, the key and the path.
  h.upstream.respondWith((req, res) => normalAnswer(req, res));
  await raw('/v1/chat/completions', `{"model":"${CANARY}",`);
  await raw('/v1/chat/completions', JSON.stringify({ model: CANARY, messages }));
  await raw('/v1/embeddings', JSON.stringify({ model: 'claude-sonnet-5-5', input: CANARY }));
  await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages }), { authorization: `Bearer mr-${CANARY}` });
  await raw('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages }), { authorization: `Bearer ${CANARY}` });
  await raw(`/v1/${CANARY}`, '{}');

  // Client abort mid-stream.
  h.upstream.respondWith((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(openAiChatSse([CANARY, CANARY], true).split('\n\n').slice(0, 3).join('\n\n') + '\n\n');
  });
  const controller = new AbortController();
  const aborted = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${h.firstKey.secret}` }, body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }), signal: controller.signal,
  });
  await (aborted.body as ReadableStream<Uint8Array>).getReader().read();
  controller.abort();
  await new Promise((r) => setTimeout(r, 100));

  await h.server.idle();
  const logs = h.logs.join('\n');
  const tables = await h.dumpTables();
  expect(h.logs.length).toBeGreaterThan(15);
  expect(tables.length).toBeGreaterThan(1000);
  // The scans themselves must be able to find the canary: it is in the upstream's view of the requests.
  expect(JSON.stringify(h.upstream.received)).toContain(CANARY);
  expect({ where: 'logs', hits: logs.split(CANARY).length - 1 }).toEqual({ where: 'logs', hits: 0 });
  expect({ where: 'tables', hits: tables.split(CANARY).length - 1 }).toEqual({ where: 'tables', hits: 0 });
  expect({ where: 'console', hits: consoleOutput.join('\n').split(CANARY).length - 1 }).toEqual({ where: 'console', hits: 0 });
  expect({ where: 'banner', hits: h.banner.join('\n').split(CANARY).length - 1 }).toEqual({ where: 'banner', hits: 0 });
  expect({ where: 'error bodies', hits: errorBodies.join('\n').split(CANARY).length - 1 }).toEqual({ where: 'error bodies', hits: 0 });
  expect(errorBodies.length).toBeGreaterThan(8);
  // No secret either: neither the client key nor a provider key.
  for (const secret of [h.firstKey.secret, 'sk-upstream-openai-secret', 'sk-ant-upstream-secret']) {
    expect(logs).not.toContain(secret);
    expect(tables).not.toContain(secret);
  }
});
