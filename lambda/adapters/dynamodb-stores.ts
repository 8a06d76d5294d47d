/**
 * KeyStore, UsageStore and SecretStore over @aws-sdk/client-dynamodb. The same code serves AWS and
 * the embedded local store (dynalite); only the client's endpoint differs.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type {
  ClientKey,
  KeyAdminStore,
  KeyLookup,
  KeyStatus,
  SecretAdminStore,
  StoredSecret,
  UsageQuery,
  UsageReader,
  UsageStore,
} from '../core/ports';
import { isUsageLive, USAGE_FIELDS, type UsageRecord } from '../core/usage';
import { KEYS_TABLE, SECRETS_TABLE, USAGE_TABLE, type TableNames } from './table-schema';

type Item = Record<string, AttributeValue>;

function str(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

/** Marshals a flat record of strings, numbers, booleans and string lists; undefined is left out. */
function marshal(record: Record<string, unknown>): Item {
  const item: Item = {};
  for (const [name, value] of Object.entries(record)) {
    if (typeof value === 'string') item[name] = { S: value };
    else if (typeof value === 'number') item[name] = { N: String(value) };
    else if (typeof value === 'boolean') item[name] = { BOOL: value };
    else if (Array.isArray(value)) item[name] = { L: value.map((v) => ({ S: String(v) })) };
    else if (value instanceof Uint8Array) item[name] = { B: value };
  }
  return item;
}

async function scanAll(client: DynamoDBClient, input: ConstructorParameters<typeof ScanCommand>[0]): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const KEY_ITEM = 'key#';
const HASH_ITEM = 'hash#';

function toClientKey(item: Item): ClientKey | undefined {
  const id = str(item, 'keyId');
  const name = str(item, 'name');
  const status = str(item, 'status');
  const createdAt = str(item, 'createdAt');
  const prefix = str(item, 'prefix');
  if (!id || name === undefined || (status !== 'active' && status !== 'revoked') || !createdAt || !prefix) return undefined;
  const expiresAt = str(item, 'expiresAt');
  const models = item.models?.L?.map((v) => v.S).filter((v): v is string => typeof v === 'string');
  return {
    id,
    name,
    status: status as KeyStatus,
    createdAt,
    prefix,
    ...(expiresAt ? { expiresAt } : {}),
    ...(models ? { models } : {}),
  };
}

export class DynamoKeyStore implements KeyAdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async findByHash(hash: string): Promise<KeyLookup | undefined> {
    const pointer = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [KEYS_TABLE.partitionKey]: { S: HASH_ITEM + hash } } }));
    const keyId = pointer.Item && str(pointer.Item, 'keyId');
    if (!keyId) return undefined;
    const key = await this.getKey(keyId);
    if (!key) return undefined;
    const notAfter = str(pointer.Item as Item, 'notAfter');
    return notAfter ? { key, secretNotAfter: notAfter } : { key };
  }

  async getKey(id: string): Promise<ClientKey | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [KEYS_TABLE.partitionKey]: { S: KEY_ITEM + id } } }));
    return result.Item ? toClientKey(result.Item) : undefined;
  }

  async createKey(key: ClientKey, hash: string): Promise<void> {
    const { id, ...settings } = key;
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshal({ [KEYS_TABLE.partitionKey]: KEY_ITEM + id, keyId: id, ...settings }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      }),
    );
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshal({ [KEYS_TABLE.partitionKey]: HASH_ITEM + hash, keyId: id }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      }),
    );
  }

  async listKeys(): Promise<ClientKey[]> {
    const items = await scanAll(this.client, {
      TableName: this.table,
      FilterExpression: 'begins_with(#pk, :key)',
      ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      ExpressionAttributeValues: { ':key': { S: KEY_ITEM } },
    });
    return items
      .map(toClientKey)
      .filter((k): k is ClientKey => k !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}

export function usageSortKey(record: Pick<UsageRecord, 'timestamp' | 'requestId'>): string {
  return `${record.timestamp}#${record.requestId}`;
}

function toUsageRecord(item: Item): UsageRecord {
  const record: Record<string, unknown> = {};
  for (const name of Object.keys(USAGE_FIELDS)) {
    const value = item[name];
    if (!value) continue;
    if (value.S !== undefined) record[name] = value.S;
    else if (value.N !== undefined) record[name] = Number(value.N);
    else if (value.BOOL !== undefined) record[name] = value.BOOL;
  }
  return record as unknown as UsageRecord;
}

export class DynamoUsageStore implements UsageStore, UsageReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  /** Conditional on the request id's sort key: a retried write never doubles a record. */
  async put(record: UsageRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: marshal({ ...record, [USAGE_TABLE.sortKey]: usageSortKey(record) }),
          ConditionExpression: 'attribute_not_exists(#sk)',
          ExpressionAttributeNames: { '#sk': USAGE_TABLE.sortKey },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return;
      throw error;
    }
  }

  async queryUsage(query: UsageQuery): Promise<UsageRecord[]> {
    const since = new Date(query.sinceMs).toISOString();
    const nowSeconds = Math.floor(query.nowMs / 1000);
    let items: Item[];
    if (query.keyId) {
      items = [];
      let start: Item | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: '#pk = :key AND #sk >= :since',
            FilterExpression: '#ttl > :now',
            ExpressionAttributeNames: { '#pk': USAGE_TABLE.partitionKey, '#sk': USAGE_TABLE.sortKey, '#ttl': USAGE_TABLE.ttlAttribute },
            ExpressionAttributeValues: { ':key': { S: query.keyId }, ':since': { S: since }, ':now': { N: String(nowSeconds) } },
            ExclusiveStartKey: start,
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
    } else {
      items = await scanAll(this.client, {
        TableName: this.table,
        FilterExpression: '#sk >= :since AND #ttl > :now',
        ExpressionAttributeNames: { '#sk': USAGE_TABLE.sortKey, '#ttl': USAGE_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':since': { S: since }, ':now': { N: String(nowSeconds) } },
      });
    }
    // The filter above already excludes expired items; checking again keeps the promise even if a
    // store ignores the filter.
    return items.map(toUsageRecord).filter((r) => isUsageLive(r, query.nowMs));
  }
}

export class DynamoSecretStore implements SecretAdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async getProviderSecret(provider: string): Promise<StoredSecret | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [SECRETS_TABLE.partitionKey]: { S: provider } }, ConsistentRead: true }));
    return result.Item ? toStoredSecret(result.Item) : undefined;
  }

  async putProviderSecret(provider: string, secret: StoredSecret): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshal({ [SECRETS_TABLE.partitionKey]: provider, ...secret }),
      }),
    );
  }

  async listProviderSecrets(): Promise<(StoredSecret & { provider: string })[]> {
    const items = await scanAll(this.client, { TableName: this.table });
    return items.flatMap((item) => {
      const stored = toStoredSecret(item);
      const provider = str(item, SECRETS_TABLE.partitionKey);
      return stored && provider ? [{ provider, ...stored }] : [];
    });
  }
}

function toStoredSecret(item: Item): StoredSecret | undefined {
  const ciphertext = item.ciphertext?.B;
  const fingerprint = str(item, 'fingerprint');
  const updatedAt = str(item, 'updatedAt');
  if (!ciphertext || !fingerprint || !updatedAt) return undefined;
  return { ciphertext, fingerprint, updatedAt };
}

export interface DynamoStores {
  readonly keys: DynamoKeyStore;
  readonly usage: DynamoUsageStore;
  readonly secrets: DynamoSecretStore;
}

export function createDynamoStores(client: DynamoDBClient, tables: TableNames): DynamoStores {
  return {
    keys: new DynamoKeyStore(client, tables.keys),
    usage: new DynamoUsageStore(client, tables.usage),
    secrets: new DynamoSecretStore(client, tables.secrets),
  };
}
