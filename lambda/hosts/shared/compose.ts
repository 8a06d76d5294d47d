/** Wires the relay core to its stores, cipher, upstream client and logger; shared by the Lambda and local hosts. */
import { KeyAuthenticator } from '../../core/auth';
import type { RelayConfig } from '../../core/config';
import { ProviderCredentials } from '../../core/credentials';
import { LimitEnforcer } from '../../core/limits';
import type { Logger } from '../../core/log';
import type { RelayMetrics } from '../../core/metering';
import { Relay } from '../../core/pipeline';
import type { Clock, CounterStore, KeyStore, RuntimeIdentity, SecretCipher, SecretStore, UpstreamClient, UsageStore } from '../../core/ports';
import { systemClock } from '../../core/ports';
import type { PrivacyManifestOptions } from '../../core/privacy';
import { createUpstreamClient } from './upstream-client';

export interface RelayParts {
  readonly config: RelayConfig;
  readonly keys: KeyStore;
  readonly usage: UsageStore;
  readonly secrets: SecretStore;
  readonly cipher: SecretCipher;
  /** Counters for per-key limits; without them limits are not enforced. */
  readonly counters?: CounterStore;
  readonly logger: Logger;
  /** Local mode only: environment lookup for providers' `apiKeyEnv`. */
  readonly env?: (name: string) => string | undefined;
  readonly upstream?: UpstreamClient;
  readonly clock?: Clock;
  readonly metrics?: RelayMetrics;
  readonly usageRetryDelaysMs?: readonly number[];
  readonly privacy?: PrivacyManifestOptions;
  readonly random?: () => number;
  /** The runtime's own AWS identity (Bedrock); absent, runtime-role providers answer 503. */
  readonly identity?: RuntimeIdentity;
}

export function composeRelay(parts: RelayParts): Relay {
  const clock = parts.clock ?? systemClock;
  const { settings } = parts.config;
  return new Relay({
    config: parts.config,
    keys: new KeyAuthenticator({ store: parts.keys, clock, ttlMs: settings.keyCacheTtlMs, timeoutMs: settings.storeTimeoutMs }),
    usage: parts.usage,
    credentials: new ProviderCredentials({
      secrets: parts.secrets,
      cipher: parts.cipher,
      clock,
      ttlMs: settings.secretCacheTtlMs,
      timeoutMs: settings.storeTimeoutMs,
      env: parts.config.mode === 'local' ? parts.env : undefined,
    }),
    limits: parts.counters ? new LimitEnforcer(parts.counters, clock, parts.logger, { timeoutMs: settings.storeTimeoutMs, metrics: parts.metrics }) : undefined,
    logger: parts.logger,
    upstream: parts.upstream ?? createUpstreamClient({ connectTimeoutMs: settings.connectTimeoutMs }),
    clock,
    metrics: parts.metrics,
    usageRetryDelaysMs: parts.usageRetryDelaysMs,
    privacy: parts.privacy,
    random: parts.random,
    identity: parts.identity,
  });
}
