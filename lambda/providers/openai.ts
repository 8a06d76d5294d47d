/**
 * Provider type `openai`: OpenAI and any OpenAI-compatible API. Base URLs end in /v1.
 * Streams are metered from the provider's own usage chunk, which the relay asks for
 * (`stream_options.include_usage`) and removes again when the caller did not ask for it.
 */
import { RelayError } from '../core/errors';
import { parseSseEvent, encodeSseData } from '../core/sse';
import { bodyFor, isObject, nonNegativeInt, pickHeaders, RELAY_USER_AGENT, tryParse, encode } from './shared';
import type { ForwardInput, JsonObject, MeterReading, ProviderAdapter, StreamMeter, TokenCounts, UpstreamRequest } from './types';

const FORWARDED_HEADERS = ['openai-beta'] as const;
const PATHS = { chat: '/chat/completions', embeddings: '/embeddings' } as const;
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** `"usage":null` that OpenAI adds to every chunk once include_usage is on. */
const NULL_USAGE = /,\s*"usage"\s*:\s*null/;
const ERROR_OBJECT = /^\s*\{\s*"error"\s*:/;

function usageFrom(value: unknown): TokenCounts | undefined {
  if (!isObject(value) || !isObject(value.usage)) return undefined;
  const input = nonNegativeInt(value.usage.prompt_tokens);
  if (input === undefined) return undefined;
  return { inputTokens: input, outputTokens: nonNegativeInt(value.usage.completion_tokens) ?? 0 };
}

export function createOpenAiStreamMeter(injectedUsage: boolean): StreamMeter {
  let usage: TokenCounts | undefined;
  let completed = false;
  let upstreamError = false;
  let contentEvents = 0;
  return {
    onEvent(raw) {
      const { data } = parseSseEvent(raw);
      if (data === '[DONE]') {
        completed = true;
        return raw;
      }
      if (ERROR_OBJECT.test(data)) {
        upstreamError = true;
        // The provider's error text is never passed on: the caller gets our own error event.
        return encode(new RelayError(502, 'upstream_error', 'The upstream provider reported an error during the stream.').toStreamEvent('openai'));
      }
      if (USAGE_OBJECT.test(data)) {
        const chunk = tryParse(data);
        const counts = usageFrom(chunk);
        if (counts) {
          usage = counts;
          if (injectedUsage && isObject(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0) {
            return undefined;
          }
        }
      }
      if (data !== '') contentEvents++;
      if (injectedUsage && NULL_USAGE.test(data)) return encodeSseData(data.replace(NULL_USAGE, ''));
      return raw;
    },
    reading(): MeterReading {
      return {
        inputTokens: usage?.inputTokens,
        outputTokens: usage?.outputTokens,
        fromProvider: usage !== undefined,
        completed,
        upstreamError,
        contentEvents,
      };
    },
  };
}

export const openAiProvider: ProviderAdapter = {
  type: 'openai',
  format: 'openai',
  endpoints: new Set(['chat', 'embeddings']),

  buildRequest(input: ForwardInput): UpstreamRequest {
    const { body, upstreamModel, endpoint } = input;
    let changed: JsonObject | undefined;
    if (body.model !== upstreamModel) changed = { ...body, model: upstreamModel };
    const stream = endpoint === 'chat' && body.stream === true;
    let injectedUsage = false;
    if (stream) {
      const options = isObject(body.stream_options) ? body.stream_options : {};
      if (options.include_usage !== true) {
        injectedUsage = true;
        changed = { ...(changed ?? body), stream_options: { ...options, include_usage: true } };
      }
    }
    return {
      url: input.provider.baseUrl + PATHS[endpoint as keyof typeof PATHS],
      headers: {
        ...pickHeaders(input.clientHeaders, FORWARDED_HEADERS),
        authorization: `Bearer ${input.secret}`,
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
        'user-agent': RELAY_USER_AGENT,
      },
      body: bodyFor(input.rawBody, changed),
      stream,
      createMeter: () => createOpenAiStreamMeter(injectedUsage),
    };
  },

  jsonUsage: usageFrom,
};
