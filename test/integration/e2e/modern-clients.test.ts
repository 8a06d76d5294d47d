/**
 * The endpoints modern clients call, driven by the official SDKs over HTTP against the upstream
 * fake: OpenAI's Responses API (JSON, stream, function tools, the stream helper), Anthropic's
 * count_tokens, model retrieval in both shapes, pattern routes for changing model names, and the
 * exact usage records with cached, cache-write and reasoning tokens.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ANTHROPIC_CACHE_USAGE, anthropicMessageJson, anthropicMessageSse, openAiChatJson } from '../../helpers/fixtures';
import { buildRelay, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  h = await buildRelay({
    host: 'http',
    store: 'dynalite',
    config: (url) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${url}/v1` },
        anthropic: { type: 'anthropic', baseUrl: url },
      },
      models: {
        'gpt-5-codex': { provider: 'openai' },
        'gpt-5*': { provider: 'openai' },
        'claude-sonnet-5-5': { provider: 'anthropic' },
        'claude-*': { provider: 'anthropic' },
      },
    }),
  });
  openai = new OpenAI({ apiKey: h.key.secret, baseURL: `${h.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: h.key.secret, baseURL: h.url, maxRetries: 0 });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const weather = { type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true };
const RESPONSES_RECORD = { endpoint: 'responses', inputTokens: 2000, cachedInputTokens: 1500, outputTokens: 40, reasoningTokens: 32, cacheWriteTokens: 0, usageSource: 'provider', status: 200, outcome: 'ok' };

describe('OpenAI Responses API', () => {
  test('responses.create (JSON) with a function tool: the call comes back, the provider keeps nothing, usage is exact', async () => {
    const { data, response } = await openai.responses.create({ model: 'gpt-5-codex', input: 'Weather in Paris?', tools: [weather] }).withResponse();
    expect(data.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' });
    const sent = h.upstream.received[0];
    expect(sent.path).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
    expect(sent.json).toMatchObject({ model: 'gpt-5-codex', input: 'Weather in Paris?', store: false });
    expect(sent.json?.stream_options).toBeUndefined();
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ ...RESPONSES_RECORD, model: 'gpt-5-codex', provider: 'openai', streamed: false, completed: true });
  });

  test('responses.create (stream) delivers every event; usage comes from response.completed', async () => {
    const { data: stream, response } = await openai.responses.create({ model: 'gpt-5-codex', input: 'hi', stream: true }).withResponse();
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(text).toBe('Hello from the mock upstream');
    expect(h.upstream.received[0].json).toMatchObject({ stream: true, store: false });
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ ...RESPONSES_RECORD, streamed: true, completed: true });
  });

  test('responses.stream (the SDK helper) with a function tool streams the arguments and resolves the final response', async () => {
    const runner = openai.responses.stream({ model: 'gpt-5-codex', input: 'Weather in Paris?', tools: [weather] });
    let args = '';
    runner.on('response.function_call_arguments.delta', (event) => (args += event.delta));
    const final = await runner.finalResponse();
    expect(args).toBe('{"city":"Paris"}');
    expect(final.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather' });
    const records = (await h.usageItems()).filter((r) => r.endpoint === 'responses' && r.streamed === true);
    expect(records.length).toBeGreaterThanOrEqual(1);
  });

  test('a name matching a pattern route is forwarded unchanged (gpt-5* → gpt-5.9-mini)', async () => {
    const { response } = await openai.responses.create({ model: 'gpt-5.9-mini', input: 'hi' }).withResponse();
    expect(h.upstream.received[0].json?.model).toBe('gpt-5.9-mini');
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ model: 'gpt-5.9-mini', provider: 'openai' });
  });

  test('POST /v1/responses/compact (Codex remote compaction) is forwarded and metered', async () => {
    const res = await fetch(`${h.url}/v1/responses/compact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-codex', input: [{ role: 'user', content: 'long history' }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ object: 'response.compaction' });
    expect(h.upstream.received[0].path).toBe('/v1/responses/compact');
    expect(await h.usageFor(res.headers.get('x-request-id') as string)).toMatchObject({ endpoint: 'responses_compact', inputTokens: 900, outputTokens: 60, usageSource: 'provider' });
  });

  test('chat completions carry cached and reasoning tokens into the record, and store: false upstream', async () => {
    h.upstream.respondWith((_req, res) => {
      const answer = openAiChatJson('ok', { prompt_tokens: 50, completion_tokens: 20 });
      const usage = { ...answer.usage, prompt_tokens_details: { cached_tokens: 30 }, completion_tokens_details: { reasoning_tokens: 12 } };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...answer, usage }));
    });
    const { response } = await openai.chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(h.upstream.received[0].json?.store).toBe(false);
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ endpoint: 'chat', inputTokens: 50, cachedInputTokens: 30, outputTokens: 20, reasoningTokens: 12 });
  });

  test('requests that need stored state get a 400 that says why, and nothing goes upstream', async () => {
    await expect(openai.responses.create({ model: 'gpt-5-codex', input: 'more', previous_response_id: 'resp_123' })).rejects.toMatchObject({
      status: 400,
      code: 'provider_storage_disabled',
      message: expect.stringContaining('previous_response_id'),
    });
    await expect(openai.responses.create({ model: 'gpt-5-codex', input: 'later', background: true })).rejects.toMatchObject({ status: 400 });
    await expect(openai.responses.retrieve('resp_123')).rejects.toMatchObject({ status: 400, code: 'provider_storage_disabled' });
    await expect(openai.responses.delete('resp_123')).rejects.toMatchObject({ status: 400 });
    expect(h.upstream.received).toHaveLength(0);
  });
});

describe('Anthropic count_tokens, models and cache tokens', () => {
  test('messages.countTokens is forwarded with anthropic-version and anthropic-beta, and recorded at 0 billable tokens', async () => {
    const { data, response } = await anthropic.beta.messages
      .countTokens({ model: 'claude-sonnet-5-5', messages: [{ role: 'user', content: 'hi' }], betas: ['token-counting-2024-11-01'] })
      .withResponse();
    expect(data.input_tokens).toBe(4321);
    const sent = h.upstream.received[0];
    expect(sent.path.split('?')[0]).toBe('/v1/messages/count_tokens');
    expect(sent.headers['x-api-key']).toBe(UPSTREAM_ANTHROPIC_KEY);
    expect(sent.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(sent.headers['anthropic-beta']).toContain('token-counting-2024-11-01');
    // The caller's own values go upstream as sent.
    await fetch(`${h.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': h.key.secret, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-1m-2025-08-07,effort-2025-11-24', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-5-5', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(h.upstream.received[1].headers).toMatchObject({ 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-1m-2025-08-07,effort-2025-11-24' });
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ endpoint: 'count_tokens', inputTokens: 0, outputTokens: 0, model: 'claude-sonnet-5-5', outcome: 'ok' });
  });

  test('messages.countTokens without the beta namespace works too', async () => {
    const counted = await anthropic.messages.countTokens({ model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'hi' }] });
    expect(counted.input_tokens).toBe(4321);
    expect(h.upstream.received[0].json?.model).toBe('claude-opus-4-8');
  });

  test('models.retrieve answers in each SDK\'s shape, for exact names and pattern matches; unknown names are 404', async () => {
    expect(await anthropic.models.retrieve('claude-sonnet-5-5')).toMatchObject({ type: 'model', id: 'claude-sonnet-5-5' });
    expect(await anthropic.models.retrieve('claude-haiku-4-5-20251001')).toMatchObject({ type: 'model', id: 'claude-haiku-4-5-20251001' });
    expect(await openai.models.retrieve('gpt-5-codex')).toMatchObject({ id: 'gpt-5-codex', object: 'model', owned_by: 'openai' });
    await expect(openai.models.retrieve('llama-3')).rejects.toMatchObject({ status: 404 });
    // An OpenAI model is not an Anthropic one: the Anthropic-shaped answer says so.
    await expect(anthropic.models.retrieve('gpt-5-codex')).rejects.toMatchObject({ status: 404 });
  });

  test('the Anthropic-shaped model list holds only models served on /v1/messages, and no patterns', async () => {
    const listed: string[] = [];
    for await (const model of anthropic.models.list()) listed.push(model.id);
    expect(listed).toEqual(['claude-sonnet-5-5']);
    const openAiListed = (await openai.models.list()).data.map((m) => m.id);
    expect(openAiListed.sort()).toEqual(['claude-sonnet-5-5', 'gpt-5-codex']);
  });

  test('Claude Code\'s default model names route through the claude-* pattern, unchanged', async () => {
    for (const model of ['claude-opus-4-8', 'claude-sonnet-5', 'claude-haiku-4-5-20251001']) {
      const message = await anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
      expect(message.content[0]).toMatchObject({ type: 'text' });
      expect(h.upstream.received.at(-1)?.json?.model).toBe(model);
    }
  });

  test('prompt-cache reads and writes are recorded, from JSON and from the stream', async () => {
    h.upstream.respondWith((req, res) => {
      if (req.json?.stream) return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(anthropicMessageSse(['a', 'b'], ANTHROPIC_CACHE_USAGE));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(anthropicMessageJson('ok', ANTHROPIC_CACHE_USAGE)));
    });
    const expected = { endpoint: 'messages', inputTokens: 13 + 300 + 900, cachedInputTokens: 900, cacheWriteTokens: 300, outputTokens: 9, usageSource: 'provider' };
    const { response } = await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(await h.usageFor(response.headers.get('x-request-id') as string)).toMatchObject(expected);
    const { data: stream, response: streamed } = await anthropic.messages.create({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    for await (const event of stream) void event;
    expect(await h.usageFor(streamed.headers.get('x-request-id') as string)).toMatchObject({ ...expected, streamed: true });
  });
});
