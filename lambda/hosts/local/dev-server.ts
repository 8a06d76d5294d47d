/**
 * Local mode: the dev server (node:http host + embedded store + local cipher) and the way admin
 * commands find a running dev server through a small state file in the data dir.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { createClientKey } from '../../admin/keys';
import { parseRelayConfig, parseRelayConfigText, type RelayConfig } from '../../core/config';
import { createLogger, type LogSink } from '../../core/log';
import type { UpstreamClient } from '../../core/ports';
import { PROVIDERS } from '../../providers/registry';
import { createDynamoStores, type DynamoStores } from '../../stores/dynamodb';
import { LOCAL_TABLE_NAMES } from '../../stores/dynamodb/schema';
import { createAwsIdentity } from '../shared/aws-identity';
import { composeRelay } from '../shared/compose';
import { ensureTables, localDynamoClient, startEmbeddedStore } from './embedded-store';
import { LocalCipher } from './local-cipher';
import { startNodeRelayServer, type NodeServerLimits } from './node-server';
import { BatchingUsageWriter } from './usage-batcher';

export const STATE_FILE = 'dev-server.json';
const STORE_DIR = 'store';

export interface DevServerState {
  readonly pid: number;
  /** The embedded store's Unix socket (in a 0700 directory: only this user can reach it). */
  readonly storeSocket: string;
  /** The embedded store's own process. */
  readonly storePid?: number;
  readonly relayUrl: string;
  /** The config file the server runs with (absolute), so admin commands on this data dir use it too. */
  readonly configPath: string;
  readonly startedAt: string;
}

export class DevServerNotRunningError extends Error {
  constructor(dataDir: string) {
    super(`no dev server is running on data dir ${dataDir}; start it with \`npm start\` (or \`npx mixroute dev --data-dir ${dataDir}\`) in another terminal`);
    this.name = 'DevServerNotRunningError';
  }
}

/** Loads the config file; a missing file means "no providers yet", not an error. */
export function loadLocalConfig(path: string): { config: RelayConfig; found: boolean } {
  if (!existsSync(path)) return { config: parseRelayConfig({}, 'local', PROVIDERS), found: false };
  return { config: parseRelayConfigText(readFileSync(path, 'utf8'), 'local', path, PROVIDERS), found: true };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readDevServerState(dataDir: string): DevServerState | undefined {
  const file = join(dataDir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as DevServerState;
    return typeof state.pid === 'number' && isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

function writeState(dataDir: string, state: DevServerState): void {
  const file = join(dataDir, STATE_FILE);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(temporary, file);
}

/** Longest socket path that fits every platform's sockaddr_un. */
const MAX_SOCKET_PATH = 100;

/**
 * The store's socket, in a directory only this user can enter: `<data dir>/run` (0700, ours), or
 * a fresh private directory under the system temp dir when that path is too long for a socket.
 */
function privateSocketPath(dataDir: string): { socket: string; temporaryDir?: string } {
  const runDir = join(dataDir, 'run');
  const socket = join(runDir, 'store.sock');
  if (socket.length <= MAX_SOCKET_PATH) {
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const info = statSync(runDir);
    if (typeof process.getuid === 'function' && info.uid !== process.getuid()) throw new Error(`${runDir} belongs to another user; remove it or pick another --data-dir`);
    chmodSync(runDir, 0o700);
    return { socket };
  }
  const temporaryDir = mkdtempSync(join(tmpdir(), 'mixroute-run-'));
  return { socket: join(temporaryDir, 'store.sock'), temporaryDir };
}

export interface LocalAdminContext {
  readonly client: DynamoDBClient;
  readonly stores: DynamoStores;
  readonly cipher: LocalCipher;
  readonly state: DevServerState;
}

/** For admin commands: the running dev server's store, through the same DynamoDB adapter as AWS. */
export function connectToDevServer(dataDir: string): LocalAdminContext {
  const state = readDevServerState(dataDir);
  if (!state) throw new DevServerNotRunningError(dataDir);
  const client = localDynamoClient(state.storeSocket);
  return { client, stores: createDynamoStores(client, LOCAL_TABLE_NAMES), cipher: LocalCipher.open(dataDir), state };
}

export interface DevServerOptions {
  readonly dataDir: string;
  readonly configPath: string;
  readonly host: string;
  readonly port: number;
  /** Where the human-readable banner goes (the terminal: stderr), the first client key included. */
  readonly out: (line: string) => void;
  /** Where the JSON request log goes (stdout); never the banner or the first key. */
  readonly logSink: LogSink;
  /** The node:http host's limits (slow clients, connections). */
  readonly serverLimits?: NodeServerLimits;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep the store in memory instead of the data dir (tests). */
  readonly inMemoryStore?: boolean;
  readonly upstream?: UpstreamClient;
}

/** The region of the developer's AWS profile, resolved the SDK's standard way (env, then ~/.aws/config; files only, no network). */
async function profileRegion(): Promise<string | undefined> {
  try {
    return await loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
  } catch {
    return undefined;
  }
}

export interface DevServer {
  readonly url: string;
  readonly storeSocket: string;
  readonly config: RelayConfig;
  readonly stores: DynamoStores;
  readonly cipher: LocalCipher;
  /** The key created on first start, if this start created one (tests use it; people read it once). */
  readonly firstKey?: { id: string; secret: string };
  /** Resolves when background work (usage writes) started so far has settled. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const dataDir = resolve(options.dataDir);
  const { config, found } = loadLocalConfig(options.configPath);
  const running = readDevServerState(dataDir);
  if (running) throw new Error(`a dev server (pid ${running.pid}) is already running on data dir ${dataDir} at ${running.relayUrl}`);

  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const storePath = join(dataDir, STORE_DIR);
  const freshStore = options.inMemoryStore || !existsSync(storePath);
  if (!options.inMemoryStore) mkdirSync(storePath, { recursive: true, mode: 0o700 });
  const socket = privateSocketPath(dataDir);
  const store = await startEmbeddedStore({ socketPath: socket.socket, path: options.inMemoryStore ? undefined : storePath, inProcess: options.inMemoryStore });
  const client = localDynamoClient(store.socketPath);
  try {
    await ensureTables(client);
  } catch (error) {
    await store.close();
    throw error;
  }
  const stores = createDynamoStores(client, LOCAL_TABLE_NAMES);
  const cipher = LocalCipher.open(dataDir);

  let firstKey: DevServer['firstKey'];
  if (freshStore && (await stores.keys.listKeys()).length === 0) {
    const created = await createClientKey(stores.keys, { name: 'default' });
    firstKey = { id: created.key.id, secret: created.secret };
  }

  const env = options.env ?? process.env;
  const relay = composeRelay({
    config,
    keys: stores.keys,
    // Batched: one BatchWriteItem carries up to 25 records gathered over 50 ms (the Lambda writes one per invocation).
    usage: new BatchingUsageWriter(stores.usage, { lingerMs: 50 }),
    secrets: stores.secrets,
    counters: stores.counters,
    cipher,
    logger: createLogger(options.logSink),
    env: (name) => env[name],
    upstream: options.upstream,
    // Bedrock with the developer's own AWS configuration (environment, profile, SSO).
    identity: createAwsIdentity({ env, profileRegion: profileRegion }),
  });
  let server;
  try {
    server = await startNodeRelayServer(relay.handle, { host: options.host, port: options.port, ...options.serverLimits });
  } catch (error) {
    await store.close();
    throw error;
  }
  const state: DevServerState = {
    pid: process.pid,
    storeSocket: store.socketPath,
    ...(store.pid ? { storePid: store.pid } : {}),
    relayUrl: server.url,
    configPath: resolve(options.configPath),
    startedAt: new Date().toISOString(),
  };
  writeState(dataDir, state);

  await printBanner(options, { url: server.url, dataDir, found, config, stores, env, firstKey });

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    storeSocket: store.socketPath,
    config,
    stores,
    cipher,
    firstKey,
    idle: server.idle,
    close() {
      closing ??= (async () => {
        await server.close();
        client.destroy();
        await store.close();
        if (socket.temporaryDir) rmSync(socket.temporaryDir, { recursive: true, force: true });
        if (readDevServerState(dataDir)?.pid === process.pid) rmSync(join(dataDir, STATE_FILE), { force: true });
      })();
      return closing;
    },
  };
}

async function printBanner(
  options: DevServerOptions,
  info: {
    url: string;
    dataDir: string;
    found: boolean;
    config: RelayConfig;
    stores: DynamoStores;
    env: NodeJS.ProcessEnv;
    firstKey?: { id: string; secret: string };
  },
): Promise<void> {
  const out = options.out;
  out(`Mixroute relay (local mode) listening on ${info.url}`);
  out(`  data dir: ${info.dataDir}`);
  out(`  config:   ${options.configPath}${info.found ? '' : ' (not found: no providers configured)'}`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(options.host)) {
    out(`  warning: listening on ${options.host} over plain http; keys cross the network unencrypted. Use 127.0.0.1 or put TLS in front.`);
  }
  if (info.firstKey) {
    out('');
    out(`Your first client key (${info.firstKey.id}); it is shown only this once, so store it now:`);
    out(`  ${info.firstKey.secret}`);
    out('Create more with: npx mixroute keys create --name NAME');
  }
  out('');
  if (info.config.providers.size === 0) {
    out('No provider is configured yet. To add one:');
    out('  1. cp mixroute.config.example.json mixroute.config.json   (or write your own; see README)');
    out('  2. printenv OPENAI_API_KEY | npx mixroute providers set-key openai');
    out('  3. restart: npm start');
  } else {
    const stored = new Set((await info.stores.secrets.listProviderSecrets()).map((s) => s.provider));
    out('Providers:');
    for (const provider of info.config.providers.values()) {
      const fromEnv = provider.apiKeyEnv && info.env[provider.apiKeyEnv] ? `key from $${provider.apiKeyEnv}` : undefined;
      const status =
        provider.adapter.credential === 'runtime-role'
          ? 'IAM: signed with the AWS credentials this dev server runs with (environment, profile or SSO); no key to store'
          : provider.adapter.credential === 'none'
            ? 'no key needed'
            : fromEnv ?? (stored.has(provider.name) ? 'key set' : `no key yet: run \`npx mixroute providers set-key ${provider.name}\`${provider.apiKeyEnv ? ` or set $${provider.apiKeyEnv}` : ''}`);
      out(`  ${provider.name} (${provider.type}, ${provider.baseUrl}): ${status}`);
    }
    out(`Models: ${[...info.config.models.keys()].join(', ') || '(none: add "models" to the config)'}`);
  }
  out('');
}

