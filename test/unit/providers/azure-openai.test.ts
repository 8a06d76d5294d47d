/**
 * Provider type `azure-openai`, the seam's proof: its own module plus one registry line. Config
 * validation, the `api-key` header, deployment names as the upstream model, and the relay's whole
 * path (chat and embeddings, streamed and not, failover from OpenAI) in process against the fake.
 */
import { ConfigError, parseRelayConfig } from '../../../lambda/core/config';
import { azureOpenAiProvider } from '../../../lambda/providers/azure-openai';
import { PROVIDERS } from '../../../lambda/providers/registry';
import { buildUpstream, providerConfig } from '../../helpers/provider-requests';
import { buildRelay, UPSTREAM_OPENAI_KEY, type TestRelay } from '../../helpers/relay-builder';

const AZURE_KEY = 'sk-azure-provider';

function problems(raw: unknown): string[] {
  try {
    parseRelayConfig(raw, 'lambda', PROVIDERS);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe('config', () => {
  test('accepts the v1 base URL of a resource, without api-version', () => {
    const config = parseRelayConfig({ providers: { azure: { type: 'azure-openai', baseUrl: 'https://my-resource.openai.azure.com/openai/v1/' } } }, 'lambda', PROVIDERS);
    expect(config.providers.get('azure')).toMatchObject({ type: 'azure-openai', baseUrl: 'https://my-resource.openai.azure.com/openai/v1' });
  });

  test('rejects a base URL that is not the v1 API root, or carries api-version, naming the field', () => {
    expect(problems({ providers: { azure: { type: 'azure-openai', baseUrl: 'https://my-resource.openai.azure.com' } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.baseUrl: expected the API root ending in \/openai\/v1/),
    ]);
    expect(problems({ providers: { azure: { type: 'azure-openai', baseUrl: 'https://my-resource.openai.azure.com/openai/v1?api-version=2024-10-21' } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.baseUrl: must not contain a query string/),
    ]);
    expect(problems({ providers: { azure: { type: 'azure-openai', baseUrl: 'https://x.openai.azure.com/openai/v1', region: 'eu' } } })).toEqual([
      expect.stringMatching(/^providers\.azure\.region: unknown field/),
    ]);
  });

  test('may share a route with openai candidates (same wire format), never with anthropic ones', () => {
    const providers = {
      openai: { type: 'openai', baseUrl: 'https://api.openai.com/v1' },
      azure: { type: 'azure-openai', baseUrl: 'https://r.openai.azure.com/openai/v1' },
      claude: { type: 'anthropic', baseUrl: 'https://api.anthropic.com' },
    };
    expect(problems({ providers, models: { m: { candidates: [{ provider: 'openai' }, { provider: 'azure', model: 'my-deployment' }] } } })).toEqual([]);
    expect(problems({ providers, models: { m: { candidates: [{ provider: 'azure' }, { provider: 'claude' }] } } })).toEqual([expect.stringMatching(/no client endpoint in common/)]);
  });
});

describe('request building', () => {
  const provider = providerConfig(azureOpenAiProvider, 'https://r.openai.azure.com/openai/v1', 'azure');

  test('sends the stored key as api-key, never an Authorization header or the client key', async () => {
    const request = await buildUpstream(provider, 'chat', { model: 'gpt-4o-mini', messages: [] }, { headers: { authorization: 'Bearer mr-client', 'x-api-key': 'mr-client' }, model: 'prod-gpt4o', secret: AZURE_KEY });
    expect(request.url).toBe('https://r.openai.azure.com/openai/v1/chat/completions');
    expect(request.headers['api-key']).toBe(AZURE_KEY);
    expect(request.headers.authorization).toBeUndefined();
    expect(JSON.stringify(request.headers)).not.toContain('mr-client');
    expect(JSON.parse(String(request.body)).model).toBe('prod-gpt4o');
  });

  test('serves embeddings at the v1 path', async () => {
    const request = await buildUpstream(provider, 'embeddings', { model: 'emb', input: 'x' }, { secret: AZURE_KEY });
    expect(request.url).toBe('https://r.openai.azure.com/openai/v1/embeddings');
  });
});

describe('through the relay', () => {
  let h: TestRelay;
  beforeAll(async () => {
    h = await buildRelay({
      config: (url) => ({
        providers: {
          openai: { type: 'openai', baseUrl: `${url}/a/v1` },
          azure: { type: 'azure-openai', baseUrl: `${url}/b/openai/v1` },
        },
        models: {
          'gpt-4o-mini': { candidates: [{ provider: 'openai' }, { provider: 'azure', model: 'prod-gpt4o-mini' }] },
          'azure-only': { provider: 'azure', model: 'prod-gpt4o-mini' },
          'text-embedding-3-small': { provider: 'azure', model: 'prod-embeddings' },
        },
        settings: { keyCacheTtlMs: 0 },
      }),
    });
    await h.stores.secrets.deleteProviderSecret('azure');
    const { setProviderKey } = await import('../../../lambda/admin/providers');
    await setProviderKey(h.stores.secrets, h.cipher, 'azure', AZURE_KEY);
  });
  afterAll(() => h.close());
  beforeEach(() => h.upstream.reset());

  const chat = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

  test('a chat completion reaches Azure with api-key and the deployment name; usage is recorded exactly', async () => {
    const res = await h.call('/v1/chat/completions', { body: chat('azure-only'), headers: { 'x-api-key': h.key.secret } });
    expect(res.status).toBe(200);
    const sent = h.upstream.received[0];
    expect(sent.path).toBe('/b/openai/v1/chat/completions');
    expect(sent.headers['api-key']).toBe(AZURE_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(h.key.secret);
    expect(sent.json?.model).toBe('prod-gpt4o-mini');
    expect(await h.usageFor(res.requestId)).toMatchObject({ provider: 'azure', model: 'azure-only', inputTokens: 11, outputTokens: 7, usageSource: 'provider', outcome: 'ok' });
  });

  test('a streamed chat completion is metered from the usage chunk the relay asked for, which the client does not see', async () => {
    const res = await h.call('/v1/chat/completions', { body: chat('azure-only', { stream: true }) });
    expect(res.status).toBe(200);
    expect(h.upstream.received[0].json?.stream_options).toEqual({ include_usage: true });
    expect(res.text).not.toContain('"usage"');
    expect(res.text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(await h.usageFor(res.requestId)).toMatchObject({ provider: 'azure', inputTokens: 11, outputTokens: 7, usageSource: 'provider', streamed: true, completed: true });
  });

  test('embeddings are served and metered', async () => {
    const res = await h.call('/v1/embeddings', { body: JSON.stringify({ model: 'text-embedding-3-small', input: 'hi' }) });
    expect(res.status).toBe(200);
    expect(h.upstream.received[0].path).toBe('/b/openai/v1/embeddings');
    expect(await h.usageFor(res.requestId)).toMatchObject({ provider: 'azure', inputTokens: 5, outputTokens: 0, usageSource: 'provider' });
  });

  test('fails over from OpenAI to Azure on 503, each with its own credential', async () => {
    h.upstream.script('a', { status: 503 });
    const res = await h.call('/v1/chat/completions', { body: chat('gpt-4o-mini') });
    expect(res.status).toBe(200);
    expect(h.upstream.received.map((r) => r.path)).toEqual(['/a/v1/chat/completions', '/b/openai/v1/chat/completions']);
    expect(h.upstream.received[0].headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
    expect(h.upstream.received[1].headers['api-key']).toBe(AZURE_KEY);
    expect(h.upstream.received[1].headers.authorization).toBeUndefined();
    expect(h.upstream.received[1].json?.model).toBe('prod-gpt4o-mini');
    const records = (await h.usageItems()).filter((r) => r.requestId === res.requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ provider: 'azure', model: 'gpt-4o-mini', inputTokens: 11, outputTokens: 7, outcome: 'ok' });
  });
});
