/** Provider type `anthropic`: the Anthropic Messages API. Base URLs have no /v1 (as in the SDK). */
import type { ForwardInput, ProviderAdapter, UpstreamRequest } from '../../core/provider';
import { parseBaseUrl } from '../shared/base-url';
import { anthropicError, anthropicServerTools, anthropicUsage, createAnthropicStreamMeter } from '../shared/anthropic-wire';
import { pickHeaders, RELAY_USER_AGENT } from '../shared/headers';
import { bodyFor } from '../shared/json';

const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;
const DEFAULT_VERSION = '2023-06-01';
const EXAMPLE_URL = 'https://api.anthropic.com';

function build(input: ForwardInput, path: string, stream: boolean): Omit<UpstreamRequest, 'jsonUsage'> {
  const { body, upstreamModel } = input;
  return {
    url: `${input.provider.baseUrl}${path}`,
    method: 'POST',
    headers: {
      'anthropic-version': DEFAULT_VERSION,
      ...pickHeaders(input.clientHeaders, FORWARDED_HEADERS),
      'x-api-key': input.secret ?? '',
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
      'user-agent': RELAY_USER_AGENT,
    },
    body: bodyFor(input.rawBody, body.model !== upstreamModel ? { ...body, model: upstreamModel } : undefined),
    stream,
    streamFraming: 'sse',
    createMeter: createAnthropicStreamMeter,
    readError: anthropicError,
  };
}

export const anthropicProvider: ProviderAdapter = {
  type: 'anthropic',
  credential: 'stored-secret',
  configFields: ['baseUrl'],
  example: `{"type":"anthropic","baseUrl":"${EXAMPLE_URL}"}`,
  parseConfig(input) {
    const baseUrl = parseBaseUrl(input, EXAMPLE_URL);
    return baseUrl ? { baseUrl } : undefined;
  },
  endpoints: {
    messages: {
      buildRequest: async (input) => ({ ...build(input, '/v1/messages', input.body.stream === true), jsonUsage: anthropicUsage }),
      serverTools: anthropicServerTools,
    },
    // Counting is free at Anthropic: recorded with 0 billable tokens, so it never counts against quotas.
    count_tokens: {
      buildRequest: async (input) => ({ ...build(input, '/v1/messages/count_tokens', false), jsonUsage: () => ({ inputTokens: 0, outputTokens: 0 }) }),
      serverTools: anthropicServerTools,
    },
  },
};
