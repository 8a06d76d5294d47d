/** Provider-credential operations: the secret is encrypted before it is stored, and never printed. */
import { createHash } from 'node:crypto';
import { providerEncryptionContext } from '../core/credentials';
import type { Clock, KeyAdminStore, SecretAdminStore, SecretCipher } from '../core/ports';
import { systemClock } from '../core/ports';
import { AdminInputError, AdminNotFoundError, createClientKey, revokeClientKey } from './keys';
import type { RelayRoutes, RouteProvider } from './routes';

/** A short fingerprint for people to compare keys; 48 bits of SHA-256 reveal nothing useful. */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 12)}`;
}

/** Trims the trailing newline a shell or a paste adds; refuses anything that is not one token. */
export function normaliseProviderSecret(raw: string): string {
  const secret = raw.trim();
  if (secret === '') throw new AdminInputError('no secret given: pipe it on standard input, e.g. `printenv OPENAI_API_KEY | npx mixroute providers set-key openai`');
  if (/\s/.test(secret)) throw new AdminInputError('the secret contains whitespace; give exactly one key');
  if (secret.length > 4096) throw new AdminInputError('the secret is longer than 4096 characters');
  return secret;
}

export function requireProvider(routes: RelayRoutes, name: string): RouteProvider {
  const provider = routes.providers.find((p) => p.name === name);
  if (!provider) {
    const known = routes.providers.map((p) => p.name).join(', ') || 'none';
    throw new AdminInputError(`provider "${name}" is not configured (configured: ${known}); add it under "providers" in the relay config first`);
  }
  return provider;
}

export async function setProviderKey(
  store: SecretAdminStore,
  cipher: SecretCipher,
  provider: string,
  rawSecret: string,
  clock: Clock = systemClock,
): Promise<{ provider: string; fingerprint: string; updatedAt: string }> {
  const secret = normaliseProviderSecret(rawSecret);
  const ciphertext = await cipher.encrypt(new TextEncoder().encode(secret), providerEncryptionContext(provider));
  const stored = { ciphertext, fingerprint: secretFingerprint(secret), updatedAt: new Date(clock.now()).toISOString() };
  await store.putProviderSecret(provider, stored);
  return { provider, fingerprint: stored.fingerprint, updatedAt: stored.updatedAt };
}

export interface ProviderListing extends RouteProvider {
  readonly fingerprint: string | null;
  readonly updatedAt: string | null;
}

/** Configured providers with the fingerprint and time of their stored key (never the key). */
export async function listProviders(store: SecretAdminStore, routes: RelayRoutes): Promise<ProviderListing[]> {
  const stored = new Map((await store.listProviderSecrets()).map((s) => [s.provider, s]));
  const listing: ProviderListing[] = routes.providers.map((p) => ({
    ...p,
    fingerprint: stored.get(p.name)?.fingerprint ?? null,
    updatedAt: stored.get(p.name)?.updatedAt ?? null,
  }));
  // Keys stored for providers no longer configured are shown too, so they can be removed.
  for (const [name, secret] of stored) {
    if (!routes.providers.some((p) => p.name === name)) listing.push({ name, type: '(not configured)', baseUrl: '', credential: 'stored-secret', endpoints: [], fingerprint: secret.fingerprint, updatedAt: secret.updatedAt });
  }
  return listing;
}

export async function removeProviderKey(store: SecretAdminStore, provider: string): Promise<void> {
  if (!(await store.deleteProviderSecret(provider))) throw new AdminNotFoundError(`no key is stored for provider "${provider}" (see \`mixroute providers list\`)`);
}

/** The provider a model name routes to: its exact route, else the longest matching pattern's. */
function routedProvider(routes: RelayRoutes, model: string): string | undefined {
  if (routes.models[model] !== undefined && !model.endsWith('*')) return routes.models[model];
  const patterns = Object.keys(routes.models).filter((name) => name.endsWith('*') && model.startsWith(name.slice(0, -1)));
  const longest = patterns.sort((a, b) => b.length - a.length)[0];
  return longest ? routes.models[longest] : undefined;
}

export interface ProviderTestResult {
  readonly provider: string;
  readonly model: string;
  readonly ok: boolean;
  readonly status: number;
  /** The relay's error code when the call failed (e.g. upstream_auth_failed). */
  readonly code?: string;
  readonly latencyMs: number;
}

/**
 * Proves a provider's stored key works with one cheap call through the relay itself (the only
 * component allowed to decrypt it): a throw-away client key limited to one model and one minute,
 * a one-token request, then the key is revoked.
 */
export async function testProvider(
  keys: KeyAdminStore,
  routes: RelayRoutes,
  relayUrl: string,
  provider: string,
  options: { model?: string; fetch?: typeof fetch; clock?: Clock } = {},
): Promise<ProviderTestResult> {
  const config = requireProvider(routes, provider);
  // A pattern route ("claude-*") names no model to call: it needs --model.
  const model = options.model ?? Object.entries(routes.models).find(([name, p]) => p === provider && !name.endsWith('*'))?.[0];
  if (!model) throw new AdminInputError(`no model name routes to provider "${provider}"; add one under "models" or pass --model`);
  if (routedProvider(routes, model) !== provider) throw new AdminInputError(`model "${model}" is not routed to provider "${provider}"`);
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? fetch;
  const { key, secret } = await createClientKey(keys, { name: `providers-test-${provider}`.slice(0, 64), models: [model], expiresAt: new Date(clock.now() + 120_000).toISOString() }, clock);
  const started = Date.now();
  try {
    // The cheapest call the provider serves: a one-token chat completion, or a one-token message.
    const anthropic = !config.endpoints.includes('chat') && config.endpoints.includes('messages');
    const url = new URL(anthropic ? 'v1/messages' : 'v1/chat/completions', relayUrl.endsWith('/') ? relayUrl : `${relayUrl}/`);
    const response = await doFetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...(anthropic ? { 'anthropic-version': '2023-06-01' } : {}) },
      body: JSON.stringify({ model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] }),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; type?: string } };
    return { provider, model, ok: response.ok, status: response.status, ...(response.ok ? {} : { code: body.error?.code ?? body.error?.type }), latencyMs: Date.now() - started };
  } finally {
    await revokeClientKey(keys, key.id);
  }
}
