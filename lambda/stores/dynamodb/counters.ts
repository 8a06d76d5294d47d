/** The limit counters table: named atomic counters holding numbers only, deleted by TTL. */
import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CounterStore } from '../../core/ports';
import { fromItem, toItem } from './item';
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
