/**
 * The embedded local store: dynalite (DynamoDB's API on LevelDB), in memory or persisted in a
 * directory, reached only through a Unix socket inside the data dir (mode 0700), so no other local
 * user can reach it, as there is no TCP port. By default it runs as its own child process (like
 * DynamoDB in AWS, its work stays off the relay's event loop), tied to the parent's lifetime. The
 * relay and the admin commands reach it through the very same DynamoDB adapter that serves AWS.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { createConnection } from 'node:net';
import dynalite from 'dynalite';
import { COUNTERS_TABLE, KEYS_TABLE, LOCAL_TABLE_NAMES, SECRETS_TABLE, USAGE_TABLE, type TableNames } from '../../stores/dynamodb/schema';

export interface EmbeddedStore {
  /** The Unix socket the store listens on. */
  readonly socketPath: string;
  /** The store's own process, when it runs in one. */
  readonly pid?: number;
  close(): Promise<void>;
}

export interface EmbeddedStoreOptions {
  /** Where the store listens; its directory must be private to the user (0700). */
  readonly socketPath: string;
  /** Persists the store in this directory; omit to keep it in memory. */
  readonly path?: string;
  /** Run dynalite in this process instead of a child (tests). */
  readonly inProcess?: boolean;
}

const DYNALITE_OPTIONS = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

/** The child process: dynalite on the socket, ready when it says so, gone when its parent is. */
const CHILD_SCRIPT = `
const [dynalitePath, socketPath, path] = process.argv.slice(1);
const fs = require('node:fs');
const server = require(dynalitePath)({ path: path || undefined, ...${JSON.stringify(DYNALITE_OPTIONS)} });
try { fs.rmSync(socketPath, { force: true }); } catch {}
server.listen(socketPath, () => {
  fs.chmodSync(socketPath, 0o600);
  process.send('ready');
});
server.on('error', (error) => { process.stderr.write('embedded store: ' + error.message + '\\n'); process.exit(1); });
const stop = () => { server.close(() => process.exit(0)); if (server.closeAllConnections) server.closeAllConnections(); };
process.on('disconnect', stop);
process.on('message', (m) => m === 'stop' && stop());
process.on('SIGINT', () => undefined);
`;

async function startChild(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD_SCRIPT, require.resolve('dynalite'), options.socketPath, options.path ?? ''], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the embedded store did not start within 20 s')), 20_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the embedded store exited while starting (code ${code}); is another dev server using this data dir?`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    socketPath: options.socketPath,
    pid: child.pid,
    async close() {
      if (child.exitCode === null && child.connected) child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(options.socketPath, { force: true });
    },
  };
}

async function startInProcess(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const server = dynalite({ path: options.path, ...DYNALITE_OPTIONS });
  rmSync(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  chmodSync(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** Starts dynalite on a Unix socket, in a child process unless `inProcess`. */
export function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  return options.inProcess ? startInProcess(options) : startChild(options);
}

/**
 * A DynamoDB client for the embedded store, over its Unix socket (the SDK insists on a region and
 * credentials, which the store ignores), with deadlines so a stuck store cannot stall a caller.
 */
export function localDynamoClient(socketPath: string): DynamoDBClient {
  const agent = new Agent({ keepAlive: true });
  (agent as unknown as { createConnection: () => ReturnType<typeof createConnection> }).createConnection = () => createConnection(socketPath);
  return new DynamoDBClient({
    endpoint: 'http://embedded-store.local',
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true }),
  });
}

async function tableExists(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

/** Creates the relay's tables if missing, with the same keys as the CDK stack's tables. */
export async function ensureTables(client: DynamoDBClient, names: TableNames = LOCAL_TABLE_NAMES): Promise<void> {
  const definitions = [
    { TableName: names.keys, hash: KEYS_TABLE.partitionKey },
    { TableName: names.secrets, hash: SECRETS_TABLE.partitionKey },
    { TableName: names.usage, hash: USAGE_TABLE.partitionKey, range: USAGE_TABLE.sortKey },
    { TableName: names.counters, hash: COUNTERS_TABLE.partitionKey },
  ];
  for (const table of definitions) {
    if (await tableExists(client, table.TableName)) continue;
    await client.send(
      new CreateTableCommand({
        TableName: table.TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: table.hash, AttributeType: 'S' },
          ...(table.range ? [{ AttributeName: table.range, AttributeType: 'S' as const }] : []),
        ],
        KeySchema: [
          { AttributeName: table.hash, KeyType: 'HASH' },
          ...(table.range ? [{ AttributeName: table.range, KeyType: 'RANGE' as const }] : []),
        ],
      }),
    );
  }
}
