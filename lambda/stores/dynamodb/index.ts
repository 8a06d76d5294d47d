/**
 * The relay's DynamoDB stores, one per table. The same code serves AWS and the embedded local store
 * (dynalite); only the client's endpoint differs.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoCounterStore } from './counters';
import { DynamoKeyStore } from './keys';
import type { TableNames } from './schema';
import { DynamoSecretStore } from './secrets';
import { DynamoUsageStore } from './usage';

export { DynamoCounterStore } from './counters';
export { DynamoKeyStore, UnknownKeyError } from './keys';
export { DynamoSecretStore } from './secrets';
export { DynamoUsageStore, usageSortKey } from './usage';

export interface DynamoStores {
  readonly keys: DynamoKeyStore;
  readonly usage: DynamoUsageStore;
  readonly secrets: DynamoSecretStore;
  readonly counters: DynamoCounterStore;
}

export function createDynamoStores(client: DynamoDBClient, tables: TableNames): DynamoStores {
  return {
    keys: new DynamoKeyStore(client, tables.keys),
    usage: new DynamoUsageStore(client, tables.usage),
    secrets: new DynamoSecretStore(client, tables.secrets),
    counters: new DynamoCounterStore(client, tables.counters),
  };
}
