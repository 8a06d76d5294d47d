/**
 * Provider type `azure-openai`: Azure OpenAI's v1 API. The base URL is the resource's v1 root,
 * `https://RESOURCE.openai.azure.com/openai/v1` (no `api-version` needed); the stored key goes in
 * the `api-key` header; a route's upstream `model` is the deployment name. It speaks the OpenAI
 * wire format, so a route may mix `openai` and `azure-openai` candidates.
 */
import type { ProviderAdapter } from '../../core/provider';
import { parseBaseUrl } from '../shared/base-url';
import { openAiWireEndpoints } from '../shared/openai-wire';

const EXAMPLE_URL = 'https://my-resource.openai.azure.com/openai/v1';

export const azureOpenAiProvider: ProviderAdapter = {
  type: 'azure-openai',
  credential: 'stored-secret',
  configFields: ['baseUrl'],
  example: `{"type":"azure-openai","baseUrl":"${EXAMPLE_URL}"}`,
  parseConfig(input) {
    const baseUrl = parseBaseUrl(input, EXAMPLE_URL, '/openai/v1');
    return baseUrl ? { baseUrl } : undefined;
  },
  endpoints: openAiWireEndpoints({ authHeaders: (secret) => ({ 'api-key': secret ?? '' }) }),
};
