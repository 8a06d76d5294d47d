/** Provider type `anthropic`: the Anthropic Messages API. Base URLs have no /v1 (as in the SDK). */
import type { ProviderAdapter, UpstreamRequest } from '../../core/provider';
import { parseBaseUrl } from '../shared/base-url';
import { createAnthropicStreamMeter, anthropicUsage } from '../shared/anthropic-wire';
import { pickHeaders, RELAY_USER_AGENT } from '../shared/headers';
import { bodyFor } from '../shared/json';

const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;
const DEFAULT_VERSION = '2023-06-01';
const EXAMPLE_URL = 'https://api.anthropic.com';

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
      async buildRequest(input): Promise<UpstreamRequest> {
        const { body, upstreamModel } = input;
        const stream = body.stream === true;
        return {
          url: `${input.provider.baseUrl}/v1/messages`,
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
          jsonUsage: anthropicUsage,
        };
      },
    },
  },
};
