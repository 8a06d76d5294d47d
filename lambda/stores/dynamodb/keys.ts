/**
 * The keys table: `hash#<sha256>` items point at `key#<id>` items that hold a key's settings. Only
 * hashes of secrets are ever written.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientKey, KeyAdminStore, KeyLimits, KeyLookup, KeySecret, KeyStatus, KeyUpdate } from '../../core/ports';
import { fromItem, isConditionFailure, scanAll, toItem, type Item } from './item';
import { KEYS_TABLE } from './schema';

const KEY_ITEM = 'key#';
const HASH_ITEM = 'hash#';
const PK = KEYS_TABLE.partitionKey;

/** Limits are stored as flat numeric attributes of the key item. */
const LIMIT_ATTRIBUTES = { requestsPerMinute: 'rpmLimit', tokensPerDay: 'dailyTokenLimit', tokensPerMonth: 'monthlyTokenLimit', maxConcurrency: 'concurrencyLimit' } as const;

function toClientKey(item: Item): ClientKey | undefined {
  const value = fromItem(item);
  const { keyId: id, name, status, createdAt, prefix, expiresAt, rotatedAt, models } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof name !== 'string' || (status !== 'active' && status !== 'revoked') || typeof createdAt !== 'string' || typeof prefix !== 'string') return undefined;
  const limits: Record<string, number> = {};
  for (const [field, attribute] of Object.entries(LIMIT_ATTRIBUTES)) {
    if (typeof value[attribute] === 'number') limits[field] = value[attribute] as number;
  }
  return {
    id,
    name,
    status: status as KeyStatus,
    createdAt,
    prefix,
    ...(typeof expiresAt === 'string' ? { expiresAt } : {}),
    ...(Array.isArray(models) ? { models: models.filter((m): m is string => typeof m === 'string') } : {}),
    ...(Object.keys(limits).length > 0 ? { limits: limits as KeyLimits } : {}),
    ...(typeof rotatedAt === 'string' ? { rotatedAt } : {}),
  };
}

function keyAttributes(key: Omit<ClientKey, 'id'>): Record<string, unknown> {
  const { limits, ...rest } = key;
  const flat: Record<string, unknown> = { ...rest };
  for (const [field, attribute] of Object.entries(LIMIT_ATTRIBUTES)) flat[attribute] = limits?.[field as keyof KeyLimits];
  return flat;
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
    const pointer = await this.client.send(new GetItemCommand({ TableName: this.table, Key: toItem({ [PK]: HASH_ITEM + hash }) }));
    const hashItem = pointer.Item ? fromItem(pointer.Item) : undefined;
    if (typeof hashItem?.keyId !== 'string') return undefined;
    // Eventually consistent, like the hash item: the relay's key cache already tolerates seconds of staleness.
    const key = await this.readKey(hashItem.keyId, false);
    if (!key) return undefined;
    return typeof hashItem.notAfter === 'string' ? { key, secretNotAfter: hashItem.notAfter } : { key };
  }

  /** Strongly consistent: an admin reads what it has just written. */
  getKey(id: string): Promise<ClientKey | undefined> {
    return this.readKey(id, true);
  }

  private async readKey(id: string, consistent: boolean): Promise<ClientKey | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: toItem({ [PK]: KEY_ITEM + id }), ConsistentRead: consistent }));
    return result.Item ? toClientKey(result.Item) : undefined;
  }

  async createKey(key: ClientKey, hash: string): Promise<void> {
    const { id, ...settings } = key;
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: toItem({ [PK]: KEY_ITEM + id, keyId: id, ...keyAttributes(settings) }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }),
    );
    await this.addSecret(id, hash);
  }

  async addSecret(keyId: string, hash: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: toItem({ [PK]: HASH_ITEM + hash, keyId }),
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
      }),
    );
  }

  async listSecrets(keyId: string): Promise<KeySecret[]> {
    const items = await scanAll(this.client, {
      TableName: this.table,
      FilterExpression: 'begins_with(#pk, :hash) AND keyId = :id',
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: toItem({ ':hash': HASH_ITEM, ':id': keyId }),
      ConsistentRead: true,
    });
    return items.map((item) => {
      const value = fromItem(item);
      return { hash: String(value[PK]).slice(HASH_ITEM.length), ...(typeof value.notAfter === 'string' ? { notAfter: value.notAfter } : {}) };
    });
  }

  async endSecret(hash: string, notAfter: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: toItem({ [PK]: HASH_ITEM + hash }),
        UpdateExpression: 'SET notAfter = :end',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#pk': PK },
        ExpressionAttributeValues: toItem({ ':end': notAfter }),
      }),
    );
  }

  async updateKey(id: string, update: KeyUpdate): Promise<ClientKey> {
    const set: string[] = [];
    const remove: string[] = [];
    const names: Record<string, string> = { '#pk': PK };
    const values: Record<string, unknown> = {};
    const assign = (attribute: string, value: unknown) => {
      const name = `#${attribute}`;
      names[name] = attribute;
      if (value === null || value === undefined) {
        remove.push(name);
        return;
      }
      values[`:${attribute}`] = value;
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
          Key: toItem({ [PK]: KEY_ITEM + id }),
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: names,
          ...(Object.keys(values).length ? { ExpressionAttributeValues: toItem(values) } : {}),
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
      ExpressionAttributeNames: { '#pk': PK },
      ExpressionAttributeValues: toItem({ ':key': KEY_ITEM }),
    });
    return items
      .map(toClientKey)
      .filter((k): k is ClientKey => k !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
