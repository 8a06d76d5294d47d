/** The limit counters table: named atomic counters holding numbers only, deleted by TTL. */
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CounterStore } from '../../core/ports';
import { fromItem, isConditionFailure, toItem } from './item';
import { COUNTERS_TABLE } from './schema';

const PK = COUNTERS_TABLE.partitionKey;

export class DynamoCounterStore implements CounterStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async add(name: string, amount: number, expiresAtSeconds: number): Promise<number> {
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: toItem({ [PK]: name }),
        UpdateExpression: 'ADD #count :amount SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#count': 'count', '#ttl': COUNTERS_TABLE.ttlAttribute },
        ExpressionAttributeValues: toItem({ ':amount': amount, ':ttl': expiresAtSeconds }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const count = result.Attributes ? fromItem(result.Attributes).count : undefined;
    return typeof count === 'number' ? count : amount;
  }

  async addIfBelow(name: string, amount: number, below: number, expiresAtSeconds: number): Promise<boolean> {
    return this.updateIf(name, {
      UpdateExpression: 'ADD #count :amount SET #ttl = if_not_exists(#ttl, :ttl)',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :below',
      values: { ':amount': amount, ':ttl': expiresAtSeconds, ':below': below },
    });
  }

  async acquireSlot(name: string, max: number, leaseUntilSeconds: number, nowSeconds: number): Promise<boolean> {
    // The common case: fewer than max open; one conditional update that also renews the lease.
    const acquired = await this.updateIf(name, {
      UpdateExpression: 'ADD #count :one SET #ttl = :lease',
      ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
      values: { ':one': 1, ':lease': leaseUntilSeconds, ':max': max },
    });
    if (acquired) return true;
    // Full, unless the lease ran out: then every counted request is long gone; start again at 1.
    return this.updateIf(name, {
      UpdateExpression: 'SET #count = :one, #ttl = :lease',
      ConditionExpression: '#ttl < :now',
      values: { ':one': 1, ':lease': leaseUntilSeconds, ':now': nowSeconds },
    });
  }

  /** One conditional update of a counter: false when its condition does not hold. */
  private async updateIf(name: string, update: { UpdateExpression: string; ConditionExpression: string; values: Record<string, number> }): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: toItem({ [PK]: name }),
          UpdateExpression: update.UpdateExpression,
          ConditionExpression: update.ConditionExpression,
          ExpressionAttributeNames: { '#count': 'count', '#ttl': COUNTERS_TABLE.ttlAttribute },
          ExpressionAttributeValues: toItem(update.values),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async read(names: readonly string[]): Promise<number[]> {
    return Promise.all(
      names.map(async (name) => {
        const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: toItem({ [PK]: name }), ConsistentRead: true }));
        const count = result.Item ? fromItem(result.Item).count : undefined;
        return typeof count === 'number' ? count : 0;
      }),
    );
  }
}
