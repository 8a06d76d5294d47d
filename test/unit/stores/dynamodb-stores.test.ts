/** The DynamoDB adapter against the embedded store (dynalite), the same code that serves AWS. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoStores, type DynamoStores } from '../../../lambda/stores/dynamodb';
import { ensureTables, localDynamoClient, startEmbeddedStore, type EmbeddedStore } from '../../../lambda/hosts/local/embedded-store';
import { LOCAL_TABLE_NAMES } from '../../../lambda/stores/dynamodb/schema';
import { generateClientKey } from '../../../lambda/core/auth';
import type { ClientKey } from '../../../lambda/core/ports';
import { buildUsageRecord } from '../../../lambda/core/usage';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let storeDir: string;
let store: EmbeddedStore;
let client: DynamoDBClient;
let stores: DynamoStores;

beforeAll(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'mixroute-store-'));
  store = await startEmbeddedStore({ socketPath: join(storeDir, 'store.sock'), inProcess: true });
  client = localDynamoClient(store.socketPath);
  await ensureTables(client);
  await ensureTables(client); // idempotent
  stores = createDynamoStores(client, LOCAL_TABLE_NAMES);
});
afterAll(async () => {
  client.destroy();
  await store.close();
  rmSync(storeDir, { recursive: true, force: true });
});

function newKey(overrides: Partial<ClientKey> = {}) {
  const generated = generateClientKey();
  const key: ClientKey = { id: generated.id, name: 'n', status: 'active', createdAt: new Date().toISOString(), prefix: generated.prefix, ...overrides };
  return { key, hash: generated.hash, secret: generated.secret };
}

test('finds a key by the hash of its secret, with its settings', async () => {
  const { key, hash } = newKey({ models: ['a', 'b'], expiresAt: '2030-01-01T00:00:00.000Z' });
  await stores.keys.createKey(key, hash);
  expect(await stores.keys.findByHash(hash)).toEqual({ key });
  expect(await stores.keys.getKey(key.id)).toEqual(key);
  expect(await stores.keys.findByHash('0'.repeat(64))).toBeUndefined();
});

test('stores no secret: only the hash, the id and the settings', async () => {
  const { key, hash, secret } = newKey();
  await stores.keys.createKey(key, hash);
  const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const dump = JSON.stringify((await client.send(new ScanCommand({ TableName: LOCAL_TABLE_NAMES.keys }))).Items);
  expect(dump).toContain(hash);
  expect(dump).not.toContain(secret);
  expect(dump).not.toContain(secret.slice(10));
});

test('refuses to create a key whose id already exists', async () => {
  const { key, hash } = newKey();
  await stores.keys.createKey(key, hash);
  await expect(stores.keys.createKey(key, generateClientKey().hash)).rejects.toThrow();
});

test('lists keys in creation order', async () => {
  const ids = (await stores.keys.listKeys()).map((k) => k.id);
  expect(ids.length).toBeGreaterThanOrEqual(3);
});

const usage = (keyId: string, startedAt: number, requestId = `req_${Math.random().toString(36).slice(2)}`) =>
  buildUsageRecord({ keyId, requestId, startedAt, finishedAt: startedAt + 5, usageSource: 'none', status: 200, outcome: 'ok', streamed: false, completed: true });

test('writing the same usage record twice keeps one', async () => {
  const record = usage('key_dup', Date.now());
  await stores.usage.put(record);
  await stores.usage.put(record);
  const found = await stores.usage.queryUsage({ sinceMs: 0, nowMs: Date.now(), keyId: 'key_dup' });
  expect(found).toEqual([record]);
});

test('reads filter out records past their expiry even before TTL deletes them', async () => {
  const now = Date.now();
  const old = usage('key_ttl', now - 8 * 86_400_000);
  const fresh = usage('key_ttl', now - 60_000);
  await stores.usage.put(old);
  await stores.usage.put(fresh);
  expect((await stores.usage.queryUsage({ sinceMs: 0, nowMs: now, keyId: 'key_ttl' })).map((r) => r.requestId)).toEqual([fresh.requestId]);
  expect((await stores.usage.queryUsage({ sinceMs: 0, nowMs: now })).map((r) => r.requestId)).not.toContain(old.requestId);
  expect(await stores.usage.queryUsage({ sinceMs: now, nowMs: now, keyId: 'key_ttl' })).toEqual([]);
});

test('stores provider secrets as ciphertext with a fingerprint', async () => {
  await stores.secrets.putProviderSecret('openai', { ciphertext: new Uint8Array([1, 2, 3]), fingerprint: 'sha256:abc', updatedAt: '2026-01-01T00:00:00Z' });
  expect(await stores.secrets.getProviderSecret('openai')).toEqual({ ciphertext: new Uint8Array([1, 2, 3]), fingerprint: 'sha256:abc', updatedAt: '2026-01-01T00:00:00Z' });
  expect((await stores.secrets.listProviderSecrets()).map((s) => s.provider)).toContain('openai');
  expect(await stores.secrets.getProviderSecret('nope')).toBeUndefined();
});
