/**
 * End to end: the local relay (dev server) against a mock upstream, driven by the official OpenAI
 * and Anthropic SDKs, streaming and not; checks content, what went upstream, and the exact usage
 * record written.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { DEFAULT_REPLY } from '../../helpers/upstream-fake';
import { buildRelay, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  h = await buildRelay({ host: 'http', store: 'dynalite' });
  openai = new OpenAI({ apiKey: h.key.secret, baseURL: `${h.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: h.key.secret, baseURL: h.url, maxRetries: 0 });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const USAGE_KEYS = ['keyId', 'requestId', 'timestamp', 'model', 'provider', 'endpoint', 'inputTokens', 'outputTokens', 'cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens', 'usageSource', 'status', 'outcome', 'streamed', 'completed', 'latencyMs', 'expiresAt', 'sk'].sort();

async function expectExactUsage(requestId: string, expected: Record<string, unknown>) {
  const record = (await h.usageFor(requestId)) as unknown as Record<string, unknown>;
  expect(record).toBeDefined();
  expect(Object.keys(record).sort()).toEqual(USAGE_KEYS);
  expect(record).toMatchObject({ keyId: h.key.id, requestId, ...expected });
  const started = Date.parse(record.timestamp as string);
  expect(Math.abs(started - Date.now())).toBeLessThan(60_000);
  expect(record.expiresAt).toBe(Math.floor(started / 1000) + 7 * 86_400);
  expect(typeof record.latencyMs).toBe('number');
  expect(record.sk).toBe(`${record.timestamp}#${requestId}`);
}

test('openai SDK: non-streaming chat completion returns the upstream answer and records provider usage', async () => {
  const { data, response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  expect(data.choices[0].message.content).toBe(DEFAULT_REPLY);
  const sent = h.upstream.received[0];
  expect(sent.path).toBe('/v1/chat/completions');
  expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
  expect(JSON.stringify(sent.headers)).not.toContain(h.key.secret);
  await expectExactUsage(response.headers.get('x-request-id') as string, {
    model: 'gpt-4o-mini', provider: 'openai', inputTokens: 11, outputTokens: 7, usageSource: 'provider', status: 200, outcome: 'ok', streamed: false, completed: true,
  });
});

test('openai SDK: streaming chat gets every piece, no injected usage chunk, and provider usage is recorded', async () => {
  const { data: stream, response } = await openai.chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true })
    .withResponse();
  let text = '';
  const chunks: unknown[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  expect(text).toBe(DEFAULT_REPLY);
  // The relay asked upstream for usage, then hid it from a client that did not ask.
  expect((h.upstream.received[0].json?.stream_options as { include_usage: boolean }).include_usage).toBe(true);
  expect(chunks.every((c) => !('usage' in (c as object)))).toBe(true);
  await expectExactUsage(response.headers.get('x-request-id') as string, {
    model: 'gpt-4o-mini', provider: 'openai', inputTokens: 11, outputTokens: 7, usageSource: 'provider', streamed: true, completed: true, outcome: 'ok', status: 200,
  });
});

test('openai SDK: a client that asks for stream usage receives the usage chunk', async () => {
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
  });
  let usage: unknown;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  expect(usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 });
});

test('openai SDK: a model alias is rewritten to its upstream model and recorded under the alias', async () => {
  const { response } = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  expect(h.upstream.received[0].json?.model).toBe('gpt-4o-mini');
  await expectExactUsage(response.headers.get('x-request-id') as string, { model: 'fast', provider: 'openai' });
});

test('openai SDK: embeddings are relayed and metered', async () => {
  const { data, response } = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' }).withResponse();
  expect(data.data[0].embedding).toHaveLength(3);
  await expectExactUsage(response.headers.get('x-request-id') as string, {
    model: 'text-embedding-3-small', inputTokens: 5, outputTokens: 0, usageSource: 'provider', streamed: false,
  });
});

test('openai SDK: models.list shows only the models the key may use', async () => {
  const limited = await h.createKey({ models: ['fast'] });
  const client = new OpenAI({ apiKey: limited.secret, baseURL: `${h.url}/v1`, maxRetries: 0 });
  const ids: string[] = [];
  for await (const model of client.models.list()) ids.push(model.id);
  expect(ids).toEqual(['fast']);
  await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 403 });
  expect(h.upstream.received).toHaveLength(0);
});

test('anthropic SDK: non-streaming message returns the upstream answer and records provider usage', async () => {
  const { data, response } = await anthropic.messages
    .create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  expect(data.content[0]).toMatchObject({ type: 'text', text: DEFAULT_REPLY });
  const sent = h.upstream.received[0];
  expect(sent.path).toBe('/v1/messages');
  expect(sent.headers['x-api-key']).toBe(UPSTREAM_ANTHROPIC_KEY);
  expect(sent.headers.authorization).toBeUndefined();
  // The SDK's own API version header is on the allowlist and goes upstream as sent.
  expect(sent.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(sent.headers['x-stainless-lang']).toBeUndefined();
  await expectExactUsage(response.headers.get('x-request-id') as string, {
    model: 'claude-sonnet-5-5', provider: 'anthropic', inputTokens: 13, outputTokens: 9, usageSource: 'provider', streamed: false, completed: true,
  });
});

test('anthropic SDK: streaming message gets every delta and records usage from message_start/message_delta', async () => {
  const { data: stream, response } = await anthropic.messages
    .create({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true })
    .withResponse();
  let text = '';
  for await (const event of stream) {
    if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
  }
  expect(text).toBe(DEFAULT_REPLY);
  await expectExactUsage(response.headers.get('x-request-id') as string, {
    model: 'claude-sonnet-5-5', provider: 'anthropic', inputTokens: 13, outputTokens: 9, usageSource: 'provider', streamed: true, completed: true, outcome: 'ok',
  });
});

test('anthropic SDK: errors come back in the Anthropic format', async () => {
  const bad = new Anthropic({ apiKey: 'mr-not-a-real-key', baseURL: h.url, maxRetries: 0 });
  await expect(bad.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
    status: 401,
    error: { type: 'error', error: { type: 'authentication_error' } },
  });
});
