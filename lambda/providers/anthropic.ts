/**
 * Provider type `anthropic`: the Anthropic Messages API. Base URLs have no /v1 (as in the SDK).
 * Streams are metered from message_start (input) and message_delta (cumulative output).
 */
import { RelayError } from '../core/errors';
import { parseSseEvent } from '../core/sse';
import { bodyFor, encode, isObject, nonNegativeInt, pickHeaders, RELAY_USER_AGENT, tryParse } from './shared';
import type { ForwardInput, MeterReading, ProviderAdapter, StreamMeter, TokenCounts, UpstreamRequest } from './types';

const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;
const DEFAULT_VERSION = '2023-06-01';

/** Input tokens including prompt-cache reads and writes, which are input the provider processed. */
function inputTokens(usage: Record<string, unknown>): number | undefined {
  const base = nonNegativeInt(usage.input_tokens);
  if (base === undefined) return undefined;
  return base + (nonNegativeInt(usage.cache_creation_input_tokens) ?? 0) + (nonNegativeInt(usage.cache_read_input_tokens) ?? 0);
}

function usageFrom(value: unknown): TokenCounts | undefined {
  if (!isObject(value) || !isObject(value.usage)) return undefined;
  const input = inputTokens(value.usage);
  const output = nonNegativeInt(value.usage.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  return { inputTokens: input, outputTokens: output };
}

export function createAnthropicStreamMeter(): StreamMeter {
  let input: number | undefined;
  let output: number | undefined;
  let outputFinal = false;
  let completed = false;
  let upstreamError = false;
  let contentEvents = 0;
  return {
    onEvent(raw) {
      const { event, data } = parseSseEvent(raw);
      switch (event) {
        case 'content_block_delta':
          contentEvents++;
          break;
        case 'message_start': {
          const start = tryParse(data);
          const usage = isObject(start) && isObject(start.message) && isObject(start.message.usage) ? start.message.usage : undefined;
          if (usage) {
            input = inputTokens(usage) ?? input;
            output = nonNegativeInt(usage.output_tokens) ?? output;
          }
          break;
        }
        case 'message_delta': {
          const delta = tryParse(data);
          const usage = isObject(delta) && isObject(delta.usage) ? delta.usage : undefined;
          const cumulative = usage ? nonNegativeInt(usage.output_tokens) : undefined;
          if (usage && cumulative !== undefined) {
            output = cumulative;
            outputFinal = true;
            input = inputTokens(usage) ?? input;
          }
          break;
        }
        case 'message_stop':
          completed = true;
          break;
        case 'error':
          upstreamError = true;
          // The provider's error text is never passed on: the caller gets our own error event.
          return encode(new RelayError(502, 'upstream_error', 'The upstream provider reported an error during the stream.').toStreamEvent('anthropic'));
      }
      return raw;
    },
    reading(): MeterReading {
      return {
        inputTokens: input,
        outputTokens: outputFinal ? output : undefined,
        fromProvider: input !== undefined && outputFinal,
        completed,
        upstreamError,
        contentEvents,
      };
    },
  };
}

export const anthropicProvider: ProviderAdapter = {
  type: 'anthropic',
  format: 'anthropic',
  endpoints: new Set(['messages']),

  buildRequest(input: ForwardInput): UpstreamRequest {
    const { body, upstreamModel } = input;
    const stream = body.stream === true;
    const forwarded = pickHeaders(input.clientHeaders, FORWARDED_HEADERS);
    return {
      url: `${input.provider.baseUrl}/v1/messages`,
      headers: {
        'anthropic-version': DEFAULT_VERSION,
        ...forwarded,
        'x-api-key': input.secret,
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
        'user-agent': RELAY_USER_AGENT,
      },
      body: bodyFor(input.rawBody, body.model !== upstreamModel ? { ...body, model: upstreamModel } : undefined),
      stream,
      createMeter: createAnthropicStreamMeter,
    };
  },

  jsonUsage: usageFrom,
};
