/** Provider-credential operations: the secret is encrypted before it is stored, never logged. */
import { createHash } from 'node:crypto';
import { providerEncryptionContext } from '../core/credentials';
import type { Clock, SecretAdminStore, SecretCipher } from '../core/ports';
import { systemClock } from '../core/ports';
import { AdminInputError } from './keys';

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
