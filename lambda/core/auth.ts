/**
 * Client keys: generation, hashing, and the authenticator with its bounded cache.
 * A key is `mr-` + base64url(32 random bytes); only its SHA-256 is ever stored (a 256-bit random
 * secret needs no slow hash) next to a non-secret key id.
 */
import { createHash, randomBytes } from 'node:crypto';
import { withDeadline } from './deadline';
import { RelayError } from './errors';
import { header, type HeaderMap } from './http';
import type { ClientKey, Clock, KeyLookup, KeyStore } from './ports';

export const KEY_PREFIX = 'mr-';
const KEY_PATTERN = /^mr-[A-Za-z0-9_-]{43}$/;
/** Characters of the key shown in listings: the prefix and 4 characters of the secret. */
export const KEY_DISPLAY_LENGTH = KEY_PREFIX.length + 4;

export interface NewClientKey {
  /** The secret; shown to the user once and never stored. */
  readonly secret: string;
  readonly id: string;
  readonly hash: string;
  readonly prefix: string;
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function newKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`;
}

export function generateClientKey(id: string = newKeyId()): NewClientKey {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { secret, id, hash: hashKey(secret), prefix: secret.slice(0, KEY_DISPLAY_LENGTH) };
}

const INVALID_KEY_MESSAGE = 'Invalid API key. Use a key issued by this relay (Authorization: Bearer <key> or x-api-key).';

function invalidKey(): RelayError {
  return new RelayError(401, 'invalid_api_key', INVALID_KEY_MESSAGE);
}

/** Marks a request that carried two different relay keys. */
export const TWO_KEYS = Symbol('two different relay keys');

/**
 * The key a caller presented, from `Authorization: Bearer` or `x-api-key`. When both are sent and
 * differ (Claude Code sends both when ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY are set), the one
 * shaped like a relay key is used; the other is ignored (never forwarded, never logged). Two
 * different relay keys are refused: there is no telling which one the caller meant.
 */
export function presentedKey(headers: HeaderMap): string | typeof TWO_KEYS | undefined {
  const authorization = header(headers, 'authorization');
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  const apiKey = header(headers, 'x-api-key')?.trim() || undefined;
  if (!bearer || !apiKey || bearer === apiKey) return bearer ?? apiKey;
  const bearerIsRelayKey = KEY_PATTERN.test(bearer);
  const apiKeyIsRelayKey = KEY_PATTERN.test(apiKey);
  if (bearerIsRelayKey && apiKeyIsRelayKey) return TWO_KEYS;
  return apiKeyIsRelayKey ? apiKey : bearer;
}

interface CacheEntry {
  readonly lookup: KeyLookup | undefined;
  readonly until: number;
}

export interface KeyAuthenticatorOptions {
  readonly store: KeyStore;
  readonly clock: Clock;
  /** How long a lookup (found or not) is trusted; bounds how long a revoked key keeps working. */
  readonly ttlMs: number;
  /** Entries kept at most (least recently used go first), so a flood of bad keys cannot grow memory. */
  readonly maxEntries?: number;
  /** The most a lookup waits for the store; past it the caller gets 503 (fail closed). */
  readonly timeoutMs?: number;
}

/** Why a presented key was refused; `store` means the key could not be checked at all. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'inactive' | 'store';

export class KeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<KeyLookup | undefined>>();
  private readonly maxEntries: number;

  constructor(private readonly options: KeyAuthenticatorOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Returns the caller's active key or throws 401 (or 503 when the store cannot be read: fail closed). */
  async authenticate(headers: HeaderMap, onFailure?: (reason: AuthFailure) => void): Promise<ClientKey> {
    return (await this.authenticateRequest(headers, onFailure)).key;
  }

  /** As authenticate, also giving the secret's hash (an open stream re-checks its key by it). */
  async authenticateRequest(headers: HeaderMap, onFailure?: (reason: AuthFailure) => void): Promise<{ key: ClientKey; hash: string }> {
    const secret = presentedKey(headers);
    if (secret === TWO_KEYS) {
      onFailure?.('malformed');
      throw new RelayError(
        401,
        'invalid_api_key',
        'Two different relay keys were sent, one in Authorization: Bearer and one in x-api-key. Send one key (for Claude Code, set only one of ANTHROPIC_AUTH_TOKEN and ANTHROPIC_API_KEY).',
      );
    }
    if (!secret) {
      onFailure?.('missing');
      throw invalidKey();
    }
    if (!KEY_PATTERN.test(secret)) {
      onFailure?.('malformed');
      throw invalidKey();
    }
    let lookup: KeyLookup | undefined;
    const hash = hashKey(secret);
    try {
      lookup = await this.lookup(hash);
    } catch {
      onFailure?.('store');
      throw new RelayError(503, 'key_store_unavailable', 'The relay cannot verify keys right now. Retry shortly.', {
        'retry-after': '1',
      });
    }
    if (!lookup) {
      onFailure?.('unknown');
      throw invalidKey();
    }
    if (!isUsable(lookup, this.options.clock.now())) {
      onFailure?.('inactive');
      throw invalidKey();
    }
    return { key: lookup.key, hash };
  }

  /**
   * Whether a key still works, read fresh from the store (not the cache, whose entry it refreshes):
   * an open stream asks this, so revocation and expiry reach it. A store that cannot be read says
   * nothing against the key: the stream goes on.
   */
  async stillValid(hash: string): Promise<boolean> {
    let lookup: KeyLookup | undefined;
    try {
      lookup = await withDeadline(this.options.store.findByHash(hash), this.options.timeoutMs ?? 2_000, 'key re-check');
    } catch {
      return true;
    }
    if (this.options.ttlMs > 0) this.remember(hash, { lookup, until: this.options.clock.now() + this.options.ttlMs });
    return lookup !== undefined && isUsable(lookup, this.options.clock.now());
  }

  private async lookup(hash: string): Promise<KeyLookup | undefined> {
    const now = this.options.clock.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) {
      this.cache.delete(hash);
      this.cache.set(hash, cached);
      return cached.lookup;
    }
    const pending = this.inFlight.get(hash);
    if (pending) return pending;
    const fetching = withDeadline(this.options.store.findByHash(hash), this.options.timeoutMs ?? 2_000, 'key lookup').finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, fetching);
    const lookup = await fetching;
    if (this.options.ttlMs > 0) this.remember(hash, { lookup, until: this.options.clock.now() + this.options.ttlMs });
    return lookup;
  }

  private remember(hash: string, entry: CacheEntry): void {
    this.cache.delete(hash);
    this.cache.set(hash, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}

/** Status, key expiry and (for a rotated-away secret) the secret's own end, checked at use time. */
export function isUsable(lookup: KeyLookup, nowMs: number): boolean {
  if (lookup.key.status !== 'active') return false;
  if (lookup.key.expiresAt && Date.parse(lookup.key.expiresAt) <= nowMs) return false;
  if (lookup.secretNotAfter && Date.parse(lookup.secretNotAfter) <= nowMs) return false;
  return true;
}

/** Whether a key may use a model; its allowlist may hold patterns ending in `*` ("claude-*"). */
export function keyAllowsModel(key: ClientKey, model: string): boolean {
  return key.models === undefined || key.models.some((allowed) => allowed === model || (allowed.endsWith('*') && model.startsWith(allowed.slice(0, -1))));
}
