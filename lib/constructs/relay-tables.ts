import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { COUNTERS_TABLE, KEYS_TABLE, SECRETS_TABLE, USAGE_TABLE } from '../../lambda/stores/dynamodb/schema';
import { USAGE_RETENTION_DAYS } from '../../lambda/core/usage';
import { acknowledge } from './nag';

export interface RelayTablesProps {
  /** The customer-managed key that encrypts all the tables. */
  readonly encryptionKey: kms.IKey;
}

/**
 * The relay's DynamoDB tables (`Table`, which cdk-nag inspects; not `TableV2`): client keys (by
 * hash) and provider secrets (ciphertext only), both with PITR and deletion protection and kept
 * on stack delete; and usage, with TTL on `expiresAt` and no backup at all: point-in-time recovery
 * would keep TTL-deleted records restorable for its window on top of the 7 days.
 * Plus the limit counters (numbers per key and period, TTL-expired). All on-demand and encrypted
 * with the relay's key.
 */
export class RelayTables extends Construct {
  public readonly keys: dynamodb.Table;
  public readonly secrets: dynamodb.Table;
  public readonly usage: dynamodb.Table;
  public readonly counters: dynamodb.Table;

  constructor(scope: Construct, id: string, props: RelayTablesProps) {
    super(scope, id);
    const common = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
    };
    this.keys = new dynamodb.Table(this, 'Keys', {
      ...common,
      partitionKey: { name: KEYS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.secrets = new dynamodb.Table(this, 'Secrets', {
      ...common,
      partitionKey: { name: SECRETS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.usage = new dynamodb.Table(this, 'Usage', {
      ...common,
      partitionKey: { name: USAGE_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: USAGE_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: USAGE_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: false },
      // Usage is short-lived by design: deleting the stack deletes it.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.counters = new dynamodb.Table(this, 'Counters', {
      ...common,
      partitionKey: { name: COUNTERS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: COUNTERS_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays: 1 },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.counters,
      ['NIST.800.53.R5-DynamoDBInBackupPlan', 'HIPAA.Security-DynamoDBInBackupPlan'],
      'Limit counters live for one minute, day or month and are rebuilt by traffic; a backup would only restore stale counts.',
    );
    acknowledge(
      this.usage,
      ['NIST.800.53.R5-DynamoDBInBackupPlan', 'HIPAA.Security-DynamoDBInBackupPlan', 'AwsSolutions-DDB3', 'NIST.800.53.R5-DynamoDBPITREnabled', 'HIPAA.Security-DynamoDBPITREnabled'],
      `Usage records must be gone ${USAGE_RETENTION_DAYS} days after the request: any backup or point-in-time recovery window would keep TTL-deleted records restorable beyond that. They are content-free billing records that traffic rebuilds.`,
    );
  }
}
