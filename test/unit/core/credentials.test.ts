import type { ProviderConfig } from '../../../lambda/core/config';
import { ProviderCredentials, providerEncryptionContext } from '../../../lambda/core/credentials';
import type { EncryptionContext, SecretCipher, SecretStore } from '../../../lambda/core/ports';
import { openAiProvider } from '../../../lambda/providers/openai';

const provider: ProviderConfig = { name: 'openai', type: 'openai', adapter: openAiProvider, baseUrl: 'https://api.openai.com/v1', options: {}, allowProviderStorage: false, allowServerTools: [] };

function setup(env?: (name: string) => string | undefined) {
  const now = { t: 0 };
  const state = { decrypts: 0, failing: false, stored: true, contexts: [] as EncryptionContext[] };
  const secrets: SecretStore = {
    async getProviderSecret() {
      return state.stored ? { ciphertext: new Uint8Array([1]), fingerprint: 'f', updatedAt: 'u' } : undefined;
    },
  };
  const cipher: SecretCipher = {
    encrypt: async (p) => p,
    async decrypt(_c, context) {
      state.decrypts++;
      state.contexts.push(context);
      if (state.failing) throw new Error('KMS down');
      return new TextEncoder().encode(`sk-${state.decrypts}`);
    },
  };
  const credentials = new ProviderCredentials({ secrets, cipher, clock: { now: () => now.t }, ttlMs: 1000, maxStaleMs: 5000, env });
  return { now, state, credentials };
}

test('decrypts with the provider\'s encryption context and caches for the TTL only', async () => {
  const { now, state, credentials } = setup();
  expect(await credentials.get(provider)).toBe('sk-1');
  expect(await credentials.get(provider)).toBe('sk-1');
  expect(state.contexts).toEqual([providerEncryptionContext('openai')]);
  now.t += 1001;
  expect(await credentials.get(provider)).toBe('sk-2');
});

test('serves a recently cached secret when decryption fails, then fails with 503', async () => {
  const { now, state, credentials } = setup();
  await credentials.get(provider);
  state.failing = true;
  now.t += 2000;
  expect(await credentials.get(provider)).toBe('sk-1');
  now.t += 5000;
  await expect(credentials.get(provider)).rejects.toMatchObject({ status: 503, code: 'provider_credential_unavailable' });
});

test('answers 503 naming the set-key command when no credential is stored', async () => {
  const { state, credentials } = setup();
  state.stored = false;
  await expect(credentials.get(provider)).rejects.toMatchObject({ status: 503, code: 'provider_credential_missing', message: expect.stringContaining('providers set-key openai') });
});

test('reads apiKeyEnv only when given an environment (local mode)', async () => {
  const withEnv = setup((name) => (name === 'OPENAI_API_KEY' ? 'sk-env' : undefined));
  expect(await withEnv.credentials.get({ ...provider, apiKeyEnv: 'OPENAI_API_KEY' })).toBe('sk-env');
  const without = setup();
  expect(await without.credentials.get({ ...provider, apiKeyEnv: 'OPENAI_API_KEY' })).toBe('sk-1');
});
