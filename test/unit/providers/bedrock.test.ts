/**
 * The bedrock provider type case by case: Chat Completions ↔ Converse against the API reference
 * shapes in test/fixtures/bedrock, the event-stream decoders (frames from the AWS SDK's own
 * encoder, split at every byte), usage with cache tokens and invocation metrics, model ids and
 * their IAM resources, and the config.
 */
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ForwardInput } from '../../../lambda/core/provider';
import { parseSseEvent } from '../../../lambda/core/sse';
import { bedrockProvider } from '../../../lambda/providers/bedrock';
import { bedrockBetas, DEFAULT_BEDROCK_BETAS } from '../../../lambda/providers/bedrock/betas';
import { chatCompletionOf, converseUsage, createConverseStreamDecoder, finishReason } from '../../../lambda/providers/bedrock/converse-answer';
import { converseRequest } from '../../../lambda/providers/bedrock/converse-request';
import { EventStreamReader } from '../../../lambda/providers/bedrock/event-stream';
import { countTokensAnswer, countTokensBody, createInvokeStreamDecoder, createInvokeStreamMeter, invokeBody } from '../../../lambda/providers/bedrock/invoke';
import { bedrockModelArns, countTokensModel, parseBedrockModelId } from '../../../lambda/providers/bedrock/model-ids';
import { createOpenAiStreamMeter } from '../../../lambda/providers/shared/openai-wire';
import { RelayError } from '../../../lambda/core/errors';

const FIXTURES = join(__dirname, '../../fixtures/bedrock');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec((b) => decoder.decode(b), (s) => encoder.encode(s));

function frame(type: string, payload: unknown, messageType = 'event'): Uint8Array {
  const headers: MessageHeaders = {
    [messageType === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: type },
    ':content-type': { type: 'string', value: 'application/json' },
    ':message-type': { type: 'string', value: messageType },
  };
  return codec.encode({ headers, body: encoder.encode(JSON.stringify(payload)) });
}

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const text = (events: Uint8Array[]) => events.map((e) => decoder.decode(e)).join('');

describe('Chat Completions → Converse', () => {
  test('the reference request: system and developer, text and image, tool calls, tool results merged with the next user turn, inference settings, tools', () => {
    const { chat, converse } = fixture('chat-to-converse.json');
    expect(converseRequest(chat, { mixroute_key_id: 'key_Test123' })).toEqual(converse);
  });

  test.each([
    ['tool_choice "required"', { tool_choice: 'required' }, { any: {} }],
    ['tool_choice by name', { tool_choice: { type: 'function', function: { name: 'f' } } }, { tool: { name: 'f' } }],
    ['tool_choice "auto"', { tool_choice: 'auto' }, undefined],
  ])('%s', (_name, extra, expected) => {
    const out = converseRequest({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], ...extra }, {});
    expect((out.toolConfig as any).toolChoice).toEqual(expected);
  });

  test('max_completion_tokens wins over max_tokens', () => {
    expect(converseRequest({ messages: [{ role: 'user', content: 'x' }], max_tokens: 5, max_completion_tokens: 9 }, {}).inferenceConfig).toEqual({ maxTokens: 9 });
  });

  test.each([
    ['seed', { seed: 1 }],
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 2 }],
    ['n', { n: 3 }],
    ['presence_penalty', { presence_penalty: 1 }],
    ['logit_bias', { logit_bias: { '1': 2 } }],
    ['response_format', { response_format: { type: 'json_schema', json_schema: {} } }],
    ['parallel_tool_calls', { parallel_tool_calls: false }],
    ['audio', { audio: { voice: 'x' } }],
    ['prediction', { prediction: { type: 'content', content: 'x' } }],
    ['web_search_options', { web_search_options: {} }],
    ['constructor', { constructor: 5 }],
    ['tool_choice', { tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }],
    ['tools[0].function.strict', { tools: [{ type: 'function', function: { name: 'f', strict: true } }] }],
    ['tools[0].type', { tools: [{ type: 'custom', custom: { name: 'f' } }] }],
    ['messages[0].name', { messages: [{ role: 'user', content: 'x', name: 'bob' }] }],
    ['messages[0].role', { messages: [{ role: 'function', content: 'x' }] }],
    ['messages[0].content[0].image_url.url', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] }] }],
    ['messages[0].content[0].type', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }],
  ])('refuses %s with a 400 naming it', (field, extra) => {
    let error: unknown;
    try {
      converseRequest({ messages: [{ role: 'user', content: 'x' }], ...extra }, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RelayError);
    expect(error).toMatchObject({ status: 400, providerDetail: { param: field } });
    expect((error as Error).message).toContain(`"${field}"`);
  });

  test('accepts the fields that do not change the answer, at any value', () => {
    const body = { messages: [{ role: 'user', content: 'x' }], user: 'u', store: true, metadata: { a: 'b' }, safety_identifier: 's', prompt_cache_key: 'k', service_tier: 'auto', stream: true, stream_options: { include_usage: true } };
    expect(converseRequest(body, {})).toEqual({ messages: [{ role: 'user', content: [{ text: 'x' }] }], requestMetadata: {} });
  });

  test('a tool call whose arguments are not a JSON object is a 400 naming it', () => {
    const body = { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1,2' } }] }, { role: 'user', content: 'x' }] };
    expect(() => converseRequest(body, {})).toThrow(/messages\[0\]\.tool_calls\[0\]\.function\.arguments/);
  });
});

describe('Converse → Chat Completions', () => {
  const identity = { id: 'chatcmpl-test', model: 'claude-bedrock', created: 1_800_000_000 };
  const answers = fixture('converse-answers.json');

  test('a text answer, with usage: prompt tokens include cache reads and writes, cached tokens reported', () => {
    expect(chatCompletionOf(answers.text, identity)).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_800_000_000,
      model: 'claude-bedrock',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Paris is cloudy.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1149, completion_tokens: 60, total_tokens: 1209, prompt_tokens_details: { cached_tokens: 1000 } },
    });
    expect(converseUsage(answers.text)).toEqual({ inputTokens: 1149, outputTokens: 60, cachedInputTokens: 1000, cacheWriteTokens: 24 });
  });

  test('a tool-use answer becomes tool_calls with JSON arguments and finish_reason tool_calls', () => {
    const out = chatCompletionOf(answers.toolUse, identity) as any;
    expect(out.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: 'Checking.', refusal: null, tool_calls: [{ id: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  test.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['something_new', 'stop'],
    ['constructor', 'stop'],
  ])('stop reason %s → finish_reason %s', (stop, finish) => expect(finishReason(stop)).toBe(finish));

  test('not a Converse answer: throws (the relay answers 502)', () => {
    expect(() => chatCompletionOf({ message: 'x' }, identity)).toThrow();
  });
});

describe('ConverseStream → chat completion chunks', () => {
  const identity = { id: 'chatcmpl-s', model: 'claude-bedrock', created: 1_800_000_000 };
  const events: [string, unknown][] = fixture('converse-stream.json');
  const bytes = concat(events.map(([type, payload]) => frame(type, payload)));

  function decodeAll(parts: Uint8Array[]): string {
    const d = createConverseStreamDecoder(identity);
    return text([...parts.flatMap((p) => d.push(p)), ...d.flush()]);
  }

  test('text and tool-call deltas, finish reason and the usage chunk, then [DONE]', () => {
    const sse = decodeAll([bytes]);
    const chunks = sse.trim().split('\n\n').map((e) => parseSseEvent(encoder.encode(e)).data);
    expect(chunks.at(-1)).toBe('[DONE]');
    const parsed = chunks.slice(0, -1).map((c) => JSON.parse(c));
    expect(parsed.length).toBe(10);
    expect(parsed[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(parsed.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Let me check.');
    const toolDeltas = parsed.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(toolDeltas).toEqual([
      { index: 0, id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city": ' } },
      { index: 0, function: { arguments: '"Paris"}' } },
      { index: 1, id: 'tooluse_2', type: 'function', function: { name: 'now', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
    expect(parsed.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(parsed.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 464, completion_tokens: 35, total_tokens: 499, prompt_tokens_details: { cached_tokens: 64 } } });
    for (const chunk of parsed) expect(chunk).toMatchObject({ id: 'chatcmpl-s', object: 'chat.completion.chunk', model: 'claude-bedrock' });
  });

  test('the same output whatever the chunk boundaries (every two-way split)', () => {
    const whole = decodeAll([bytes]);
    let splits = 0;
    for (let at = 1; at < bytes.length; at += 7) {
      expect(decodeAll([bytes.subarray(0, at), bytes.subarray(at)])).toBe(whole);
      splits++;
    }
    expect(splits).toBeGreaterThan(100);
  });

  test('metered by the OpenAI meter: usage with cache tokens, completed, the injected usage chunk removed when not asked for', () => {
    const meter = createOpenAiStreamMeter(true);
    const d = createConverseStreamDecoder(identity);
    const out = d.push(bytes).map((e) => meter.onEvent(e)).filter(Boolean) as Uint8Array[];
    expect(meter.reading()).toMatchObject({ inputTokens: 464, outputTokens: 35, cachedInputTokens: 64, fromProvider: true, completed: true, upstreamError: false });
    expect(text(out)).not.toContain('"usage"');
  });

  test('an exception mid-stream becomes an in-band error the meter replaces; the stream is not complete', () => {
    const meter = createOpenAiStreamMeter(false);
    const d = createConverseStreamDecoder(identity);
    const parts = concat([frame('messageStart', { role: 'assistant' }), frame('throttlingException', { message: 'Too many tokens' }, 'exception')]);
    const out = text(d.push(parts).map((e) => meter.onEvent(e)).filter(Boolean) as Uint8Array[]);
    expect(out).not.toContain('Too many tokens');
    expect(out).toContain('upstream provider reported an error');
    expect(meter.reading()).toMatchObject({ upstreamError: true, completed: false });
  });
});

describe('InvokeModel streams → Anthropic SSE', () => {
  const anthropicEvents = [
    { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, cache_read_input_tokens: 100, cache_creation_input_tokens: 5, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo ✓' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } },
    { type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 10, outputTokenCount: 4, invocationLatency: 500, firstByteLatency: 200, cacheReadInputTokenCount: 100, cacheWriteInputTokenCount: 5 } },
  ];
  const jsons = anthropicEvents.map((e) => JSON.stringify(e));
  const bytes = concat(jsons.map((json) => frame('chunk', { bytes: Buffer.from(json).toString('base64'), p: 'abc' })));

  test('each chunk is an SSE event named by its type, with the event JSON exactly as Bedrock carried it; split anywhere', () => {
    const expected = anthropicEvents.map((e, i) => `event: ${e.type}\ndata: ${jsons[i]}\n\n`).join('');
    let splits = 0;
    for (let at = 0; at < bytes.length; at += 11) {
      const d = createInvokeStreamDecoder();
      expect(text([...d.push(bytes.subarray(0, at)), ...d.push(bytes.subarray(at)), ...d.flush()])).toBe(expected);
      splits++;
    }
    expect(splits).toBeGreaterThan(50);
  });

  test('metered: the Anthropic events and the invocation metrics (input includes cache reads and writes)', () => {
    const meter = createInvokeStreamMeter();
    for (const event of createInvokeStreamDecoder().push(bytes)) meter.onEvent(event);
    expect(meter.reading()).toMatchObject({ inputTokens: 115, outputTokens: 4, cachedInputTokens: 100, cacheWriteTokens: 5, fromProvider: true, completed: true });
  });

  test('the invocation metrics alone are enough when the events carry no usage', () => {
    const meter = createInvokeStreamMeter();
    meter.onEvent(encoder.encode(`event: message_stop\ndata: ${jsons[5]}\n\n`));
    expect(meter.reading()).toMatchObject({ inputTokens: 115, outputTokens: 4, fromProvider: true });
  });

  test('a corrupt frame or an absurd length ends the stream as a failure (the pump turns it into an error event)', () => {
    const corrupt = Uint8Array.from(bytes);
    corrupt[30] ^= 0xff;
    expect(() => new EventStreamReader().push(corrupt)).toThrow(/checksum|malformed/);
    expect(() => new EventStreamReader().push(Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]))).toThrow(/bytes/);
  });
});

function forwardInput(body: Record<string, unknown>, headers: Record<string, string> = {}): ForwardInput {
  return { endpoint: 'messages', method: 'POST', provider: {} as never, upstreamModel: 'us.anthropic.claude-x-v1:0', body, rawBody: encoder.encode(JSON.stringify(body)), clientHeaders: headers, keyId: 'key_1' };
}

describe('InvokeModel bodies', () => {
  test('anthropic_version for Bedrock, no model or stream, the anthropic-beta header merged into anthropic_beta', () => {
    const body = { model: 'claude-bedrock', stream: true, max_tokens: 5, anthropic_beta: ['context-1m-2025-08-07'], messages: [{ role: 'user', content: 'x' }] };
    expect(invokeBody(forwardInput(body, { 'anthropic-beta': 'context-1m-2025-08-07, effort-2025-11-24 ,interleaved-thinking-2025-05-14' }))).toEqual({
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      anthropic_version: 'bedrock-2023-05-31',
      anthropic_beta: ['context-1m-2025-08-07', 'effort-2025-11-24', 'interleaved-thinking-2025-05-14'],
    });
  });

  test('only betas Bedrock accepts are sent: Claude Code\'s first-party ones are dropped, tool search takes its Bedrock name', () => {
    const claudeCode = 'claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24';
    expect(invokeBody(forwardInput({ max_tokens: 5 }, { 'anthropic-beta': claudeCode })).anthropic_beta).toEqual(['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14', 'context-management-2025-06-27', 'effort-2025-11-24']);
    expect(bedrockBetas(['advanced-tool-use-2025-11-20', 'tool-search-tool-2025-10-19', 'oauth-2025-04-20'])).toEqual(['tool-search-tool-2025-10-19']);
    // Nothing Bedrock accepts: no anthropic_beta at all (an empty list is itself refused by some models).
    expect(invokeBody(forwardInput({ max_tokens: 5, anthropic_beta: ['files-api-2025-04-14'] }, { 'anthropic-beta': 'claude-code-20250219' }))).not.toHaveProperty('anthropic_beta');
  });

  test('a provider\'s "anthropicBetas" replaces the default list, [] sending none', () => {
    const withBetas = (anthropicBetas: string[]) => ({ ...forwardInput({ max_tokens: 5 }, { 'anthropic-beta': 'claude-code-20250219,context-1m-2025-08-07' }), provider: { options: { anthropicBetas } } as never });
    expect(invokeBody(withBetas(['claude-code-20250219'])).anthropic_beta).toEqual(['claude-code-20250219']);
    expect(invokeBody(withBetas([]))).not.toHaveProperty('anthropic_beta');
    expect(DEFAULT_BEDROCK_BETAS).toContain('context-1m-2025-08-07');
    expect(DEFAULT_BEDROCK_BETAS).not.toContain('claude-code-20250219');
  });

  test('CountTokens: the InvokeModel body (with a max_tokens) base64 in input.invokeModel.body; the answer as input_tokens', () => {
    const out = countTokensBody(forwardInput({ model: 'm', messages: [{ role: 'user', content: 'é' }] })) as any;
    expect(JSON.parse(Buffer.from(out.input.invokeModel.body, 'base64').toString('utf8'))).toEqual({ messages: [{ role: 'user', content: 'é' }], anthropic_version: 'bedrock-2023-05-31', max_tokens: 1 });
    expect(JSON.parse(decoder.decode(countTokensAnswer(encoder.encode('{"inputTokens":42}'))))).toEqual({ input_tokens: 42 });
    expect(() => countTokensAnswer(encoder.encode('{}'))).toThrow();
  });
});

describe('model ids and their IAM resources', () => {
  test.each([
    ['anthropic.claude-haiku-4-5-20251001-v1:0', { kind: 'foundation-model', foundationModel: 'anthropic.claude-haiku-4-5-20251001-v1:0' }, ['arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0']],
    [
      'eu.anthropic.claude-sonnet-4-5-20250929-v1:0',
      { kind: 'inference-profile', geography: 'eu', foundationModel: 'anthropic.claude-sonnet-4-5-20250929-v1:0' },
      ['arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0', 'arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ],
    [
      'arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.meta.llama3-3-70b-instruct-v1:0',
      { kind: 'arn', arnResource: 'inference-profile', foundationModel: 'meta.llama3-3-70b-instruct-v1:0' },
      ['arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.meta.llama3-3-70b-instruct-v1:0', 'arn:aws:bedrock:*::foundation-model/meta.llama3-3-70b-instruct-v1:0'],
    ],
    ['arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc', { kind: 'arn', arnResource: 'provisioned-model' }, ['arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc']],
  ])('%s', (id, parsed, arns) => {
    const model = parseBedrockModelId(id)!;
    expect(model).toMatchObject(parsed);
    expect(bedrockModelArns(model, 'eu-west-1', '111122223333')).toEqual(arns);
  });

  test('an application inference profile: its model from the provider\'s "applicationProfiles", for IAM, CountTokens and the endpoint check', () => {
    const arn = 'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/team-a';
    expect(parseBedrockModelId(arn)).toEqual({ id: arn, kind: 'arn', arnResource: 'application-inference-profile' });
    const mapped = parseBedrockModelId(arn, { [arn]: 'anthropic.claude-haiku-4-5-20251001-v1:0' })!;
    expect(mapped.foundationModel).toBe('anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(bedrockModelArns(mapped, 'us-east-1', '111122223333')).toEqual([arn, 'arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0']);
    expect(countTokensModel(mapped)).toBe('anthropic.claude-haiku-4-5-20251001-v1:0');
    // The map names application profiles only; it cannot re-point another kind of id.
    expect(parseBedrockModelId('anthropic.claude-haiku-4-5-20251001-v1:0', { 'anthropic.claude-haiku-4-5-20251001-v1:0': 'meta.llama3-3-70b-instruct-v1:0' })?.foundationModel).toBe('anthropic.claude-haiku-4-5-20251001-v1:0');
  });

  test('CountTokens takes the bare foundation model; names that are no Bedrock id are refused', () => {
    expect(countTokensModel(parseBedrockModelId('global.anthropic.claude-opus-4-5-20251101-v1:0')!)).toBe('anthropic.claude-opus-4-5-20251101-v1:0');
    expect(parseBedrockModelId('gpt-4o')).toBeUndefined();
    expect(parseBedrockModelId('https://evil.example/x')).toBeUndefined();
  });
});

describe('config', () => {
  const parse = (raw: Record<string, unknown>) => {
    const problems: string[] = [];
    const settings = bedrockProvider.parseConfig({ name: 'b', where: 'providers.b', raw, mode: 'lambda', problems });
    return { settings, problems };
  };

  test('region is optional and checked; the provider stores no secret', () => {
    expect(bedrockProvider.credential).toBe('runtime-role');
    expect(parse({ type: 'bedrock', region: 'eu-central-1' }).settings).toEqual({ baseUrl: 'https://bedrock-runtime.eu-central-1.amazonaws.com', options: { region: 'eu-central-1' } });
    expect(parse({ type: 'bedrock' }).problems).toEqual([]);
    expect(parse({ type: 'bedrock', region: 'nowhere' }).problems).toEqual([expect.stringMatching(/^providers\.b\.region: expected an AWS region/)]);
  });

  test('applicationProfiles maps application inference profile ARNs to foundation model ids', () => {
    const arn = 'arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/team-a';
    expect(parse({ type: 'bedrock', applicationProfiles: { [arn]: 'anthropic.claude-haiku-4-5-20251001-v1:0' } }).settings?.options).toEqual({ applicationProfiles: { [arn]: 'anthropic.claude-haiku-4-5-20251001-v1:0' } });
    for (const bad of [[], { 'us.anthropic.claude-x-v1:0': 'anthropic.claude-x-v1:0' }, { [arn]: 'us.anthropic.claude-x-v1:0' }, { [arn]: 3 }]) {
      expect(parse({ type: 'bedrock', applicationProfiles: bad }).problems).toEqual([expect.stringMatching(/^providers\.b\.applicationProfiles: /)]);
    }
  });

  test('anthropicBetas is a list of beta names', () => {
    expect(parse({ type: 'bedrock', anthropicBetas: ['context-1m-2025-08-07'] }).settings?.options).toEqual({ anthropicBetas: ['context-1m-2025-08-07'] });
    expect(parse({ type: 'bedrock', anthropicBetas: [] }).problems).toEqual([]);
    for (const bad of ['context-1m-2025-08-07', [1], ['a b'], ['']]) {
      expect(parse({ type: 'bedrock', anthropicBetas: bad }).problems).toEqual([expect.stringMatching(/^providers\.b\.anthropicBetas: expected a list of anthropic-beta names/)]);
    }
  });
});
