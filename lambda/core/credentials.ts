/**
 * Provider credentials: decrypted on demand from the secrets table and kept in memory for a bounded
 * time. If decryption fails while an older copy is still in memory (within `maxStaleMs`), that copy
 * is used, so a short KMS outage does not take the relay down.
 */
import { withDeadline } from './deadline';
import { RelayError } from './errors';
import type { Clock, EncryptionContext, SecretCipher, SecretStore } from './ports';
import type { ProviderConfig } from './config';

/** The encryption context every provider secret is sealed with; IAM conditions name it too. */
export const PROVIDER_SECRET_PURPOSE = 'mixroute-provider-secret';

export function providerEncryptionContext(provider: string): EncryptionContext {
  return { purpose: PROVIDER_SECRET_PURPOSE, provider };
}

export interface CredentialSourceOptions {
  readonly secrets: SecretStore;
  readonly cipher: SecretCipher;
  readonly clock: Clock;
  readonly ttlMs: number;
  /** How long past its TTL a cached secret may still serve when the store or cipher fails. */
  readonly maxStaleMs?: number;
  /** The most each store read and each decryption may take. */
  readonly timeoutMs?: number;
  /** Local mode only: reads a provider's `apiKeyEnv`. Absent in Lambda, where env keys are refused. */
  readonly env?: (name: string) => string | undefined;
}

interface Cached {
  readonly secret: string;
  readonly until: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export class ProviderCredentials {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string | undefined>>();

  constructor(private readonly options: CredentialSourceOptions) {}

  /** The provider's secret, or a 503 RelayError saying it is missing or unavailable. */
  async get(provider: ProviderConfig): Promise<string> {
    if (provider.apiKeyEnv && this.options.env) {
      const value = this.options.env(provider.apiKeyEnv);
      if (value) return value;
    }
    const now = this.options.clock.now();
    const cached = this.cache.get(provider.name);
    if (cached && cached.until > now) return cached.secret;
    let secret: string | undefined;
    try {
      secret = await this.load(provider.name);
    } catch {
      if (cached && cached.until + (this.options.maxStaleMs ?? 3_600_000) > now) return cached.secret;
      throw new RelayError(503, 'provider_credential_unavailable', 'The relay cannot read its provider credential right now. Retry shortly.', {
        'retry-after': '2',
      });
    }
    if (secret === undefined) {
      this.cache.delete(provider.name);
      throw new RelayError(
        503,
        'provider_credential_missing',
        `No credential is configured for provider "${provider.name}". The operator must run \`mixroute providers set-key ${provider.name}\`.`,
      );
    }
    if (this.options.ttlMs > 0) this.cache.set(provider.name, { secret, until: this.options.clock.now() + this.options.ttlMs });
    return secret;
  }

  private load(name: string): Promise<string | undefined> {
    const pending = this.inFlight.get(name);
    if (pending) return pending;
    const loading = (async () => {
      const timeoutMs = this.options.timeoutMs ?? 2_000;
      const stored = await withDeadline(this.options.secrets.getProviderSecret(name), timeoutMs, 'provider secret read');
      if (!stored) return undefined;
      const plaintext = await withDeadline(this.options.cipher.decrypt(stored.ciphertext, providerEncryptionContext(name)), timeoutMs, 'provider secret decryption');
      return decoder.decode(plaintext);
    })().finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, loading);
    return loading;
  }
}
