/** Builds an upstream request through a provider type's declaration, as the upstream exchange does. */
import type { ProviderConfig } from '../../lambda/core/config';
import type { ForwardedEndpoint } from '../../lambda/core/endpoints';
import type { JsonObject, ProviderAdapter, UpstreamRequest } from '../../lambda/core/provider';

const encoder = new TextEncoder();

export function providerConfig(adapter: ProviderAdapter, baseUrl: string, name: string = adapter.type): ProviderConfig {
  return { name, type: adapter.type, adapter, baseUrl, options: {}, allowProviderStorage: false, allowServerTools: [] };
}

export async function buildUpstream(
  provider: ProviderConfig,
  endpoint: ForwardedEndpoint,
  body: JsonObject,
  options: { headers?: Record<string, string>; model?: string; secret?: string; keyId?: string; method?: string; pathId?: string } = {},
): Promise<UpstreamRequest> {
  const adapter = provider.adapter.endpoints[endpoint];
  if (!adapter) throw new Error(`${provider.type} does not serve ${endpoint}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  return adapter.buildRequest({
    endpoint,
    method: options.method ?? 'POST',
    pathId: options.pathId,
    provider,
    upstreamModel: options.model ?? String(body.model),
    body,
    rawBody: encoder.encode(JSON.stringify(body)),
    clientHeaders: headers,
    secret: options.secret ?? 'sk-provider',
    keyId: options.keyId ?? 'key_test',
  });
}
