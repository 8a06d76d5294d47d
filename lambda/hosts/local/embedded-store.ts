/**
 * The embedded local store: dynalite (DynamoDB's API on LevelDB) in-process on a loopback port,
 * in memory or persisted in a directory. The relay and the admin commands reach it through the
 * very same DynamoDB adapter that serves AWS.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { COUNTERS_TABLE, KEYS_TABLE, LOCAL_TABLE_NAMES, SECRETS_TABLE, USAGE_TABLE, type TableNames } from '../../stores/dynamodb/schema';

export interface EmbeddedStore {
  /** e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1 (a random port unless given). `path` persists it; omit for memory. */
export async function startEmbeddedStore(options: { path?: string; port?: number } = {}): Promise<EmbeddedStore> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** A DynamoDB client for the embedded store (the SDK insists on a region and credentials). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
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
