/** Wires the relay core to its stores, cipher, upstream client and logger; shared by the Lambda and local hosts. */
import { KeyAuthenticator } from '../../core/auth';
import { ProviderCredentials } from '../../core/credentials';
import { LimitEnforcer } from '../../core/limits';
import { Relay, type RelayDeps } from '../../core/pipeline';
import type { CounterStore, KeyStore, SecretCipher, SecretStore, UpstreamClient } from '../../core/ports';
import { systemClock } from '../../core/ports';
import { createUpstreamClient } from './upstream-client';

/** What the core takes unchanged from the host (documented on RelayDeps). */
type PassedThrough = 'config' | 'usage' | 'logger' | 'clock' | 'metrics' | 'usageRetryDelaysMs' | 'privacy' | 'random' | 'identity';

export interface RelayParts extends Pick<RelayDeps, PassedThrough> {
  readonly keys: KeyStore;
  readonly secrets: SecretStore;
  readonly cipher: SecretCipher;
  /** Counters for per-key limits; without them limits are not enforced. */
  readonly counters?: CounterStore;
  /** Local mode only: environment lookup for providers' `apiKeyEnv`. */
  readonly env?: (name: string) => string | undefined;
  readonly upstream?: UpstreamClient;
}

export function composeRelay(parts: RelayParts): Relay {
  const clock = parts.clock ?? systemClock;
  const { settings } = parts.config;
  return new Relay({
    config: parts.config,
    usage: parts.usage,
    logger: parts.logger,
    clock,
    metrics: parts.metrics,
    usageRetryDelaysMs: parts.usageRetryDelaysMs,
    privacy: parts.privacy,
    random: parts.random,
    identity: parts.identity,
    keys: new KeyAuthenticator({ store: parts.keys, clock, ttlMs: settings.keyCacheTtlMs, timeoutMs: settings.storeTimeoutMs }),
    credentials: new ProviderCredentials({
      secrets: parts.secrets,
      cipher: parts.cipher,
      clock,
      ttlMs: settings.secretCacheTtlMs,
      timeoutMs: settings.storeTimeoutMs,
      env: parts.config.mode === 'local' ? parts.env : undefined,
    }),
    limits: parts.counters ? new LimitEnforcer(parts.counters, clock, parts.logger, { timeoutMs: settings.storeTimeoutMs, metrics: parts.metrics }) : undefined,
    upstream: parts.upstream ?? createUpstreamClient({ connectTimeoutMs: settings.connectTimeoutMs }),
  });
}
