/**
 * KeyStore, UsageStore and SecretStore over @aws-sdk/client-dynamodb. The same code serves AWS and
 * the embedded local store (dynalite); only the client's endpoint differs.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type {
  ClientKey,
  CounterStore,
  KeyAdminStore,
  KeyLimits,
  KeyLookup,
  KeySecret,
  KeyStatus,
  KeyUpdate,
  SecretAdminStore,
  StoredSecret,
  UsageQuery,
  UsageReader,
  UsageStore,
} from '../core/ports';
import { isUsageLive, USAGE_FIELDS, type UsageRecord } from '../core/usage';
import { COUNTERS_TABLE, KEYS_TABLE, SECRETS_TABLE, USAGE_TABLE, type TableNames } from './table-schema';

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

/** Limits are stored as flat numeric attributes of the key item. */
const LIMIT_ATTRIBUTES = { requestsPerMinute: 'rpmLimit', tokensPerDay: 'dailyTokenLimit', tokensPerMonth: 'monthlyTokenLimit' } as const;

function toClientKey(item: Item): ClientKey | undefined {
  const id = str(item, 'keyId');
  const name = str(item, 'name');
  const status = str(item, 'status');
  const createdAt = str(item, 'createdAt');
  const prefix = str(item, 'prefix');
  if (!id || name === undefined || (status !== 'active' && status !== 'revoked') || !createdAt || !prefix) return undefined;
  const expiresAt = str(item, 'expiresAt');
  const rotatedAt = str(item, 'rotatedAt');
  const models = item.models?.L?.map((v) => v.S).filter((v): v is string => typeof v === 'string');
  const limits: Record<string, number> = {};
  for (const [field, attribute] of Object.entries(LIMIT_ATTRIBUTES)) {
    if (item[attribute]?.N !== undefined) limits[field] = Number(item[attribute].N);
  }
  return {
    id,
    name,
    status: status as KeyStatus,
    createdAt,
    prefix,
    ...(expiresAt ? { expiresAt } : {}),
    ...(models ? { models } : {}),
    ...(Object.keys(limits).length > 0 ? { limits: limits as KeyLimits } : {}),
    ...(rotatedAt ? { rotatedAt } : {}),
  };
}

function keyAttributes(key: Omit<ClientKey, 'id'>): Record<string, unknown> {
  const { limits, ...rest } = key;
  const flat: Record<string, unknown> = { ...rest };
  for (const [field, attribute] of Object.entries(LIMIT_ATTRIBUTES)) flat[attribute] = limits?.[field as keyof KeyLimits];
  return flat;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';
}

export class UnknownKeyError extends Error {
  constructor(id: string) {
    super(`unknown key id "${id}" (list them with \`mixroute keys list\`)`);
    this.name = 'UnknownKeyError';
  }
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
    // Eventually consistent, like the hash item: the relay's key cache already tolerates seconds of staleness.
    const key = await this.readKey(keyId, false);
    if (!key) return undefined;
    const notAfter = str(pointer.Item as Item, 'notAfter');
    return notAfter ? { key, secretNotAfter: notAfter } : { key };
  }

  /** Strongly consistent: an admin reads what it has just written. */
  getKey(id: string): Promise<ClientKey | undefined> {
    return this.readKey(id, true);
  }

  private async readKey(id: string, consistent: boolean): Promise<ClientKey | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [KEYS_TABLE.partitionKey]: { S: KEY_ITEM + id } }, ConsistentRead: consistent }));
    return result.Item ? toClientKey(result.Item) : undefined;
  }

  async createKey(key: ClientKey, hash: string): Promise<void> {
    const { id, ...settings } = key;
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshal({ [KEYS_TABLE.partitionKey]: KEY_ITEM + id, keyId: id, ...keyAttributes(settings) }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      }),
    );
    await this.addSecret(id, hash);
  }

  async addSecret(keyId: string, hash: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: marshal({ [KEYS_TABLE.partitionKey]: HASH_ITEM + hash, keyId }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      }),
    );
  }

  async listSecrets(keyId: string): Promise<KeySecret[]> {
    const items = await scanAll(this.client, {
      TableName: this.table,
      FilterExpression: 'begins_with(#pk, :hash) AND keyId = :id',
      ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
      ExpressionAttributeValues: { ':hash': { S: HASH_ITEM }, ':id': { S: keyId } },
      ConsistentRead: true,
    });
    return items.map((item) => {
      const notAfter = str(item, 'notAfter');
      return { hash: (str(item, KEYS_TABLE.partitionKey) as string).slice(HASH_ITEM.length), ...(notAfter ? { notAfter } : {}) };
    });
  }

  async endSecret(hash: string, notAfter: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { [KEYS_TABLE.partitionKey]: { S: HASH_ITEM + hash } },
        UpdateExpression: 'SET notAfter = :end',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': KEYS_TABLE.partitionKey },
        ExpressionAttributeValues: { ':end': { S: notAfter } },
      }),
    );
  }

  async updateKey(id: string, update: KeyUpdate): Promise<ClientKey> {
    const set: string[] = [];
    const remove: string[] = [];
    const names: Record<string, string> = { '#pk': KEYS_TABLE.partitionKey };
    const values: Item = {};
    const assign = (attribute: string, value: unknown) => {
      const name = `#${attribute}`;
      names[name] = attribute;
      if (value === null || value === undefined) {
        remove.push(name);
        return;
      }
      const marshalled = marshal({ v: value }).v;
      values[`:${attribute}`] = marshalled;
      set.push(`${name} = :${attribute}`);
    };
    if (update.name !== undefined) assign('name', update.name);
    if (update.status !== undefined) assign('status', update.status);
    if (update.prefix !== undefined) assign('prefix', update.prefix);
    if (update.rotatedAt !== undefined) assign('rotatedAt', update.rotatedAt);
    if (update.expiresAt !== undefined) assign('expiresAt', update.expiresAt);
    if (update.models !== undefined) assign('models', update.models === null ? null : [...update.models]);
    if (update.limits !== undefined) {
      // The limits given replace the key's limits: one left out is removed.
      for (const [field, attribute] of Object.entries(LIMIT_ATTRIBUTES)) assign(attribute, update.limits?.[field as keyof KeyLimits] ?? null);
    }
    const expression = [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' ');
    if (!expression) {
      const key = await this.getKey(id);
      if (!key) throw new UnknownKeyError(id);
      return key;
    }
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { [KEYS_TABLE.partitionKey]: { S: KEY_ITEM + id } },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toClientKey(result.Attributes ?? {}) as ClientKey;
    } catch (error) {
      if (isConditionFailure(error)) throw new UnknownKeyError(id);
      throw error;
    }
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

export class DynamoCounterStore implements CounterStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async add(name: string, amount: number, expiresAtSeconds: number): Promise<number> {
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { [COUNTERS_TABLE.partitionKey]: { S: name } },
        UpdateExpression: 'ADD #count :amount SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': COUNTERS_TABLE.ttlAttribute },
        ExpressionAttributeValues: { ':amount': { N: String(amount) }, ':ttl': { N: String(expiresAtSeconds) } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(result.Attributes?.count?.N ?? amount);
  }

  async read(names: readonly string[]): Promise<number[]> {
    return Promise.all(
      names.map(async (name) => {
        const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { [COUNTERS_TABLE.partitionKey]: { S: name } }, ConsistentRead: true }));
        return Number(result.Item?.count?.N ?? 0);
      }),
    );
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
      if (isConditionFailure(error)) return;
      throw error;
    }
  }

  /** Writes up to 25 records in one call, retrying what DynamoDB leaves unprocessed. */
  async putBatch(records: readonly UsageRecord[]): Promise<void> {
    let requests = records.map((record) => ({ PutRequest: { Item: marshal({ ...record, [USAGE_TABLE.sortKey]: usageSortKey(record) }) } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      if (attempt > 3) throw new Error(`${requests.length} usage records were left unprocessed`);
      const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } }));
      requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
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

  async deleteProviderSecret(provider: string): Promise<boolean> {
    const result = await this.client.send(
      new DeleteItemCommand({ TableName: this.table, Key: { [SECRETS_TABLE.partitionKey]: { S: provider } }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes !== undefined;
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
