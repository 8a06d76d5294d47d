/**
 * The ports the relay core talks through. Stores implement them over DynamoDB, KMS and the local
 * cipher (lambda/stores, lambda/hosts/local), the hosts the clock and the upstream client; tests
 * also use the in-memory stores (lambda/stores/memory).
 */
import type { UsageRecord } from './usage';

export type KeyStatus = 'active' | 'revoked';

/** Per-key limits, enforced across all relay instances with atomic counters. */
export interface KeyLimits {
  readonly requestsPerMinute?: number;
  /** Input + output tokens per UTC day. */
  readonly tokensPerDay?: number;
  /** Input + output tokens per UTC calendar month. */
  readonly tokensPerMonth?: number;
  /** Requests of this key open at once (streams included). */
  readonly maxConcurrency?: number;
}

/** A client key as the relay sees it. Never holds the secret or its hash. */
export interface ClientKey {
  readonly id: string;
  readonly name: string;
  readonly status: KeyStatus;
  /** ISO-8601. */
  readonly createdAt: string;
  /** ISO-8601; after this the key no longer works. */
  readonly expiresAt?: string;
  /** Models this key may use; absent means every configured model. */
  readonly models?: readonly string[];
  /** The first characters of the current secret, for people to recognise it (not secret). */
  readonly prefix: string;
  readonly limits?: KeyLimits;
  /** ISO-8601; when the secret was last rotated. */
  readonly rotatedAt?: string;
}

/** The key a secret's hash resolves to, plus the secret's own end (set when it was rotated away). */
export interface KeyLookup {
  readonly key: ClientKey;
  /** ISO-8601; the old secret of a rotated key stops working at this time. */
  readonly secretNotAfter?: string;
}

export interface KeyStore {
  /** Resolves a SHA-256 hash (hex) of a presented secret. Throws if the store cannot be read. */
  findByHash(hash: string): Promise<KeyLookup | undefined>;
}

export interface UsageStore {
  /** Writes one usage record; writing the same request id twice keeps one record. */
  put(record: UsageRecord): Promise<void>;
}

export interface StoredSecret {
  readonly ciphertext: Uint8Array;
  /** A short non-reversible fingerprint of the plaintext, for operators to compare. */
  readonly fingerprint: string;
  /** ISO-8601. */
  readonly updatedAt: string;
}

export interface SecretStore {
  getProviderSecret(provider: string): Promise<StoredSecret | undefined>;
}

export type EncryptionContext = Readonly<Record<string, string>>;

/** Envelope for provider credentials: KMS in AWS, AES-256-GCM locally. */
export interface SecretCipher {
  encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
  decrypt(ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array>;
}

/** One call to an upstream provider. */
export interface UpstreamCall {
  readonly url: string;
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** Aborting it cancels the call, before or after the answer's headers arrived. */
  readonly signal: AbortSignal;
}

/** An upstream answer: status and headers, and a body read chunk by chunk. */
export interface UpstreamResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AsyncIterable<Uint8Array>;
  /** Drops the rest of the body and the connection (when it is not read to its end). */
  discard(): void;
}

/**
 * The upstream client port: pooled connections, verified TLS, redirects never followed, and a
 * connect timeout; it rejects when the call cannot be made or is aborted.
 */
export type UpstreamClient = (call: UpstreamCall) => Promise<UpstreamResponse>;

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Changes to a key's settings; `null` clears an optional setting. */
export interface KeyUpdate {
  readonly name?: string;
  readonly status?: KeyStatus;
  readonly expiresAt?: string | null;
  readonly models?: readonly string[] | null;
  readonly limits?: KeyLimits | null;
  readonly prefix?: string;
  readonly rotatedAt?: string;
}

/** One secret of a key: its hash (never shown) and, once rotated away, when it stops working. */
export interface KeySecret {
  readonly hash: string;
  readonly notAfter?: string;
}

/** Key operations for the admin commands (the relay itself only reads). */
export interface KeyAdminStore extends KeyStore {
  /** Stores a new key and the hash of its secret; fails if either exists. */
  createKey(key: ClientKey, hash: string): Promise<void>;
  getKey(id: string): Promise<ClientKey | undefined>;
  listKeys(): Promise<ClientKey[]>;
  /** Applies changes to an existing key (fails if it does not exist) and returns the result. */
  updateKey(id: string, update: KeyUpdate): Promise<ClientKey>;
  /** Adds another secret (by hash) to an existing key. */
  addSecret(keyId: string, hash: string): Promise<void>;
  listSecrets(keyId: string): Promise<KeySecret[]>;
  /** Sets when a secret stops working. */
  endSecret(hash: string, notAfter: string): Promise<void>;
}

/** Named counters for limits: atomic across relay instances, holding numbers only. */
export interface CounterStore {
  /** Adds `amount` (creating the counter at 0; negative amounts subtract) and returns the new value. */
  add(name: string, amount: number, expiresAtSeconds: number): Promise<number>;
  /** Current values (0 for counters that do not exist). */
  read(names: readonly string[]): Promise<number[]>;
  /**
   * In one atomic conditional update: adds `amount` if the counter is below `below` (or absent) and
   * answers true; answers false and changes nothing otherwise.
   */
  addIfBelow(name: string, amount: number, below: number, expiresAtSeconds: number): Promise<boolean>;
  /**
   * A slot in a counter of open requests: adds 1 if fewer than `max` are open and answers true. The
   * counter's lease is renewed to `leaseUntilSeconds`; a counter whose lease ran out (nothing was
   * admitted for longer than any request lives) is stale, e.g. left by a crashed instance, and
   * starts again from 0.
   */
  acquireSlot(name: string, max: number, leaseUntilSeconds: number, nowSeconds: number): Promise<boolean>;
}

export interface SecretAdminStore extends SecretStore {
  putProviderSecret(provider: string, secret: StoredSecret): Promise<void>;
  listProviderSecrets(): Promise<(StoredSecret & { provider: string })[]>;
  /** Returns whether there was a secret to remove. */
  deleteProviderSecret(provider: string): Promise<boolean>;
}

export interface UsageQuery {
  /** Epoch ms; records from this time on. */
  readonly sinceMs: number;
  readonly nowMs: number;
  readonly keyId?: string;
}

export interface UsageReader {
  /** Live records only (expired ones are filtered even before DynamoDB's TTL deletes them). */
  queryUsage(query: UsageQuery): Promise<UsageRecord[]>;
}

/** An upstream request as it is signed: the signature covers the method, URL, headers and body. */
export interface SignableRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

/**
 * The runtime's own identity, for provider types that hold no secret (credential mode
 * `runtime-role`): in AWS the relay's IAM role, locally the developer's AWS configuration. The host
 * implements it (SigV4 with the AWS SDK's standard credential chain); the core only passes it on.
 */
export interface RuntimeIdentity {
  /** The runtime's region (AWS_REGION in Lambda; locally the standard AWS configuration), if known. */
  region(): Promise<string | undefined>;
  /** An endpoint override for a service by its SDK id (AWS_ENDPOINT_URL_BEDROCK_RUNTIME for `bedrock-runtime`). */
  endpoint(serviceId: string): string | undefined;
  /** The request's headers with the signature (and session token) added. */
  sign(request: SignableRequest, scope: { readonly service: string; readonly region: string }): Promise<Record<string, string>>;
}
