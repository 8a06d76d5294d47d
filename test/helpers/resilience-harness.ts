/**
 * The relay as the adapters compose it (node:http host, DynamoDB stores on the embedded store, a
 * cipher, the node:http upstream client), with switches that make the key store, the usage store
 * or the cipher fail, against the scriptable fault upstream.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createClientKey } from '../../lambda/admin/keys';
import { setProviderKey } from '../../lambda/admin/providers';
import { composeRelay } from '../../lambda/adapters/compose';
import { createDynamoStores } from '../../lambda/adapters/dynamodb-stores';
import { LocalCipher } from '../../lambda/adapters/local-cipher';
import { ensureTables, localDynamoClient, startEmbeddedStore, type EmbeddedStore } from '../../lambda/adapters/local-store';
import { startNodeRelayServer, type NodeRelayServer } from '../../lambda/adapters/node-http';
import { LOCAL_TABLE_NAMES } from '../../lambda/adapters/table-schema';
import { parseRelayConfig } from '../../lambda/core/config';
import { createLogger } from '../../lambda/core/log';
import { createEmfMetrics } from '../../lambda/adapters/emf-metrics';
import type { SecretCipher } from '../../lambda/core/ports';
import { startFaultUpstream, type FaultUpstream } from './fault-upstream';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';

export interface Faults {
  keyStoreDown: boolean;
  usageStoreDown: boolean;
  cipherDown: boolean;
}

export interface ResilienceHarness {
  readonly url: string;
  readonly upstream: FaultUpstream;
  readonly faults: Faults;
  readonly logs: string[];
  /** The EMF metric lines the relay emitted (what the stack's alarms are built from). */
  readonly metrics: string[];
  /** Every item of every table, as text, for content scans. */
  dumpTables(): Promise<string>;
  readonly keys: { a: string; b: string; aId: string; bId: string };
  /** Usage items by request id (waits for background writes first). */
  usage(): Promise<Map<string, Record<string, unknown>[]>>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startResilienceHarness(settings: Record<string, unknown> = {}): Promise<ResilienceHarness> {
  const upstream = await startFaultUpstream();
  const store: EmbeddedStore = await startEmbeddedStore();
  const client: DynamoDBClient = localDynamoClient(store.endpoint);
  await ensureTables(client);
  const stores = createDynamoStores(client, LOCAL_TABLE_NAMES);
  const faults: Faults = { keyStoreDown: false, usageStoreDown: false, cipherDown: false };
  const realCipher = LocalCipher.fromKey(randomBytes(32));
  const cipher: SecretCipher = {
    encrypt: (p, c) => realCipher.encrypt(p, c),
    decrypt: (c, ctx) => (faults.cipherDown ? Promise.reject(new Error('KMS unavailable')) : realCipher.decrypt(c, ctx)),
  };
  const config = parseRelayConfig(
    {
      providers: {
        primary: { type: 'openai', baseUrl: `${upstream.url}/a/v1` },
        backup: { type: 'openai', baseUrl: `${upstream.url}/b/v1` },
        claude: { type: 'anthropic', baseUrl: `${upstream.url}/a` },
        closed: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
        // Used by one test only, so its secret is never in the relay's cache before it.
        spare: { type: 'anthropic', baseUrl: `${upstream.url}/b` },
      },
      models: {
        solo: { provider: 'primary' },
        ha: { candidates: [{ provider: 'primary' }, { provider: 'backup' }] },
        twice: { candidates: [{ provider: 'primary' }, { provider: 'primary' }] },
        'dead-first': { candidates: [{ provider: 'closed' }, { provider: 'backup' }] },
        claude: { provider: 'claude' },
        'claude-spare': { provider: 'spare' },
      },
      settings: { headersTimeoutMs: 400, idleTimeoutMs: 400, totalTimeoutMs: 4000, maxRetryAfterMs: 1500, keyCacheTtlMs: 0, secretCacheTtlMs: 200, ...settings },
    },
    'local',
  );
  for (const provider of ['primary', 'backup', 'claude', 'closed', 'spare']) await setProviderKey(stores.secrets, cipher, provider, `sk-${provider}`);
  const a = await createClientKey(stores.keys, { name: 'a' });
  const b = await createClientKey(stores.keys, { name: 'b' });
  const logs: string[] = [];
  const metrics: string[] = [];
  const relay = composeRelay({
    config,
    keys: { findByHash: (hash) => (faults.keyStoreDown ? Promise.reject(new Error('DynamoDB unavailable')) : stores.keys.findByHash(hash)) },
    usage: { put: (record) => (faults.usageStoreDown ? Promise.reject(new Error('DynamoDB unavailable')) : stores.usage.put(record)) },
    secrets: stores.secrets,
    counters: stores.counters,
    cipher,
    logger: createLogger((line) => logs.push(line)),
    metrics: createEmfMetrics('Mixroute/test', (line) => metrics.push(line)),
    usageRetryDelaysMs: [10, 20],
  });
  const server: NodeRelayServer = await startNodeRelayServer(relay.handle, { host: '127.0.0.1', port: 0 });
  return {
    url: server.url,
    upstream,
    faults,
    logs,
    metrics,
    async dumpTables() {
      await server.idle();
      const all: unknown[] = [];
      for (const table of Object.values(LOCAL_TABLE_NAMES)) {
        const page = await client.send(new ScanCommand({ TableName: table }));
        for (const item of page.Items ?? []) {
          all.push(item);
          for (const value of Object.values(item)) if (value.B) all.push(Buffer.from(value.B).toString('latin1'));
        }
      }
      return JSON.stringify(all);
    },
    keys: { a: a.secret, b: b.secret, aId: a.key.id, bId: b.key.id },
    idle: () => server.idle(),
    async usage() {
      await server.idle();
      const items: Record<string, unknown>[] = [];
      let start: Record<string, any> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: LOCAL_TABLE_NAMES.usage, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) items.push(Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N !== undefined ? Number(v.N) : v.BOOL)])));
        start = page.LastEvaluatedKey;
      } while (start);
      const byRequest = new Map<string, Record<string, unknown>[]>();
      for (const item of items) byRequest.set(item.requestId as string, [...(byRequest.get(item.requestId as string) ?? []), item]);
      return byRequest;
    },
    async close() {
      await server.close(200);
      client.destroy();
      await store.close();
      await upstream.close();
    },
  };
}
