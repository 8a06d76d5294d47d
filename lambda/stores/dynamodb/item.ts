/** Marshalling with @aws-sdk/util-dynamodb (undefined attributes are left out), and a paginated scan. */
import { ConditionalCheckFailedException, ScanCommand, type AttributeValue, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

export type Item = Record<string, AttributeValue>;

export function toItem(record: object): Item {
  return marshall(record, { removeUndefinedValues: true, convertEmptyValues: false });
}

export function fromItem(item: Item): Record<string, unknown> {
  return unmarshall(item);
}

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException';
}

/**
 * Every item a scan returns, page by page. With `segments` > 1 the table is read as a parallel scan
 * (DynamoDB's Segment/TotalSegments), so a large table is read in a fraction of the time.
 */
export async function scanAll(client: DynamoDBClient, input: ScanCommandInput, segments = 1): Promise<Item[]> {
  const scanSegment = async (segment: number): Promise<Item[]> => {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await client.send(new ScanCommand({ ...input, ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}), ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) items.push(item);
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  const parts = await Promise.all(Array.from({ length: Math.max(1, segments) }, (_, segment) => scanSegment(segment)));
  return parts.flat();
}
