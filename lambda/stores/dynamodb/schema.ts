/**
 * The DynamoDB layout, shared by the stores, the embedded local store and the CDK constructs so the
 * three cannot drift apart. Plain constants: importing this pulls in no AWS SDK.
 */

/** Client keys: `hash#<sha256>` items point at `key#<id>` items that hold the key's settings. */
export const KEYS_TABLE = { partitionKey: 'pk' } as const;
/** Provider secrets: ciphertext, fingerprint and update time, one item per provider. */
export const SECRETS_TABLE = { partitionKey: 'provider' } as const;
/** Usage: one item per request, by key id, sorted by time; DynamoDB TTL deletes it at `expiresAt`. */
export const USAGE_TABLE = { partitionKey: 'keyId', sortKey: 'sk', ttlAttribute: 'expiresAt' } as const;

/** Limit counters (requests per minute, tokens per day and month per key): numbers only, TTL-expired. */
export const COUNTERS_TABLE = { partitionKey: 'counter', ttlAttribute: 'expiresAt' } as const;

export interface TableNames {
  readonly keys: string;
  readonly secrets: string;
  readonly usage: string;
  readonly counters: string;
}

export const LOCAL_TABLE_NAMES: TableNames = {
  keys: 'mixroute-keys',
  secrets: 'mixroute-secrets',
  usage: 'mixroute-usage',
  counters: 'mixroute-counters',
};
