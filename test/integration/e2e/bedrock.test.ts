/**
 * Bedrock through the relay, end to end with the official clients: @anthropic-ai/sdk on
 * /v1/messages (InvokeModel, natively) and openai on /v1/chat/completions (Converse, translated),
 * against the Bedrock stand-in that checks each request's SigV4 signature. Exact usage records
 * (cache tokens included), the key id in Bedrock's request metadata, errors mapped to each caller's
 * shape, and failover from Anthropic and OpenAI to Bedrock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { RuntimeIdentity } from '../../../lambda/core/ports';
import { BEDROCK_TEST_REGION, BEDROCK_USAGE, startBedrockFake, type BedrockFake } from '../../helpers/bedrock-fake';
import { bedrockConfig, buildRelay, type TestRelay } from '../../helpers/relay-builder';
import { startUpstreamFake, type UpstreamFake } from '../../helpers/upstream-fake';

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const APP_PROFILE = 'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/team-a';
/** What the record counts as input: Bedrock's input plus cache reads and writes. */
const RECORDED_INPUT = BEDROCK_USAGE.inputTokens + BEDROCK_USAGE.cacheReadInputTokens! + BEDROCK_USAGE.cacheWriteInputTokens!;

let bedrock: BedrockFake;
let upstream: UpstreamFake;
let relay: TestRelay;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  bedrock = await startBedrockFake();
  upstream = await startUpstreamFake({ echo: true });
  relay = await buildRelay({
    host: 'http',
    upstream,
    bedrockUrl: bedrock.url,
    config: (url) => {
      const config = bedrockConfig(url);
      return {
        ...config,
        // A provider that lists its own betas, one of which Bedrock does not accept.
        providers: {
          ...config.providers,
          'bedrock-own-betas': { type: 'bedrock', region: BEDROCK_TEST_REGION, anthropicBetas: ['claude-code-20250219', 'context-1m-2025-08-07'] },
          // A team's application inference profile, and the model behind it.
          'bedrock-team': { type: 'bedrock', region: BEDROCK_TEST_REGION, applicationProfiles: { [APP_PROFILE]: 'anthropic.claude-haiku-4-5-20251001-v1:0' } },
        },
        models: { ...config.models, 'claude-own-betas': { provider: 'bedrock-own-betas', model: PROFILE }, 'claude-team': { provider: 'bedrock-team', model: APP_PROFILE } },
      };
    },
  });
  anthropic = new Anthropic({ apiKey: relay.key.secret, baseURL: relay.url, maxRetries: 0 });
  openai = new OpenAI({ apiKey: relay.key.secret, baseURL: `${relay.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await relay.close();
  await upstream.close();
  await bedrock.close();
});
afterEach(() => {
  // Every request the relay sent was correctly signed.
  expect(bedrock.refused).toEqual([]);
  bedrock.reset();
  upstream.reset();
});

const lastCall = () => {
  expect(bedrock.received.length).toBeGreaterThan(0);
  return bedrock.received[bedrock.received.length - 1];
};

/** Nothing of the client's key reaches Bedrock; only its id, as request metadata. */
function expectAttributedByKeyId(received: { headers: Record<string, unknown>; body: string }) {
  expect(JSON.stringify(received.headers)).not.toContain(relay.key.secret);
  expect(received.body).not.toContain(relay.key.secret);
}

describe('Anthropic Messages on Bedrock (InvokeModel)', () => {
  test('JSON: the answer, the Bedrock body, the key id as request metadata, and the exact usage with cache tokens', async () => {
    const { data, response } = await anthropic.messages
      .create({ model: 'claude-bedrock', max_tokens: 64, messages: [{ role: 'user', content: 'bdrk-json' }] }, { headers: { 'anthropic-beta': 'context-1m-2025-08-07, token-efficient-tools-2025-02-19' } })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'bdrk-json' }]);
    const sent = lastCall();
    expect(sent).toMatchObject({ modelId: PROFILE, action: 'invoke' });
    expect(sent.path).toBe(`/model/${encodeURIComponent(PROFILE)}/invoke`);
    expect(sent.json).toEqual({ anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['context-1m-2025-08-07', 'token-efficient-tools-2025-02-19'], max_tokens: 64, messages: [{ role: 'user', content: 'bdrk-json' }] });
    expect(sent.headers['anthropic-version']).toBeUndefined();
    expect(JSON.parse(String(sent.headers['x-amzn-bedrock-request-metadata']))).toEqual({ mixroute_key_id: relay.key.id });
    expectAttributedByKeyId(sent);
    const record = await relay.usageFor(response.headers.get('x-request-id') as string);
    expect(record).toMatchObject({
      provider: 'bedrock',
      model: 'claude-bedrock',
      endpoint: 'messages',
      status: 200,
      outcome: 'ok',
      inputTokens: RECORDED_INPUT,
      outputTokens: BEDROCK_USAGE.outputTokens,
      cachedInputTokens: BEDROCK_USAGE.cacheReadInputTokens,
      cacheWriteTokens: BEDROCK_USAGE.cacheWriteInputTokens,
      usageSource: 'provider',
    });
  });

  test('stream: the event stream comes back as Anthropic SSE events the SDK reads; usage from the invocation metrics', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 64, messages: [{ role: 'user', content: 'bdrk-stream-sentinel' }] });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe('bdrk-stream-sentinel');
    expect(message.stop_reason).toBe('end_turn');
    expect(lastCall()).toMatchObject({ action: 'invoke-with-response-stream' });
    expect(lastCall().json.stream).toBeUndefined();
    const requestId = (await stream.withResponse()).response.headers.get('x-request-id') as string;
    expect(await relay.usageFor(requestId)).toMatchObject({ streamed: true, completed: true, outcome: 'ok', inputTokens: RECORDED_INPUT, outputTokens: BEDROCK_USAGE.outputTokens, cacheWriteTokens: BEDROCK_USAGE.cacheWriteInputTokens });
  });

  test('tools: a tool_use answer, streamed and not', async () => {
    const tools = [{ name: 'weather', description: 'Weather of a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }];
    const json = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 64, tools, messages: [{ role: 'user', content: 'please use tool' }] });
    expect(json.stop_reason).toBe('tool_use');
    expect(json.content[0]).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'Paris' } });
    expect(lastCall().json.tools).toEqual(tools);
    const streamed = await anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 64, tools, messages: [{ role: 'user', content: 'please use tool' }] }).finalMessage();
    expect(streamed.content[0]).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'Paris' } });
  });

  test('count_tokens goes to CountTokens with the bare foundation model and the Bedrock body; 0 billable tokens', async () => {
    const { data, response } = await anthropic.messages.countTokens({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'count these words please' }] }).withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    const sent = lastCall();
    expect(sent).toMatchObject({ action: 'count-tokens', modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' });
    const inner = JSON.parse(Buffer.from(sent.json.input.invokeModel.body, 'base64').toString('utf8'));
    expect(inner).toEqual({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 1, messages: [{ role: 'user', content: 'count these words please' }] });
    expect(await relay.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ endpoint: 'count_tokens', inputTokens: 0, outputTokens: 0, status: 200 });
  });

  test('Bedrock exceptions in the Anthropic shape: throttling 429 with Retry-After, validation 400 with its message, model timeout 504, unavailable 503', async () => {
    bedrock.script({ exception: 'ThrottlingException', status: 429, message: 'Too many tokens, please wait before trying again.' });
    const throttled = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(throttled).toBeInstanceOf(Anthropic.RateLimitError);
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);

    bedrock.script({ exception: 'ValidationException', status: 400, message: 'messages.0.content: Input should be a valid list' });
    const invalid = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
    expect(invalid.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'messages.0.content: Input should be a valid list' } });

    bedrock.script({ exception: 'ModelTimeoutException', status: 408, message: 'Model has timed out in processing the request.' });
    const timedOut = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(timedOut.status).toBe(504);

    bedrock.script({ exception: 'ServiceUnavailableException', status: 503, message: 'Service unavailable' });
    const unavailable = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(unavailable.status).toBe(503);
    expect(unavailable.error).toMatchObject({ error: { type: 'overloaded_error' } });
    // The provider's text is the caller's alone: never in logs or records.
    await relay.idle();
    expect(relay.logs.join('\n')).not.toContain('Input should be a valid list');
  });

  test('a mid-stream exception ends the stream with an Anthropic error event, recorded as an upstream error', async () => {
    bedrock.script({ midStream: 'modelStreamErrorException', message: 'secret-ish model failure text' });
    const response = await fetch(`${relay.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': relay.key.secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-bedrock', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'a longer sentinel text' }] }),
    });
    const text = await response.text();
    expect(text).toContain('event: message_start');
    expect(text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
    expect(text).not.toContain('secret-ish model failure text');
    expect(await relay.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ outcome: 'upstream_error', completed: false });
  });

  test('mid-stream throttling reaches an Anthropic client as a rate_limit_error event (our text, not Bedrock\'s)', async () => {
    bedrock.script({ midStream: 'throttlingException', message: 'Too many tokens, private detail' });
    const stream = anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'a longer sentinel text' }] });
    const failure = await stream.finalMessage().catch((e) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(JSON.stringify(failure.error)).toContain('"type":"rate_limit_error"');
    expect(String(failure.message)).not.toContain('private detail');
  });

  test('a stream cut mid-message ends with an error event', async () => {
    bedrock.script('cut');
    const stream = anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'a longer sentinel text' }] });
    await expect(stream.finalMessage()).rejects.toThrow();
  });

  test('Claude Code\'s recorded request (its first-party betas included) is served: Bedrock is sent only the betas it accepts', async () => {
    const recorded = JSON.parse(readFileSync(join(__dirname, '../../fixtures/clients/claude-code-2.1.197.json'), 'utf8')).messages as { path: string; headers: Record<string, string>; body: Record<string, unknown> };
    const betas = recorded.headers['anthropic-beta'].split(',');
    expect(betas).toEqual(expect.arrayContaining(['claude-code-20250219', 'prompt-caching-scope-2026-01-05', 'context-1m-2025-08-07']));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(recorded.headers)) if (name !== 'accept-encoding') headers[name] = value.replace('RELAY_KEY', relay.key.secret);
    const res = await fetch(relay.url + recorded.path, { method: 'POST', headers, body: JSON.stringify({ ...recorded.body, model: 'claude-bedrock' }) });
    const text = await res.text();
    expect({ status: res.status, start: text.slice(0, 80) }).toEqual({ status: 200, start: expect.stringMatching(/^event: message_start/) });
    expect(text).toContain('event: message_stop');
    const sent = lastCall();
    expect(sent.action).toBe('invoke-with-response-stream');
    expect(sent.json.anthropic_beta).toEqual(['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'effort-2025-11-24']);
    expect(sent.json.tools).toEqual(recorded.body.tools);
    expect(sent.json.thinking).toEqual(recorded.body.thinking);
    expect(sent.json.context_management).toEqual(recorded.body.context_management);
  });

  test('a provider\'s "anthropicBetas" replaces the list; a beta Bedrock refuses reaches the client as Bedrock\'s 400', async () => {
    const refused = await anthropic.messages
      .create({ model: 'claude-own-betas', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'anthropic-beta': 'claude-code-20250219,context-1m-2025-08-07,effort-2025-11-24' } })
      .catch((e) => e);
    expect(lastCall().json.anthropic_beta).toEqual(['claude-code-20250219', 'context-1m-2025-08-07']);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(refused.message).toMatch(/invalid beta flag/);
  });

  test('an application inference profile is invoked by its ARN; CountTokens gets the foundation model its provider names', async () => {
    const message = await anthropic.messages.create({ model: 'claude-team', max_tokens: 8, messages: [{ role: 'user', content: 'team-a' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'team-a' }]);
    expect(lastCall().path).toBe(`/model/${encodeURIComponent(APP_PROFILE)}/invoke`);
    const counted = await anthropic.messages.countTokens({ model: 'claude-team', messages: [{ role: 'user', content: 'team-a' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
    expect(lastCall().path).toBe(`/model/${encodeURIComponent('anthropic.claude-haiku-4-5-20251001-v1:0')}/count-tokens`);
  });

  test('a non-Anthropic Bedrock model is not served on /v1/messages', async () => {
    const refused = await anthropic.messages.create({ model: 'llama-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(refused.message).toMatch(/chat\/completions/);
    expect(bedrock.received).toHaveLength(0);
  });
});

describe('OpenAI Chat Completions on Bedrock (Converse)', () => {
  test('JSON: translated both ways, with usage (cached tokens) and the key id as request metadata', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'claude-bedrock', max_completion_tokens: 50, temperature: 0.2, top_p: 0.9, stop: ['END'], user: 'ignored', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'bdrk-chat' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('claude-bedrock');
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'bdrk-chat' }, finish_reason: 'stop' });
    expect(data.usage).toMatchObject({ prompt_tokens: RECORDED_INPUT, completion_tokens: BEDROCK_USAGE.outputTokens, prompt_tokens_details: { cached_tokens: BEDROCK_USAGE.cacheReadInputTokens } });
    const sent = lastCall();
    expect(sent).toMatchObject({ action: 'converse', modelId: PROFILE });
    expect(sent.json).toEqual({
      messages: [{ role: 'user', content: [{ text: 'bdrk-chat' }] }],
      system: [{ text: 'Be brief.' }],
      inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      requestMetadata: { mixroute_key_id: relay.key.id },
    });
    expectAttributedByKeyId(sent);
    expect(await relay.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ provider: 'bedrock', endpoint: 'chat', inputTokens: RECORDED_INPUT, outputTokens: BEDROCK_USAGE.outputTokens, cachedInputTokens: BEDROCK_USAGE.cacheReadInputTokens });
  });

  test('stream: deltas, finish_reason and the usage chunk when asked for; no usage chunk (but a record) when not', async () => {
    const asked = await openai.chat.completions.create({ model: 'claude-bedrock', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'bdrk-chat-stream' }] });
    const chunks = [];
    for await (const chunk of asked) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('bdrk-chat-stream');
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: RECORDED_INPUT, completion_tokens: BEDROCK_USAGE.outputTokens } });
    expect(lastCall().action).toBe('converse-stream');

    const { data: plain, response } = await openai.chat.completions.create({ model: 'claude-bedrock', stream: true, messages: [{ role: 'user', content: 'bdrk-plain' }] }).withResponse();
    const plainChunks = [];
    for await (const chunk of plain) plainChunks.push(chunk);
    expect(plainChunks.length).toBeGreaterThan(2);
    expect(plainChunks.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
    expect(await relay.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ streamed: true, completed: true, inputTokens: RECORDED_INPUT, outputTokens: BEDROCK_USAGE.outputTokens });
  });

  const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: 'function', function: { name: 'weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

  test('tool calls: the call, streamed argument deltas (the SDK helper assembles them), and the tool result turn', async () => {
    const first = await openai.chat.completions.create({ model: 'claude-bedrock', tools, tool_choice: 'required', messages: [{ role: 'user', content: 'please use tool' }] });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', function: { name: 'weather' } });
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(lastCall().json.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'weather', description: 'Weather of a city', inputSchema: { json: (tools[0] as OpenAI.Chat.ChatCompletionFunctionTool).function.parameters } } }], toolChoice: { any: {} } });

    const streamed = await openai.chat.completions.stream({ model: 'claude-bedrock', tools, messages: [{ role: 'user', content: 'please use tool' }] }).finalChatCompletion();
    const streamedCall = streamed.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(streamedCall.function.arguments)).toEqual({ city: 'Paris' });
    expect(streamed.choices[0].finish_reason).toBe('tool_calls');

    const second = await openai.chat.completions.create({
      model: 'claude-bedrock',
      tools,
      tool_choice: { type: 'function', function: { name: 'weather' } },
      messages: [{ role: 'user', content: 'please use tool' }, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' }],
    });
    expect(second.choices[0].message.content).toBe('tool result received');
    expect(lastCall().json.messages).toEqual([
      { role: 'user', content: [{ text: 'please use tool' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: call.id, name: 'weather', input: { city: 'Paris' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: 'sunny, 21 C' }] } }] },
    ]);
    expect(lastCall().json.toolConfig.toolChoice).toEqual({ tool: { name: 'weather' } });
  });

  test('a base64 image is sent as a Converse image block; a remote image URL is refused, naming the field', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
    await openai.chat.completions.create({
      model: 'claude-bedrock',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    expect(lastCall().json.messages[0].content).toEqual([{ text: 'what is this' }, { image: { format: 'png', source: { bytes: png } } }]);
    const remote = await openai.chat.completions
      .create({ model: 'claude-bedrock', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })
      .catch((e) => e);
    expect(remote).toBeInstanceOf(OpenAI.BadRequestError);
    expect(remote.param).toBe('messages[0].content[0].image_url.url');
  });

  test.each([
    ['seed', { seed: 7 }],
    ['logprobs', { logprobs: true }],
    ['n', { n: 2 }],
    ['frequency_penalty', { frequency_penalty: 0.5 }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['reasoning_effort', { reasoning_effort: 'high' }],
  ])('a field Converse cannot express (%s) is refused with a 400 naming it, and nothing is sent', async (field, extra) => {
    const refused = await openai.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'x' }], ...(extra as object) } as never).catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused.param).toBe(field);
    expect(refused.message).toContain(`"${field}"`);
    expect(bedrock.received).toHaveLength(0);
  });

  test('Bedrock exceptions in the OpenAI shape, and a mid-stream one as an error chunk', async () => {
    bedrock.script({ exception: 'ThrottlingException', status: 429, message: 'slow down' });
    const throttled = await openai.chat.completions.create({ model: 'llama-bedrock', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(throttled).toBeInstanceOf(OpenAI.RateLimitError);
    expect(lastCall().modelId).toBe('meta.llama3-3-70b-instruct-v1:0');

    bedrock.script({ midStream: 'throttlingException', message: 'slow down' });
    const stream = await openai.chat.completions.create({ model: 'llama-bedrock', stream: true, messages: [{ role: 'user', content: 'a longer sentinel text' }] });
    await expect(
      (async () => {
        for await (const chunk of stream) void chunk;
      })(),
    ).rejects.toThrow(/upstream provider reported an error/);
  });
});

describe('failover across clouds', () => {
  test.each([529, 503])('Claude on Anthropic answering %i fails over to Claude on Bedrock', async (status) => {
    upstream.script('a', { status });
    const { data, response } = await anthropic.messages.create({ model: 'claude-ha', max_tokens: 16, messages: [{ role: 'user', content: 'bdrk-failover' }] }).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'bdrk-failover' }]);
    expect(upstream.hits.a).toBe(1);
    expect(lastCall()).toMatchObject({ action: 'invoke', modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' });
    expect(await relay.usageFor(response.headers.get('x-request-id') as string)).toMatchObject({ provider: 'bedrock', outcome: 'ok' });
  });

  test('OpenAI answering 503 fails over to Claude on Bedrock through Converse, for an OpenAI client', async () => {
    upstream.script('a', { status: 503 });
    const data = await openai.chat.completions.create({ model: 'gpt-ha', messages: [{ role: 'user', content: 'bdrk-gpt-failover' }] });
    expect(data.choices[0].message.content).toBe('bdrk-gpt-failover');
    expect(lastCall().action).toBe('converse');
  });
});

describe('the relay\'s own AWS identity', () => {
  test('when no credentials can be had, the caller gets 503 provider_credential_unavailable and nothing is sent', async () => {
    const failing: RuntimeIdentity = {
      region: async () => 'us-east-1',
      endpoint: () => bedrock.url,
      sign: async () => {
        throw new Error('Could not load credentials from any providers');
      },
    };
    const broken = await buildRelay({ host: 'http', upstream, identity: failing, config: (url) => bedrockConfig(url) });
    try {
      const result = await broken.call('/v1/messages', { body: JSON.stringify({ model: 'claude-bedrock', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }) });
      expect(result.status).toBe(503);
      expect(result.json.error.type).toBe('overloaded_error');
      expect(result.text).not.toContain('Could not load credentials');
      expect(bedrock.received).toHaveLength(0);
    } finally {
      await broken.close();
    }
  });

  test('a signer that hangs is given up within the store deadline', async () => {
    const hanging: RuntimeIdentity = { region: async () => 'us-east-1', endpoint: () => bedrock.url, sign: () => new Promise(() => undefined) };
    const broken = await buildRelay({ host: 'http', upstream, identity: hanging, config: (url) => bedrockConfig(url, { storeTimeoutMs: 300 }) });
    try {
      const started = Date.now();
      const result = await broken.call('/v1/chat/completions', { body: JSON.stringify({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'x' }] }) });
      expect(result.status).toBe(503);
      expect(result.json.error.code).toBe('provider_credential_unavailable');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await broken.close();
    }
  });
});
