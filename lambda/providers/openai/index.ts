/** Provider type `openai`: OpenAI and any OpenAI-compatible API. Base URLs end in /v1. */
import type { ProviderAdapter } from '../../core/provider';
import { parseBaseUrl } from '../shared/base-url';
import { openAiWireEndpoints } from '../shared/openai-wire';

const EXAMPLE_URL = 'https://api.openai.com/v1';

export const openAiProvider: ProviderAdapter = {
  type: 'openai',
  credential: 'stored-secret',
  configFields: ['baseUrl'],
  example: `{"type":"openai","baseUrl":"${EXAMPLE_URL}"}`,
  parseConfig(input) {
    const baseUrl = parseBaseUrl(input, EXAMPLE_URL);
    return baseUrl ? { baseUrl } : undefined;
  },
  endpoints: openAiWireEndpoints({ authHeaders: (secret) => ({ authorization: `Bearer ${secret ?? ''}` }) }),
};
