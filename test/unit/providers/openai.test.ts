import { openAiProvider } from '../../../lambda/providers/openai';
import { createOpenAiStreamMeter, openAiUsage } from '../../../lambda/providers/shared/openai-wire';
import { isInBandError } from '../../../lambda/providers/shared/in-band-error';
import { buildUpstream, providerConfig } from '../../helpers/provider-requests';
import { openAiChatSse } from '../../helpers/fixtures';
import { replay, twoWaySplits } from '../../helpers/replay';

const encoder = new TextEncoder();
const PIECES = ['Grüße', ' 🚣', ' 日本'];
const WITH_USAGE = encoder.encode(openAiChatSse(PIECES, true, { prompt_tokens: 21, completion_tokens: 4 }));
const WITHOUT_USAGE = openAiChatSse(PIECES, false);

describe('openai stream meter (fixture replay)', () => {
  test('reads provider usage and, when the relay injected the request, hands the client exactly the stream it would have had', () => {
    for (const chunks of twoWaySplits(WITH_USAGE)) {
      const { output, reading } = replay(createOpenAiStreamMeter(true), chunks);
      expect(output).toBe(WITHOUT_USAGE);
      expect(reading).toEqual({ inputTokens: 21, outputTokens: 4, fromProvider: true, completed: true, upstreamError: false, contentEvents: 5 });
    }
  });

  test('passes the usage chunk through untouched when the client asked for it', () => {
    const { output, reading } = replay(createOpenAiStreamMeter(false), [WITH_USAGE]);
    expect(output).toBe(new TextDecoder().decode(WITH_USAGE));
    expect(reading.fromProvider).toBe(true);
  });

  test('reports a stream cut before the usage chunk as incomplete with no provider counts', () => {
    const cut = WITH_USAGE.subarray(0, WITH_USAGE.length - 200);
    const { reading } = replay(createOpenAiStreamMeter(true), [cut]);
    expect(reading.completed).toBe(false);
    expect(reading.fromProvider).toBe(false);
    expect(reading.inputTokens).toBeUndefined();
    expect(reading.contentEvents).toBeGreaterThan(0);
  });

  test('replaces an in-band upstream error with the relay\'s own error event', () => {
    const upstream = encoder.encode('data: {"error":{"message":"secret upstream detail","type":"server_error"}}\n\n');
    const { output, reading } = replay(createOpenAiStreamMeter(true), [upstream]);
    expect(reading.upstreamError).toBe(true);
    expect(output).not.toContain('secret upstream detail');
    expect(JSON.parse(output.replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_error' } });
  });

  test('in-band error shapes are recognised with any spacing; ordinary chunks, and content that merely quotes one, are not', () => {
    const errors = ['{"error": {"message": "x"}}', '{"object" : "error", "message": "x"}', '{"type":  "error", "message": "x"}', '{"id":"c1","error":"busy"}'];
    expect(errors.filter((data) => isInBandError('', data))).toEqual(errors);
    expect(isInBandError('error', '{}')).toBe(true);
    const ordinary = ['{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hi"}}]}', '{"type":"response.output_text.delta","delta":"x"}', '{"choices":[{"delta":{"content":"\\"error\\": is a word"}}]}'];
    expect(ordinary.filter((data) => isInBandError('', data))).toEqual([]);
  });
});

describe('openai request building', () => {
  const provider = providerConfig(openAiProvider, 'https://api.openai.com/v1');
  const build = (body: Record<string, unknown>, headers: Record<string, string> = {}, model = 'gpt-4o-mini') => buildUpstream(provider, 'chat', body, { headers, model });

  test('forwards the caller\'s bytes unchanged when nothing needs rewriting', async () => {
    const body = { model: 'gpt-4o-mini', messages: [], store: false };
    const request = await build(body);
    expect(request.body).toBeInstanceOf(Uint8Array);
    expect(request.url).toBe('https://api.openai.com/v1/chat/completions');
    expect(request.stream).toBe(false);
  });

  test('asks upstream for stream usage and keeps the caller\'s other stream options', async () => {
    const request = await build({ model: 'gpt-4o-mini', stream: true, stream_options: { include_obfuscation: false } });
    expect(JSON.parse(String(request.body)).stream_options).toEqual({ include_obfuscation: false, include_usage: true });
  });

  test('keeps the provider from storing the conversation: store is sent as false', async () => {
    for (const store of [undefined, true]) {
      const request = await build({ model: 'gpt-4o-mini', messages: [], ...(store === undefined ? {} : { store }) });
      expect(JSON.parse(String(request.body)).store).toBe(false);
    }
  });

  test('lets the caller\'s store through where the operator allowed provider storage', async () => {
    const allowing = { ...provider, allowProviderStorage: true };
    const request = await buildUpstream(allowing, 'chat', { model: 'gpt-4o-mini', messages: [], store: true });
    expect(request.body).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(Buffer.from(request.body as Uint8Array).toString()).store).toBe(true);
  });

  test('rewrites an alias to the upstream model', async () => {
    expect(JSON.parse(String((await build({ model: 'fast' }, {}, 'gpt-4o-mini')).body)).model).toBe('gpt-4o-mini');
  });

  test('sends the provider credential and only allowlisted caller headers', async () => {
    const request = await build({ model: 'gpt-4o-mini' }, { authorization: 'Bearer mr-client', 'x-api-key': 'mr-client', 'openai-beta': 'assistants=v2', cookie: 'a=b', 'x-forwarded-for': '10.0.0.1' });
    expect(request.headers).toEqual({
      'openai-beta': 'assistants=v2',
      authorization: 'Bearer sk-provider',
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': expect.any(String),
    });
  });

  test('reads usage from a JSON answer, embeddings included', () => {
    expect(openAiUsage({ usage: { prompt_tokens: 3, completion_tokens: 2 } })).toEqual({ inputTokens: 3, outputTokens: 2 });
    expect(openAiUsage({ usage: { prompt_tokens: 5, total_tokens: 5 } })).toEqual({ inputTokens: 5, outputTokens: 0 });
    expect(openAiUsage({ choices: [] })).toBeUndefined();
  });
});
