/** The secrets table: one item per provider with its ciphertext, fingerprint and update time. */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretAdminStore, StoredSecret } from '../../core/ports';
import { fromItem, scanAll, toItem, type Item } from './item';
import { SECRETS_TABLE } from './schema';

const PK = SECRETS_TABLE.partitionKey;

function toStoredSecret(item: Item): StoredSecret | undefined {
  const { ciphertext, fingerprint, updatedAt } = fromItem(item);
  if (!(ciphertext instanceof Uint8Array) || typeof fingerprint !== 'string' || typeof updatedAt !== 'string') return undefined;
  return { ciphertext, fingerprint, updatedAt };
}

export class DynamoSecretStore implements SecretAdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async getProviderSecret(provider: string): Promise<StoredSecret | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.table, Key: toItem({ [PK]: provider }), ConsistentRead: true }));
    return result.Item ? toStoredSecret(result.Item) : undefined;
  }

  async putProviderSecret(provider: string, secret: StoredSecret): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: toItem({ [PK]: provider, ...secret }) }));
  }

  async deleteProviderSecret(provider: string): Promise<boolean> {
    const result = await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: toItem({ [PK]: provider }), ReturnValues: 'ALL_OLD' }));
    return result.Attributes !== undefined;
  }

  async listProviderSecrets(): Promise<(StoredSecret & { provider: string })[]> {
    const items = await scanAll(this.client, { TableName: this.table });
    return items.flatMap((item) => {
      const stored = toStoredSecret(item);
      const provider = fromItem(item)[PK];
      return stored && typeof provider === 'string' ? [{ provider, ...stored }] : [];
    });
  }
}
