/**
 * The OpenAI wire format (Chat Completions and Embeddings), shared by every provider type that
 * speaks it (`openai`, `azure-openai`): request building, usage from a JSON answer, and the stream
 * meter. Streams are metered from the provider's own usage chunk, which the relay asks for
 * (`stream_options.include_usage`) and removes again when the caller did not ask for it.
 */
import type { EndpointAdapter, ForwardInput, JsonObject, MeterReading, StreamMeter, TokenCounts, UpstreamRequest } from '../../core/provider';
import { RelayError } from '../../core/errors';
import { encodeSseData, parseSseEvent } from '../../core/sse';
import { pickHeaders, RELAY_USER_AGENT } from './headers';
import { bodyFor, encode, isObject, nonNegativeInt, tryParse } from './json';

const FORWARDED_HEADERS = ['openai-beta'] as const;
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** `"usage":null` that OpenAI adds to every chunk once include_usage is on. */
const NULL_USAGE = /,\s*"usage"\s*:\s*null/;
const ERROR_OBJECT = /^\s*\{\s*"error"\s*:/;

/** Chat Completions and Embeddings usage: prompt/completion tokens with their cached and reasoning parts. */
export function openAiUsage(value: unknown): TokenCounts | undefined {
  if (!isObject(value) || !isObject(value.usage)) return undefined;
  const usage = value.usage;
  const input = nonNegativeInt(usage.prompt_tokens);
  if (input === undefined) return undefined;
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    inputTokens: input,
    outputTokens: nonNegativeInt(usage.completion_tokens) ?? 0,
    cachedInputTokens: nonNegativeInt(promptDetails.cached_tokens),
    reasoningTokens: nonNegativeInt(completionDetails.reasoning_tokens),
  };
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
        const counts = openAiUsage(chunk);
        if (counts) {
          usage = counts;
          if (injectedUsage && isObject(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0) return undefined;
        }
      }
      if (data !== '') contentEvents++;
      if (injectedUsage && NULL_USAGE.test(data)) return encodeSseData(data.replace(NULL_USAGE, ''));
      return raw;
    },
    reading(): MeterReading {
      return { ...usage, fromProvider: usage !== undefined, completed, upstreamError, contentEvents };
    },
  };
}

export interface OpenAiWireOptions {
  /** The header that carries the provider credential (e.g. `authorization: Bearer …` or `api-key: …`). */
  authHeaders(secret: string | undefined): Record<string, string>;
}

type WireEndpoint = 'chat' | 'embeddings';
const PATHS: Readonly<Record<WireEndpoint, string>> = { chat: '/chat/completions', embeddings: '/embeddings' };

function build(endpoint: WireEndpoint, input: ForwardInput, options: OpenAiWireOptions): UpstreamRequest {
  const { body, upstreamModel } = input;
  let changed: JsonObject | undefined;
  if (body.model !== upstreamModel) changed = { ...body, model: upstreamModel };
  const stream = endpoint === 'chat' && body.stream === true;
  let injectedUsage = false;
  if (stream) {
    const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
    if (streamOptions.include_usage !== true) {
      injectedUsage = true;
      changed = { ...(changed ?? body), stream_options: { ...streamOptions, include_usage: true } };
    }
  }
  return {
    url: input.provider.baseUrl + PATHS[endpoint],
    method: 'POST',
    headers: {
      ...pickHeaders(input.clientHeaders, FORWARDED_HEADERS),
      ...options.authHeaders(input.secret),
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      'user-agent': RELAY_USER_AGENT,
    },
    body: bodyFor(input.rawBody, changed),
    stream,
    streamFraming: 'sse',
    createMeter: () => createOpenAiStreamMeter(injectedUsage),
    jsonUsage: openAiUsage,
  };
}

/** The chat and embeddings endpoints of an OpenAI-wire provider type. */
export function openAiWireEndpoints(options: OpenAiWireOptions): { chat: EndpointAdapter; embeddings: EndpointAdapter } {
  return {
    chat: { buildRequest: async (input) => build('chat', input, options) },
    embeddings: { buildRequest: async (input) => build('embeddings', input, options) },
  };
}
