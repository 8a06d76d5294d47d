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

export async function scanAll(client: DynamoDBClient, input: ScanCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
