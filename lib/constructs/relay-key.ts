import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PROVIDER_SECRET_PURPOSE } from '../../lambda/core/credentials';

export interface RelayKeyProps {
  /**
   * The relay function's role: the only principal that may decrypt, re-encrypt or grant on provider
   * secrets (encryption context `purpose: mixroute-provider-secret`). An ARN built from the role's
   * name (see relayNames), not a reference to the role, which would make a dependency cycle.
   */
  readonly relayRoleArn: string;
  /**
   * What happens to the key when the stack is deleted. Keys are never deleted at once: KMS
   * schedules deletion after a waiting period, and until then ciphertexts can still be read.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The relay's customer-managed KMS key, with yearly rotation. It encrypts the tables, the log
 * groups, the alert topic, the audit trail and the provider secrets. Its policy lets exactly the
 * service principals that need it use it: CloudTrail (writing the trail), CloudWatch Logs in this
 * region (encrypted log groups), and CloudWatch alarms and EventBridge (publishing to the encrypted
 * topic); without these the deploy fails. People and the relay reach the tables through DynamoDB
 * only, and trail log files through S3 only; a direct kms:Decrypt (the provider secrets) is granted
 * by IAM to the relay function alone, and an explicit Deny makes that hold against everyone else:
 * no IAM policy, grant or administrator can decrypt, re-encrypt or grant on the provider-secret
 * encryption context. Administrators keep managing the key (its root statement): rotation, policy,
 * deletion protection. Breaking glass means changing the key policy, which alerts.
 */
export class RelayKey extends Construct {
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: RelayKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Mixroute relay: tables, logs, alerts, audit trail and provider secrets',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const key = this.key;
    const { account, region, partition } = Stack.of(this);

    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsUseOfTheKey',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*` } },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptsLogs',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'],
        resources: ['*'],
        conditions: {
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${partition}:cloudtrail:*:${account}:trail/*` },
          StringEquals: { 'aws:SourceAccount': account },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailDescribesKey',
        principals: [new iam.ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    // As AWS's own aws/dynamodb key does: principals of this account may use the key only through
    // DynamoDB, so table access is governed by DynamoDB permissions alone and no person needs a
    // kms:Decrypt grant (which would also open the provider secrets).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'UseThroughDynamoDbOnlyForThisAccount',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey', 'kms:CreateGrant'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com`, 'kms:CallerAccount': account } },
      }),
    );
    // CloudTrail's recommended statement: log files can be read by principals of this account that
    // may read the trail bucket, and this decrypts trail log files only (by their encryption context).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReadTrailLogFilesThroughS3',
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:ReEncryptFrom'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:CallerAccount': account, 'kms:ViaService': `s3.${region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': `arn:${partition}:cloudtrail:*:${account}:trail/*` },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheRelayDecryptsProviderSecrets',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:ReEncrypt*', 'kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:EncryptionContext:purpose': PROVIDER_SECRET_PURPOSE },
          ArnNotEquals: { 'aws:PrincipalArn': props.relayRoleArn },
        },
      }),
    );
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlarmsAndEventsPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
  }
}
