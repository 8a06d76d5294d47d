/**
 * In-memory implementations of the store ports, for the core's in-process tests and the benchmark's
 * floor. They keep the same contracts as the DynamoDB stores (conditional creates, idempotent usage
 * writes, expired records excluded from reads) and hold only what those would.
 */
import type {
  ClientKey,
  CounterStore,
  KeyAdminStore,
  KeyLookup,
  KeySecret,
  KeyUpdate,
  SecretAdminStore,
  StoredSecret,
  UsageQuery,
  UsageReader,
  UsageStore,
} from '../../core/ports';
import { isUsageLive, type UsageRecord } from '../../core/usage';

export class MemoryKeyStore implements KeyAdminStore {
  private readonly keys = new Map<string, ClientKey>();
  private readonly secrets = new Map<string, { keyId: string; notAfter?: string }>();

  async findByHash(hash: string): Promise<KeyLookup | undefined> {
    const secret = this.secrets.get(hash);
    const key = secret && this.keys.get(secret.keyId);
    if (!key) return undefined;
    return secret.notAfter ? { key, secretNotAfter: secret.notAfter } : { key };
  }

  async createKey(key: ClientKey, hash: string): Promise<void> {
    if (this.keys.has(key.id)) throw new Error(`key ${key.id} exists`);
    this.keys.set(key.id, key);
    await this.addSecret(key.id, hash);
  }

  async getKey(id: string): Promise<ClientKey | undefined> {
    return this.keys.get(id);
  }

  async listKeys(): Promise<ClientKey[]> {
    return [...this.keys.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async updateKey(id: string, update: KeyUpdate): Promise<ClientKey> {
    const key = this.keys.get(id);
    if (!key) throw new Error(`unknown key id "${id}"`);
    const next: Record<string, unknown> = { ...key };
    for (const [field, value] of Object.entries(update)) {
      if (value === null) delete next[field];
      else if (value !== undefined) next[field] = value;
    }
    this.keys.set(id, next as unknown as ClientKey);
    return next as unknown as ClientKey;
  }

  async addSecret(keyId: string, hash: string): Promise<void> {
    if (this.secrets.has(hash)) throw new Error('secret exists');
    this.secrets.set(hash, { keyId });
  }

  async listSecrets(keyId: string): Promise<KeySecret[]> {
    return [...this.secrets.entries()].filter(([, s]) => s.keyId === keyId).map(([hash, s]) => ({ hash, ...(s.notAfter ? { notAfter: s.notAfter } : {}) }));
  }

  async endSecret(hash: string, notAfter: string): Promise<void> {
    const secret = this.secrets.get(hash);
    if (!secret) throw new Error('unknown secret');
    secret.notAfter = notAfter;
  }

  /** Everything stored, as the table would hold it (for content scans). */
  snapshot(): unknown[] {
    return [...[...this.keys.values()], ...[...this.secrets.entries()].map(([hash, s]) => ({ hash, ...s }))];
  }
}

export class MemoryUsageStore implements UsageStore, UsageReader {
  readonly records = new Map<string, UsageRecord>();

  async put(record: UsageRecord): Promise<void> {
    if (!this.records.has(record.requestId)) this.records.set(record.requestId, record);
  }

  async queryUsage(query: UsageQuery): Promise<UsageRecord[]> {
    const since = new Date(query.sinceMs).toISOString();
    return [...this.records.values()].filter((r) => r.timestamp >= since && isUsageLive(r, query.nowMs) && (!query.keyId || r.keyId === query.keyId));
  }
}

export class MemorySecretStore implements SecretAdminStore {
  private readonly secrets = new Map<string, StoredSecret>();

  async getProviderSecret(provider: string): Promise<StoredSecret | undefined> {
    return this.secrets.get(provider);
  }

  async putProviderSecret(provider: string, secret: StoredSecret): Promise<void> {
    this.secrets.set(provider, secret);
  }

  async listProviderSecrets(): Promise<(StoredSecret & { provider: string })[]> {
    return [...this.secrets.entries()].map(([provider, s]) => ({ provider, ...s }));
  }

  async deleteProviderSecret(provider: string): Promise<boolean> {
    return this.secrets.delete(provider);
  }

  snapshot(): unknown[] {
    return [...this.secrets.entries()].map(([provider, s]) => ({ provider, ...s, ciphertext: Buffer.from(s.ciphertext).toString('latin1') }));
  }
}

export class MemoryCounterStore implements CounterStore {
  private readonly counts = new Map<string, number>();
  private readonly leases = new Map<string, number>();

  async add(name: string, amount: number): Promise<number> {
    const next = (this.counts.get(name) ?? 0) + amount;
    this.counts.set(name, next);
    return next;
  }

  async addIfBelow(name: string, amount: number, below: number): Promise<boolean> {
    if ((this.counts.get(name) ?? 0) >= below) return false;
    await this.add(name, amount);
    return true;
  }

  async acquireSlot(name: string, max: number, leaseUntilSeconds: number, nowSeconds: number): Promise<boolean> {
    const stale = (this.leases.get(name) ?? Infinity) < nowSeconds;
    if (stale) this.counts.set(name, 0);
    if ((this.counts.get(name) ?? 0) >= max) return false;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    this.leases.set(name, leaseUntilSeconds);
    return true;
  }

  async read(names: readonly string[]): Promise<number[]> {
    return names.map((name) => this.counts.get(name) ?? 0);
  }

  snapshot(): unknown[] {
    return [...this.counts.entries()].map(([counter, count]) => ({ counter, count }));
  }
}

export interface MemoryStores {
  readonly keys: MemoryKeyStore;
  readonly usage: MemoryUsageStore;
  readonly secrets: MemorySecretStore;
  readonly counters: MemoryCounterStore;
}

export function createMemoryStores(): MemoryStores {
  return { keys: new MemoryKeyStore(), usage: new MemoryUsageStore(), secrets: new MemorySecretStore(), counters: new MemoryCounterStore() };
}
