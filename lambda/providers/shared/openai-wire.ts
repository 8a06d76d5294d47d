/**
 * The OpenAI wire format (Chat Completions, Responses, Embeddings), shared by every provider type
 * that speaks it (`openai`, `azure-openai`): request building, usage from a JSON answer, the stream
 * meters, and the provider's own 4xx error. Chat streams are metered from the provider's own usage
 * chunk, which the relay asks for (`stream_options.include_usage`) and removes again when the caller
 * did not ask for it; Responses streams from their terminal event, with nothing injected.
 *
 * The provider keeps nothing: `store` is sent as false on chat and responses, and requests that need
 * stored state are refused, unless the provider's config sets `allowProviderStorage`.
 */
import type { EndpointAdapter, ForwardInput, JsonObject, MeterReading, StreamMeter, TokenCounts, UpstreamRequest } from '../../core/provider';
import { RelayError, type ProviderErrorDetail } from '../../core/errors';
import { encodeSseData, parseSseEvent } from '../../core/sse';
import { pickHeaders, RELAY_USER_AGENT } from './headers';
import { inBandErrorReplacement, isInBandError } from './in-band-error';
import { bodyFor, isObject, nonNegativeInt, tryParse } from './json';

const FORWARDED_HEADERS = ['openai-beta'] as const;
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** `"usage":null` that OpenAI adds to every chunk once include_usage is on. */
const NULL_USAGE = /,\s*"usage"\s*:\s*null/;

/** The field names one OpenAI API uses for its token counts and their details. */
const CHAT_USAGE_FIELDS = { input: 'prompt_tokens', output: 'completion_tokens', inputDetails: 'prompt_tokens_details', outputDetails: 'completion_tokens_details' } as const;
const RESPONSES_USAGE_FIELDS = { input: 'input_tokens', output: 'output_tokens', inputDetails: 'input_tokens_details', outputDetails: 'output_tokens_details' } as const;

function usageCounts(usage: Record<string, unknown>, fields: typeof CHAT_USAGE_FIELDS | typeof RESPONSES_USAGE_FIELDS): TokenCounts | undefined {
  const input = nonNegativeInt(usage[fields.input]);
  if (input === undefined) return undefined;
  const inputDetails = usage[fields.inputDetails];
  const outputDetails = usage[fields.outputDetails];
  return {
    inputTokens: input,
    outputTokens: nonNegativeInt(usage[fields.output]) ?? 0,
    cachedInputTokens: isObject(inputDetails) ? nonNegativeInt(inputDetails.cached_tokens) : undefined,
    reasoningTokens: isObject(outputDetails) ? nonNegativeInt(outputDetails.reasoning_tokens) : undefined,
  };
}

/** Chat Completions and Embeddings usage: prompt/completion tokens with their cached and reasoning parts. */
export function openAiUsage(value: unknown): TokenCounts | undefined {
  if (!isObject(value) || !isObject(value.usage)) return undefined;
  return usageCounts(value.usage, CHAT_USAGE_FIELDS);
}

/** Responses API usage (a response object's `usage`): input/output tokens with cached and reasoning parts. */
export function responsesUsage(value: unknown): TokenCounts | undefined {
  const usage = isObject(value) && isObject(value.usage) ? value.usage : isObject(value) && isObject(value.response) && isObject(value.response.usage) ? value.response.usage : undefined;
  return usage ? usageCounts(usage, RESPONSES_USAGE_FIELDS) : undefined;
}

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export function openAiError(value: unknown): ProviderErrorDetail | undefined {
  const error = isObject(value) && isObject(value.error) ? value.error : undefined;
  if (!error) return undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { type: text(error.type), code: text(error.code), message: text(error.message), param: text(error.param) };
}

export function createOpenAiStreamMeter(injectedUsage: boolean): StreamMeter {
  let usage: TokenCounts | undefined;
  let completed = false;
  let upstreamError = false;
  let contentEvents = 0;
  return {
    onEvent(raw) {
      const { event, data } = parseSseEvent(raw);
      if (data === '[DONE]') {
        completed = true;
        return raw;
      }
      if (isInBandError(event, data)) {
        upstreamError = true;
        // The provider's error text is never passed on: the caller gets our own error event.
        return inBandErrorReplacement('openai');
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

const RESPONSES_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Responses API streams: typed events; the terminal one (completed, incomplete, failed) carries the
 * response with its usage. A `response.failed` is passed on (it is the provider's well-formed
 * answer) and recorded as an upstream error; an `error` event is replaced by our own.
 */
export function createResponsesStreamMeter(): StreamMeter {
  let usage: TokenCounts | undefined;
  let completed = false;
  let upstreamError = false;
  let contentEvents = 0;
  return {
    onEvent(raw) {
      const parsed = parseSseEvent(raw);
      const type = parsed.event !== 'message' ? parsed.event : (/"type"\s*:\s*"([^"]+)"/.exec(parsed.data)?.[1] ?? '');
      if (type === 'error' || (!type.startsWith('response.') && isInBandError(parsed.event, parsed.data))) {
        upstreamError = true;
        return inBandErrorReplacement('openai-responses');
      }
      if (RESPONSES_TERMINAL.has(type)) {
        completed = true;
        if (type === 'response.failed') upstreamError = true;
        usage = responsesUsage(tryParse(parsed.data)) ?? usage;
      } else if (type.endsWith('.delta')) {
        contentEvents++;
      }
      return raw;
    },
    reading(): MeterReading {
      return { ...usage, fromProvider: usage !== undefined, completed, upstreamError, contentEvents };
    },
  };
}

/** Responses tools that make the provider connect to a URL the request names: `mcp` (remote MCP servers and connectors). */
export function responsesServerTools(body: JsonObject): string[] {
  return (Array.isArray(body.tools) ? body.tools : []).filter((tool) => isObject(tool) && tool.type === 'mcp').map(() => 'mcp');
}

export interface OpenAiWireOptions {
  /** The header that carries the provider credential (e.g. `authorization: Bearer …` or `api-key: …`). */
  authHeaders(secret: string | undefined): Record<string, string>;
}

type WireEndpoint = 'chat' | 'embeddings' | 'responses' | 'responses_compact' | 'stored_response';
const PATHS: Readonly<Record<WireEndpoint, string>> = {
  chat: '/chat/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  responses_compact: '/responses/compact',
  stored_response: '/responses',
};

function storageRefused(what: string): RelayError {
  return new RelayError(
    400,
    'provider_storage_disabled',
    `${what} needs the provider to keep the conversation, and this relay makes it keep nothing (it sends store: false). Send the whole conversation in each request instead, or ask the operator to set "allowProviderStorage": true for this provider.`,
  );
}

/** Keeps the provider from storing the conversation, unless the operator allowed it. */
function withoutStorage(endpoint: WireEndpoint, input: ForwardInput, body: JsonObject): JsonObject | undefined {
  if (input.provider.allowProviderStorage) return undefined;
  if (endpoint === 'responses') {
    if (body.previous_response_id !== undefined && body.previous_response_id !== null) throw storageRefused('previous_response_id');
    if (body.background === true) throw storageRefused('background: true');
    if (isObject(body.conversation) || typeof body.conversation === 'string') throw storageRefused('conversation');
  }
  if ((endpoint === 'chat' || endpoint === 'responses') && body.store !== false) return { ...body, store: false };
  return undefined;
}

function build(endpoint: WireEndpoint, input: ForwardInput, options: OpenAiWireOptions): UpstreamRequest {
  const headers = {
    ...pickHeaders(input.clientHeaders, FORWARDED_HEADERS),
    ...options.authHeaders(input.secret),
    'user-agent': RELAY_USER_AGENT,
  };
  if (endpoint === 'stored_response') {
    if (!input.provider.allowProviderStorage) throw storageRefused('Reading or deleting a stored response');
    return {
      url: `${input.provider.baseUrl}${PATHS.stored_response}/${encodeURIComponent(input.pathId ?? '')}`,
      method: input.method === 'DELETE' ? 'DELETE' : 'GET',
      headers: { ...headers, accept: 'application/json' },
      stream: false,
      streamFraming: 'sse',
      createMeter: createResponsesStreamMeter,
      jsonUsage: () => ({ inputTokens: 0, outputTokens: 0 }),
      readError: openAiError,
    };
  }
  const { body, upstreamModel } = input;
  let changed: JsonObject | undefined;
  if (body.model !== upstreamModel) changed = { ...body, model: upstreamModel };
  changed = withoutStorage(endpoint, input, changed ?? body) ?? changed;
  const stream = (endpoint === 'chat' || endpoint === 'responses') && body.stream === true;
  let injectedUsage = false;
  if (stream && endpoint === 'chat') {
    const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
    if (streamOptions.include_usage !== true) {
      injectedUsage = true;
      changed = { ...(changed ?? body), stream_options: { ...streamOptions, include_usage: true } };
    }
  }
  const responsesApi = endpoint === 'responses' || endpoint === 'responses_compact';
  return {
    url: input.provider.baseUrl + PATHS[endpoint],
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: bodyFor(input.rawBody, changed),
    stream,
    streamFraming: 'sse',
    createMeter: responsesApi ? createResponsesStreamMeter : () => createOpenAiStreamMeter(injectedUsage),
    jsonUsage: responsesApi ? responsesUsage : openAiUsage,
    readError: openAiError,
  };
}

/** The endpoints of an OpenAI-wire provider type. */
export function openAiWireEndpoints(options: OpenAiWireOptions): Record<WireEndpoint, EndpointAdapter> {
  const adapter = (endpoint: WireEndpoint): EndpointAdapter => ({
    buildRequest: async (input) => build(endpoint, input, options),
    ...(endpoint === 'responses' || endpoint === 'responses_compact' ? { serverTools: responsesServerTools } : {}),
  });
  return {
    chat: adapter('chat'),
    embeddings: adapter('embeddings'),
    responses: adapter('responses'),
    responses_compact: adapter('responses_compact'),
    stored_response: adapter('stored_response'),
  };
}
