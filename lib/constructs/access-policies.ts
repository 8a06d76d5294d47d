import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PROVIDER_SECRET_PURPOSE } from '../../lambda/core/credentials';
import { acknowledge } from './nag';

export interface AccessPoliciesProps {
  readonly keysTable: dynamodb.ITable;
  readonly secretsTable: dynamodb.ITable;
  readonly usageTable: dynamodb.ITable;
  readonly key: kms.IKey;
  readonly trailBucket: s3.IBucket;
  /** Physical names (the alert rules name the policies). */
  readonly operatorPolicyName: string;
  readonly auditorPolicyName: string;
}

/** Table actions an operator needs to manage items (the admin CLI's calls). */
export const OPERATOR_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'];
/** Read-only table actions. */
export const READ_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:DescribeTable'];

/**
 * Two customer-managed policies for people, ready to attach to a role or permission set.
 * Operator: manage client keys and provider secrets (read/write both tables; kms:Encrypt with the
 * provider-secret encryption context; never kms:Decrypt) and read usage.
 * Auditor: read the trail bucket, look up CloudTrail events, read usage; nothing on keys, secrets
 * or decryption. Tables are reached through DynamoDB, which the key policy allows by itself.
 */
export class AccessPolicies extends Construct {
  public readonly operatorPolicy: iam.ManagedPolicy;
  public readonly auditorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: AccessPoliciesProps) {
    super(scope, id);
    this.operatorPolicy = new iam.ManagedPolicy(this, 'Operator', {
      managedPolicyName: props.operatorPolicyName,
      description: 'Mixroute operator: manage client keys and provider secrets, read usage. Cannot decrypt provider secrets.',
      statements: [
        new iam.PolicyStatement({ sid: 'ManageKeysAndSecrets', actions: OPERATOR_TABLE_ACTIONS, resources: [props.keysTable.tableArn, props.secretsTable.tableArn] }),
        new iam.PolicyStatement({ sid: 'ReadUsage', actions: READ_TABLE_ACTIONS, resources: [props.usageTable.tableArn] }),
        new iam.PolicyStatement({
          sid: 'EncryptProviderSecrets',
          actions: ['kms:Encrypt'],
          resources: [props.key.keyArn],
          conditions: { StringEquals: { 'kms:EncryptionContext:purpose': PROVIDER_SECRET_PURPOSE } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadStackOutputs',
          actions: ['cloudformation:DescribeStacks'],
          resources: [Stack.of(this).stackId],
        }),
      ],
    });
    this.auditorPolicy = new iam.ManagedPolicy(this, 'Auditor', {
      managedPolicyName: props.auditorPolicyName,
      description: 'Mixroute auditor: read the audit trail and usage records. No access to keys, secrets or decryption.',
      statements: [
        new iam.PolicyStatement({ sid: 'ReadTrailBucket', actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'], resources: [props.trailBucket.bucketArn, props.trailBucket.arnForObjects('*')] }),
        new iam.PolicyStatement({ sid: 'LookUpTrailEvents', actions: ['cloudtrail:LookupEvents', 'cloudtrail:GetTrailStatus', 'cloudtrail:DescribeTrails'], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'ReadUsage', actions: READ_TABLE_ACTIONS, resources: [props.usageTable.tableArn] }),
      ],
    });
    acknowledge(this.auditorPolicy, ['AwsSolutions-IAM5[Resource::*]'], 'CloudTrail LookupEvents, GetTrailStatus and DescribeTrails do not support resource-level permissions.');
    acknowledge(this.auditorPolicy, [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.trailBucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`], 'Auditors read every trail file in the trail bucket, and nothing else.');
  }
}
