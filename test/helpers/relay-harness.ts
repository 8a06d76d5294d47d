/**
 * Starts the real local relay (dev server: node:http host, in-memory embedded store, local cipher)
 * against a mock upstream, with provider keys stored through the admin path. Captures every log
 * line and banner line so privacy tests can scan them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createClientKey, type CreateKeyInput } from '../../lambda/admin/keys';
import { setProviderKey } from '../../lambda/admin/providers';
import { startDevServer, type DevServer } from '../../lambda/adapters/local-mode';
import { localDynamoClient } from '../../lambda/adapters/local-store';
import { LOCAL_TABLE_NAMES } from '../../lambda/adapters/table-schema';
import type { UsageRecord } from '../../lambda/core/usage';
import { startMockUpstream, type MockUpstream } from './mock-upstream';

export const UPSTREAM_OPENAI_KEY = 'sk-upstream-openai-secret';
export const UPSTREAM_ANTHROPIC_KEY = 'sk-ant-upstream-secret';

export interface Harness {
  readonly relay: DevServer;
  readonly upstream: MockUpstream;
  readonly dataDir: string;
  readonly logs: string[];
  readonly banner: string[];
  /** The key the dev server created on first start. */
  readonly firstKey: { id: string; secret: string };
  createKey(input?: Partial<CreateKeyInput>): Promise<{ id: string; secret: string }>;
  /** Every usage item in the store, raw (all attributes). */
  usageItems(): Promise<Record<string, unknown>[]>;
  usageFor(requestId: string): Promise<UsageRecord | undefined>;
  /** Every item of every table, as JSON text, for content scans. */
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

export function testConfig(upstreamUrl: string, settings: Record<string, number> = {}) {
  return {
    providers: {
      openai: { type: 'openai', baseUrl: `${upstreamUrl}/v1` },
      anthropic: { type: 'anthropic', baseUrl: upstreamUrl },
    },
    models: {
      'gpt-4o-mini': { provider: 'openai' },
      fast: { provider: 'openai', model: 'gpt-4o-mini' },
      'text-embedding-3-small': { provider: 'openai' },
      'claude-sonnet-5-5': { provider: 'anthropic' },
    },
    settings,
  };
}

export async function startHarness(
  options: { settings?: Record<string, number>; upstream?: MockUpstream; withoutProviderKeys?: boolean } = {},
): Promise<Harness> {
  const upstream = options.upstream ?? (await startMockUpstream());
  const dataDir = mkdtempSync(join(tmpdir(), 'mixroute-test-'));
  const configPath = join(dataDir, 'mixroute.config.json');
  writeFileSync(configPath, JSON.stringify(testConfig(upstream.url, options.settings)));
  const logs: string[] = [];
  const banner: string[] = [];
  const relay = await startDevServer({
    dataDir,
    configPath,
    host: '127.0.0.1',
    port: 0,
    out: (line) => banner.push(line),
    logSink: (line) => logs.push(line),
    inMemoryStore: true,
    env: {},
  });
  if (!options.withoutProviderKeys) {
    await setProviderKey(relay.stores.secrets, relay.cipher, 'openai', UPSTREAM_OPENAI_KEY);
    await setProviderKey(relay.stores.secrets, relay.cipher, 'anthropic', UPSTREAM_ANTHROPIC_KEY);
  }
  const client = localDynamoClient(relay.storeEndpoint);

  const scan = async (table: string) => (await client.send(new ScanCommand({ TableName: table }))).Items ?? [];
  const plain = (item: Record<string, { S?: string; N?: string; BOOL?: boolean; B?: Uint8Array; L?: unknown[] }>) =>
    Object.fromEntries(
      Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N !== undefined ? Number(v.N) : v.BOOL ?? (v.B ? Buffer.from(v.B).toString('base64') : v.L))]),
    );

  const harness: Harness = {
    relay,
    upstream,
    dataDir,
    logs,
    banner,
    firstKey: relay.firstKey as { id: string; secret: string },
    async createKey(input = {}) {
      const { key, secret } = await createClientKey(relay.stores.keys, { name: 'test', ...input });
      return { id: key.id, secret };
    },
    async usageItems() {
      await relay.idle();
      return (await scan(LOCAL_TABLE_NAMES.usage)).map(plain);
    },
    async usageFor(requestId) {
      const items = await harness.usageItems();
      return items.find((i) => i.requestId === requestId) as UsageRecord | undefined;
    },
    async dumpTables() {
      await relay.idle();
      const all: Record<string, unknown>[] = [];
      for (const table of Object.values(LOCAL_TABLE_NAMES)) {
        for (const item of await scan(table)) {
          all.push(plain(item));
          // Binary attributes also scanned as raw text.
          for (const value of Object.values(item)) if (value.B) all.push({ raw: Buffer.from(value.B).toString('latin1') });
        }
      }
      return JSON.stringify(all);
    },
    async close() {
      client.destroy();
      await relay.close();
      if (!options.upstream) await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
