/**
 * The usage table: one item per request, by key id, sorted by time and request id; DynamoDB's TTL
 * deletes it at `expiresAt`, and reads exclude expired items before that.
 */
import { BatchWriteItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { UsageQuery, UsageReader, UsageStore } from '../../core/ports';
import { isUsageLive, USAGE_FIELDS, type UsageRecord } from '../../core/usage';
import { fromItem, isConditionFailure, scanAll, toItem, type Item } from './item';
import { USAGE_TABLE } from './schema';

export function usageSortKey(record: Pick<UsageRecord, 'timestamp' | 'requestId'>): string {
  return `${record.timestamp}#${record.requestId}`;
}

function usageItem(record: UsageRecord): Item {
  return toItem({ ...record, [USAGE_TABLE.sortKey]: usageSortKey(record) });
}

/** Only the fixed usage fields come back, whatever else an item holds. */
function toUsageRecord(item: Item): UsageRecord {
  const value = fromItem(item);
  const record: Record<string, unknown> = {};
  for (const name of Object.keys(USAGE_FIELDS)) if (value[name] !== undefined) record[name] = value[name];
  return record as unknown as UsageRecord;
}

/** A period's records are read as a parallel scan in this many segments (7 days can be 100,000s of records). */
const USAGE_SCAN_SEGMENTS = 4;

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
          Item: usageItem(record),
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
    let requests = records.map((record) => ({ PutRequest: { Item: usageItem(record) } }));
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
    const names = { '#sk': USAGE_TABLE.sortKey, '#ttl': USAGE_TABLE.ttlAttribute };
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
            ExpressionAttributeNames: { ...names, '#pk': USAGE_TABLE.partitionKey },
            ExpressionAttributeValues: toItem({ ':key': query.keyId, ':since': since, ':now': nowSeconds }),
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
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: toItem({ ':since': since, ':now': nowSeconds }),
      }, USAGE_SCAN_SEGMENTS);
    }
    // The filter above already excludes expired items; checking again keeps the promise even if a
    // store ignores the filter.
    return items.map(toUsageRecord).filter((r) => isUsageLive(r, query.nowMs));
  }
}
