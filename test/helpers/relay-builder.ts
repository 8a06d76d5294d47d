/**
 * The one relay builder for tests. It composes the relay exactly as the hosts do, on the store of
 * choice (in-memory ports, the embedded dynalite store, or DynamoDB on moto), against the one
 * upstream fake, with switches that make the key store, the usage store, the counters or the cipher
 * fail. `host: 'in-process'` (the default) calls the core directly; `host: 'http'` serves it with the
 * node:http host; `startDevServerRelay` runs the real dev server (data dir, state file) for CLI suites.
 * Every log line, metric line and stored item can be scanned.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { createClientKey, type CreateKeyInput } from '../../lambda/admin/keys';
import { setProviderKey } from '../../lambda/admin/providers';
import { parseRelayConfig, type RelayConfig } from '../../lambda/core/config';
import type { RelayHandler, RelayResponse } from '../../lambda/core/http';
import { createLogger } from '../../lambda/core/log';
import type { Clock, CounterStore, KeyAdminStore, RuntimeIdentity, SecretAdminStore, SecretCipher, UpstreamClient, UsageReader, UsageStore } from '../../lambda/core/ports';
import type { UsageRecord } from '../../lambda/core/usage';
import { createEmfMetrics } from '../../lambda/hosts/lambda/emf-metrics';
import { startDevServer, type DevServer } from '../../lambda/hosts/local/dev-server';
import { ensureTables, localDynamoClient, startEmbeddedStore, type EmbeddedStore } from '../../lambda/hosts/local/embedded-store';
import { LocalCipher } from '../../lambda/hosts/local/local-cipher';
import { startNodeRelayServer, type NodeRelayServer } from '../../lambda/hosts/local/node-server';
import { createAwsIdentity } from '../../lambda/hosts/shared/aws-identity';
import { composeRelay } from '../../lambda/hosts/shared/compose';
import { createUpstreamClient } from '../../lambda/hosts/shared/upstream-client';
import { PROVIDERS } from '../../lambda/providers/registry';
import { createDynamoStores } from '../../lambda/stores/dynamodb';
import { LOCAL_TABLE_NAMES } from '../../lambda/stores/dynamodb/schema';
import { createMemoryStores } from '../../lambda/stores/memory';
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_REGION } from './bedrock-fake';
import { MOTO_CLIENT_CONFIG } from './moto';
import { startUpstreamFake, type UpstreamFake } from './upstream-fake';

export const UPSTREAM_OPENAI_KEY = 'sk-upstream-openai-secret';
export const UPSTREAM_ANTHROPIC_KEY = 'sk-ant-upstream-secret';

/** The default routes: one provider of each wire format on the fake, and a model per endpoint. */
export function testConfig(upstreamUrl: string, settings: Record<string, unknown> = {}) {
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

/** Failover routes over the fake's two hosts (/a and /b), for fault and concurrency suites. */
export function failoverConfig(upstreamUrl: string, settings: Record<string, unknown> = {}) {
  return {
    providers: {
      primary: { type: 'openai', baseUrl: `${upstreamUrl}/a/v1` },
      backup: { type: 'openai', baseUrl: `${upstreamUrl}/b/v1` },
      claude: { type: 'anthropic', baseUrl: `${upstreamUrl}/a` },
      closed: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1' },
      // Used by one test only, so its secret is never in the relay's cache before it.
      spare: { type: 'anthropic', baseUrl: `${upstreamUrl}/b` },
    },
    models: {
      solo: { provider: 'primary' },
      ha: { candidates: [{ provider: 'primary' }, { provider: 'backup' }] },
      twice: { candidates: [{ provider: 'primary' }, { provider: 'primary' }] },
      'dead-first': { candidates: [{ provider: 'closed' }, { provider: 'backup' }] },
      claude: { provider: 'claude' },
      'claude-spare': { provider: 'spare' },
    },
    settings: { headersTimeoutMs: 400, streamFirstByteTimeoutMs: 400, idleTimeoutMs: 400, totalTimeoutMs: 4000, maxRetryAfterMs: 1500, keyCacheTtlMs: 0, secretCacheTtlMs: 200, ...settings },
  };
}

export interface Faults {
  keyStoreDown: boolean;
  usageStoreDown: boolean;
  countersDown: boolean;
  cipherDown: boolean;
  /** Calls that never answer (a stalled DynamoDB). */
  keyStoreHangs: boolean;
  usageStoreHangs: boolean;
}

export interface CallInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The client key to send as Bearer; null sends none; default: the relay's first key. */
  key?: string | null;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
  readonly requestId: string;
}

export interface TestStores {
  readonly keys: KeyAdminStore;
  readonly usage: UsageStore & UsageReader;
  readonly secrets: SecretAdminStore;
  readonly counters: CounterStore;
}

export interface TestRelay {
  readonly handle: RelayHandler;
  /** The http host's URL (host: 'http' and the dev server only). */
  readonly url: string;
  readonly config: RelayConfig;
  readonly upstream: UpstreamFake;
  readonly stores: TestStores;
  readonly cipher: SecretCipher;
  readonly faults: Faults;
  readonly logs: string[];
  /** The EMF metric lines the relay emitted (what the stack's alarms are built from). */
  readonly metrics: string[];
  /** The first client key. */
  readonly key: { id: string; secret: string };
  /** A second client key, for tenant-isolation tests. */
  readonly otherKey: { id: string; secret: string };
  /** Calls the relay (in process, or over http when it has a host) with the first key unless told otherwise. */
  call(path: string, init?: CallInit): Promise<CallResult>;
  createKey(input?: Partial<CreateKeyInput>): Promise<{ id: string; secret: string }>;
  /** Every usage item (waits for background writes first), with all its attributes. */
  usageItems(): Promise<Record<string, unknown>[]>;
  usageFor(requestId: string): Promise<UsageRecord | undefined>;
  /** Usage items grouped by request id. */
  usageByRequest(): Promise<Map<string, Record<string, unknown>[]>>;
  /** Every item of every table, as text, for content scans. */
  dumpTables(): Promise<string>;
  /** Resolves when background work (usage writes) started so far has settled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface BuildOptions {
  /** Where the stores live (default memory). `moto` needs `motoEndpoint`. */
  readonly store?: 'memory' | 'dynalite' | 'moto';
  readonly motoEndpoint?: string;
  readonly host?: 'in-process' | 'http';
  /** The raw config; default testConfig(upstream.url, settings). */
  readonly config?: (upstreamUrl: string) => unknown;
  readonly settings?: Record<string, unknown>;
  /** A fake to share (not closed by close()); default a new one. */
  readonly upstream?: UpstreamFake;
  readonly echo?: boolean;
  /** Store no provider keys. */
  readonly withoutProviderKeys?: boolean;
  readonly usageRetryDelaysMs?: readonly number[];
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly upstreamClient?: UpstreamClient;
  /** The Bedrock stand-in's URL: the relay gets an AWS identity with the test credentials aimed at it. */
  readonly bedrockUrl?: string;
  /** Or any identity (e.g. one that fails). */
  readonly identity?: RuntimeIdentity;
}

/** The relay's AWS identity in tests: the stand-in's test credentials and region, its endpoint. */
export function testAwsIdentity(bedrockUrl: string): RuntimeIdentity {
  return createAwsIdentity({
    env: {
      AWS_REGION: BEDROCK_TEST_REGION,
      AWS_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrockUrl,
    },
  });
}

/** Bedrock routes on the stand-in next to the upstream fake's Anthropic and OpenAI ones, for failover. */
export function bedrockConfig(upstreamUrl: string, settings: Record<string, unknown> = {}) {
  return {
    providers: {
      bedrock: { type: 'bedrock', region: BEDROCK_TEST_REGION },
      anthropic: { type: 'anthropic', baseUrl: upstreamUrl },
      openai: { type: 'openai', baseUrl: `${upstreamUrl}/v1` },
    },
    models: {
      'claude-bedrock': { provider: 'bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' },
      'llama-bedrock': { provider: 'bedrock', model: 'meta.llama3-3-70b-instruct-v1:0' },
      'claude-ha': { candidates: [{ provider: 'anthropic', model: 'claude-sonnet-5-5' }, { provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' }] },
      'gpt-ha': { candidates: [{ provider: 'openai', model: 'gpt-4o-mini' }, { provider: 'bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }] },
    },
    settings: { maxRetryAfterMs: 0, ...settings },
  };
}

function secretFor(provider: string): string {
  if (provider === 'openai') return UPSTREAM_OPENAI_KEY;
  if (provider === 'anthropic') return UPSTREAM_ANTHROPIC_KEY;
  return `sk-${provider}`;
}

const decoder = new TextDecoder();

async function collect(response: RelayResponse): Promise<string> {
  const body = response.body;
  if (!body) return '';
  if (body instanceof Uint8Array) return decoder.decode(body);
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString('utf8');
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function headersFor(init: CallInit, defaultKey: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const key = init.key === undefined ? defaultKey : init.key;
  if (key !== null && !('authorization' in headers) && !('x-api-key' in headers)) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  return headers;
}

type Plain = Record<string, unknown>;
const plainItem = (item: Record<string, { S?: string; N?: string; BOOL?: boolean; B?: Uint8Array; L?: unknown[] }>): Plain =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? (v.N !== undefined ? Number(v.N) : (v.BOOL ?? (v.B ? Buffer.from(v.B).toString('base64') : v.L)))]));

async function dynamoTables(client: DynamoDBClient, names = LOCAL_TABLE_NAMES) {
  const scan = async (table: string) => {
    const items: Record<string, any>[] = [];
    let start: Record<string, any> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  return {
    usage: async () => (await scan(names.usage)).map(plainItem),
    dump: async () => {
      const all: unknown[] = [];
      for (const table of Object.values(names)) {
        for (const item of await scan(table)) {
          all.push(plainItem(item));
          // Binary attributes also scanned as raw text.
          for (const value of Object.values(item)) if (value.B) all.push({ raw: Buffer.from(value.B).toString('latin1') });
        }
      }
      return JSON.stringify(all);
    },
  };
}

export async function buildRelay(options: BuildOptions = {}): Promise<TestRelay> {
  const upstream = options.upstream ?? (await startUpstreamFake({ echo: options.echo }));
  const rawConfig = options.config ? options.config(upstream.url) : testConfig(upstream.url, options.settings);
  let config: RelayConfig;
  try {
    config = parseRelayConfig(rawConfig, 'local', PROVIDERS);
  } catch (error) {
    if (!options.upstream) await upstream.close();
    throw error;
  }

  let stores: TestStores;
  let dump: () => Promise<string>;
  let usageItems: () => Promise<Plain[]>;
  let closeStore = async () => undefined as void;
  if ((options.store ?? 'memory') === 'memory') {
    const memory = createMemoryStores();
    stores = memory;
    usageItems = async () => [...memory.usage.records.values()].map((r) => ({ ...r }));
    dump = async () => JSON.stringify([memory.keys.snapshot(), memory.secrets.snapshot(), memory.counters.snapshot(), [...memory.usage.records.values()]]);
  } else {
    let client: DynamoDBClient;
    if (options.store === 'moto') {
      if (!options.motoEndpoint) throw new Error('store: moto needs motoEndpoint');
      client = new DynamoDBClient({ ...MOTO_CLIENT_CONFIG, endpoint: options.motoEndpoint });
      await ensureTables(client);
      closeStore = async () => client.destroy();
    } else {
      const socketDir = mkdtempSync(join(tmpdir(), 'mixroute-store-'));
      const embedded: EmbeddedStore = await startEmbeddedStore({ socketPath: join(socketDir, 'store.sock'), inProcess: true });
      client = localDynamoClient(embedded.socketPath);
      await ensureTables(client);
      closeStore = async () => {
        client.destroy();
        await embedded.close();
        rmSync(socketDir, { recursive: true, force: true });
      };
    }
    stores = createDynamoStores(client, LOCAL_TABLE_NAMES);
    const tables = await dynamoTables(client);
    usageItems = tables.usage;
    dump = tables.dump;
  }

  const faults: Faults = { keyStoreDown: false, usageStoreDown: false, countersDown: false, cipherDown: false, keyStoreHangs: false, usageStoreHangs: false };
  const hang = () => new Promise<never>(() => undefined);
  const realCipher = LocalCipher.fromKey(randomBytes(32));
  const cipher: SecretCipher = {
    encrypt: (p, c) => realCipher.encrypt(p, c),
    decrypt: (c, ctx) => (faults.cipherDown ? Promise.reject(new Error('KMS unavailable')) : realCipher.decrypt(c, ctx)),
  };
  const down = () => Promise.reject(new Error('DynamoDB unavailable'));
  if (!options.withoutProviderKeys) {
    for (const provider of config.providers.values()) {
      if (provider.adapter.credential === 'stored-secret') await setProviderKey(stores.secrets, cipher, provider.name, secretFor(provider.name));
    }
  }
  const first = await createClientKey(stores.keys, { name: 'first' });
  const other = await createClientKey(stores.keys, { name: 'other' });

  const logs: string[] = [];
  const metrics: string[] = [];
  const upstreamClient = options.upstreamClient ?? createUpstreamClient({ connectTimeoutMs: config.settings.connectTimeoutMs });
  const relay = composeRelay({
    config,
    keys: { findByHash: (hash) => (faults.keyStoreHangs ? hang() : faults.keyStoreDown ? down() : stores.keys.findByHash(hash)) },
    usage: { put: (record) => (faults.usageStoreHangs ? hang() : faults.usageStoreDown ? down() : stores.usage.put(record)) },
    secrets: stores.secrets,
    counters: {
      add: (name, amount, ttl) => (faults.countersDown ? down() : stores.counters.add(name, amount, ttl)),
      read: (names) => (faults.countersDown ? down() : stores.counters.read(names)),
      addIfBelow: (name, amount, below, ttl) => (faults.countersDown ? down() : stores.counters.addIfBelow(name, amount, below, ttl)),
      acquireSlot: (name, max, lease, now) => (faults.countersDown ? down() : stores.counters.acquireSlot(name, max, lease, now)),
    },
    cipher,
    logger: createLogger((line) => logs.push(line)),
    metrics: createEmfMetrics('Mixroute/test', (line) => metrics.push(line)),
    usageRetryDelaysMs: options.usageRetryDelaysMs ?? [10, 20],
    upstream: upstreamClient,
    clock: options.clock,
    random: options.random,
    identity: options.identity ?? (options.bedrockUrl ? testAwsIdentity(options.bedrockUrl) : undefined),
  });

  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const settled = work.catch(() => undefined).finally(() => pending.delete(settled));
    pending.add(settled);
  };
  let server: NodeRelayServer | undefined;
  if (options.host === 'http') server = await startNodeRelayServer(relay.handle, { host: '127.0.0.1', port: 0 });
  const idle = async () => {
    if (server) await server.idle();
    while (pending.size > 0) await Promise.all([...pending]);
  };

  const call = async (path: string, init: CallInit = {}): Promise<CallResult> => {
    const headers = headersFor(init, first.secret);
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    if (server) {
      const response = await fetch(server.url + path, { method, headers, body: init.body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: safeJson(text), requestId: response.headers.get('x-request-id') as string };
    }
    const queryAt = path.indexOf('?');
    const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
    const response = await relay.handle(
      { method, path: queryAt < 0 ? path : path.slice(0, queryAt), query: queryAt < 0 ? '' : path.slice(queryAt + 1), headers, body },
      { waitUntil: track },
    );
    const text = await collect(response);
    return { status: response.status, headers: new Headers(response.headers), text, json: safeJson(text), requestId: response.headers['x-request-id'] };
  };

  const built: TestRelay = {
    handle: relay.handle,
    url: server?.url ?? 'in-process://relay',
    config,
    upstream,
    stores,
    cipher,
    faults,
    logs,
    metrics,
    key: { id: first.key.id, secret: first.secret },
    otherKey: { id: other.key.id, secret: other.secret },
    call,
    async createKey(input = {}) {
      const { key, secret } = await createClientKey(stores.keys, { name: 'test', ...input });
      return { id: key.id, secret };
    },
    async usageItems() {
      await idle();
      return usageItems();
    },
    async usageFor(requestId) {
      return (await built.usageItems()).find((i) => i.requestId === requestId) as UsageRecord | undefined;
    },
    async usageByRequest() {
      const byRequest = new Map<string, Plain[]>();
      for (const item of await built.usageItems()) byRequest.set(item.requestId as string, [...(byRequest.get(item.requestId as string) ?? []), item]);
      return byRequest;
    },
    async dumpTables() {
      await idle();
      return dump();
    },
    idle,
    async close() {
      if (server) await server.close(200);
      await idle();
      (upstreamClient as { close?: () => void }).close?.();
      await closeStore();
      if (!options.upstream) await upstream.close();
    },
  };
  return built;
}

export interface DevServerRelay {
  readonly server: DevServer;
  readonly url: string;
  readonly upstream: UpstreamFake;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logs: string[];
  readonly banner: string[];
  /** The key the dev server created on first start. */
  readonly firstKey: { id: string; secret: string };
  createKey(input?: Partial<CreateKeyInput>): Promise<{ id: string; secret: string }>;
  usageItems(): Promise<Record<string, unknown>[]>;
  usageFor(requestId: string): Promise<UsageRecord | undefined>;
  dumpTables(): Promise<string>;
  close(): Promise<void>;
}

/** The real dev server (node:http host, in-memory embedded store, local cipher, state file in a fresh data dir). */
export async function startDevServerRelay(
  options: {
    settings?: Record<string, unknown>;
    upstream?: UpstreamFake;
    withoutProviderKeys?: boolean;
    config?: (upstreamUrl: string) => unknown;
    /** The dev server's environment (default empty: no AWS credentials, no region). */
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<DevServerRelay> {
  const upstream = options.upstream ?? (await startUpstreamFake());
  const dataDir = mkdtempSync(join(tmpdir(), 'mixroute-test-'));
  const configPath = join(dataDir, 'mixroute.config.json');
  writeFileSync(configPath, JSON.stringify(options.config ? options.config(upstream.url) : testConfig(upstream.url, options.settings)));
  const logs: string[] = [];
  const banner: string[] = [];
  const server = await startDevServer({
    dataDir,
    configPath,
    host: '127.0.0.1',
    port: 0,
    out: (line) => banner.push(line),
    logSink: (line) => logs.push(line),
    inMemoryStore: true,
    env: options.env ?? {},
  });
  if (!options.withoutProviderKeys) {
    for (const provider of server.config.providers.values()) {
      if (provider.adapter.credential === 'stored-secret') await setProviderKey(server.stores.secrets, server.cipher, provider.name, secretFor(provider.name));
    }
  }
  const client = localDynamoClient(server.storeSocket);
  const tables = await dynamoTables(client);
  const relay: DevServerRelay = {
    server,
    url: server.url,
    upstream,
    dataDir,
    configPath,
    logs,
    banner,
    firstKey: server.firstKey as { id: string; secret: string },
    async createKey(input = {}) {
      const { key, secret } = await createClientKey(server.stores.keys, { name: 'test', ...input });
      return { id: key.id, secret };
    },
    async usageItems() {
      await server.idle();
      return tables.usage();
    },
    async usageFor(requestId) {
      return (await relay.usageItems()).find((i) => i.requestId === requestId) as UsageRecord | undefined;
    },
    async dumpTables() {
      await server.idle();
      return tables.dump();
    },
    async close() {
      client.destroy();
      await server.close();
      if (!options.upstream) await upstream.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return relay;
}
