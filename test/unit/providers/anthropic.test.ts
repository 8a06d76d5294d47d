import { anthropicProvider } from '../../../lambda/providers/anthropic';
import { createAnthropicStreamMeter } from '../../../lambda/providers/shared/anthropic-wire';
import { buildUpstream, providerConfig } from '../../helpers/provider-requests';
import { anthropicMessageSse } from '../../helpers/fixtures';
import { replay, twoWaySplits } from '../../helpers/replay';

const encoder = new TextEncoder();
const STREAM = anthropicMessageSse(['Grüße', ' 🚣', ' 日本'], { input_tokens: 30, output_tokens: 12 });
const BYTES = encoder.encode(STREAM);

describe('anthropic stream meter (fixture replay)', () => {
  test('reads input from message_start and output from message_delta, whatever the chunking', () => {
    for (const chunks of twoWaySplits(BYTES)) {
      const { output, reading } = replay(createAnthropicStreamMeter(), chunks);
      expect(output).toBe(STREAM);
      expect(reading).toEqual({ inputTokens: 30, outputTokens: 12, fromProvider: true, completed: true, upstreamError: false, contentEvents: 3 });
    }
  });

  test('does not take message_start\'s placeholder output count as final when the stream is cut', () => {
    const cut = STREAM.slice(0, STREAM.indexOf('event: message_delta'));
    const { reading } = replay(createAnthropicStreamMeter(), [encoder.encode(cut)]);
    expect(reading).toMatchObject({ inputTokens: 30, outputTokens: undefined, fromProvider: false, completed: false, contentEvents: 3 });
  });

  test('counts prompt-cache tokens as input', () => {
    const cached = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":2,"cache_read_input_tokens":100,"cache_creation_input_tokens":5,"output_tokens":1}}}\n\n';
    const { reading } = replay(createAnthropicStreamMeter(), [encoder.encode(cached)]);
    expect(reading.inputTokens).toBe(107);
  });

  test('replaces an in-band error event with the relay\'s own', () => {
    const error = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"upstream private detail"}}\n\n';
    const { output, reading } = replay(createAnthropicStreamMeter(), [encoder.encode(error)]);
    expect(reading.upstreamError).toBe(true);
    expect(output).not.toContain('upstream private detail');
    expect(output.startsWith('event: error\ndata: ')).toBe(true);
  });

  test('the replacement keeps the kind of failure a client acts on (overload, rate limit, timeout), never the text', () => {
    const kind = (type: string) => {
      const { output } = replay(createAnthropicStreamMeter(), [encoder.encode(`event: error
data: {"type":"error","error":{"type":"${type}","message":"private ${type}"}}\n\n`)]);
      expect(output).not.toContain(`private ${type}`);
      return JSON.parse(output.split('data: ')[1]).error as { type: string; message: string };
    };
    expect(kind('overloaded_error')).toEqual({ type: 'overloaded_error', message: 'The upstream provider is overloaded; retry shortly.' });
    expect(kind('rate_limit_error').type).toBe('rate_limit_error');
    expect(kind('timeout_error').type).toBe('timeout_error');
    // Any other type (or a made-up one) is the relay's generic upstream error.
    expect(kind('invalid_request_error')).toEqual({ type: 'api_error', message: 'The upstream provider reported an error during the stream.' });
    expect(kind('toString').type).toBe('api_error');
  });
});

describe('anthropic request building', () => {
  const provider = providerConfig(anthropicProvider, 'https://api.anthropic.com');
  const build = (headers: Record<string, string>, stream = false) =>
    buildUpstream(provider, 'messages', { model: 'claude-sonnet-5-5', max_tokens: 5, stream }, { headers, secret: 'sk-ant-provider' });

  test('uses x-api-key with the provider credential, a default API version, and never the client key', async () => {
    const request = await build({ authorization: 'Bearer mr-client', 'x-api-key': 'mr-client' });
    expect(request.url).toBe('https://api.anthropic.com/v1/messages');
    expect(request.headers['x-api-key']).toBe('sk-ant-provider');
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers.authorization).toBeUndefined();
  });

  test('forwards the caller\'s anthropic-version and anthropic-beta', async () => {
    const request = await build({ 'anthropic-version': '2024-01-01', 'anthropic-beta': 'prompt-caching-2024-07-31' }, true);
    expect(request.headers['anthropic-version']).toBe('2024-01-01');
    expect(request.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(request.stream).toBe(true);
  });
});
