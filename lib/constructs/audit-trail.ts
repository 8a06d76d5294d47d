import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { relayLogGroup } from './log-group';
import { DEFAULT_TRAIL_RETENTION_DAYS } from '../../lambda/core/privacy';
import { acknowledge } from './nag';

export interface AuditTrailProps {
  readonly key: kms.IKey;
  /** Tables whose data events (reads and changes) are recorded, except those of the relay itself. */
  readonly tables: dynamodb.ITable[];
  /**
   * `userIdentity.arn` prefix of the relay function's sessions. Its own table calls (key lookups by
   * hash, usage writes) are per-request metadata: they are left out of the trail, which keeps files
   * far longer than 7 days. Everyone else's reads and changes of the tables are recorded.
   */
  readonly relaySessionArnPrefix: string;
  /**
   * Days each trail file is locked (Object Lock) and kept. The trail holds no request content.
   * @default 365
   */
  readonly retentionDays?: number;
  /**
   * GOVERNANCE lets principals with s3:BypassGovernanceRetention delete early; COMPLIANCE lets no one.
   * @default 'GOVERNANCE'
   */
  readonly objectLockMode?: 'GOVERNANCE' | 'COMPLIANCE';
}

/**
 * The audit trail: a multi-region CloudTrail trail with log file validation, encrypted with the
 * relay's key, delivered to CloudWatch Logs (7 days) and to an S3 bucket that blocks public access,
 * enforces TLS, is versioned, has Object Lock with a default retention and server access logging.
 * Advanced event selectors record every management event, and data events on the relay's tables by
 * every principal but the relay function: who read or changed keys, secrets and usage is on record,
 * while no copy of per-request metadata (the relay's key lookups and usage writes) enters a trail
 * that outlives the 7-day promise.
 */
export class AuditTrail extends Construct {
  public readonly trail: cloudtrail.Trail;
  public readonly bucket: s3.Bucket;
  public readonly accessLogsBucket: s3.Bucket;
  public readonly logGroup: logs.LogGroup;
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const days = props.retentionDays ?? DEFAULT_TRAIL_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > 36500) throw new Error(`AuditTrail: retentionDays must be an integer from 1 to 36500, got ${days}`);
    this.retentionDays = days;
    const retention = Duration.days(days);

    // Server access logs cannot be delivered to an SSE-KMS bucket, hence S3-managed keys here.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: retention, noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        props.objectLockMode === 'COMPLIANCE' ? s3.ObjectLockRetention.compliance(retention) : s3.ObjectLockRetention.governance(retention),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'trail-bucket/',
      lifecycleRules: [{ expiration: Duration.days(days + 1), noncurrentVersionExpiration: Duration.days(days + 1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.logGroup = relayLogGroup(this, 'Logs', props.key);

    this.trail = new cloudtrail.Trail(this, 'Trail', {
      bucket: this.bucket,
      encryptionKey: props.key,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
      sendToCloudWatchLogs: true,
      cloudWatchLogGroup: this.logGroup,
    });
    for (const bucket of [this.bucket, this.accessLogsBucket]) {
      acknowledge(
        bucket,
        ['NIST.800.53.R5-S3BucketReplicationEnabled', 'HIPAA.Security-S3BucketReplicationEnabled'],
        'Trail files are protected by versioning and Object Lock in place; cross-region replication (a second locked bucket in another region) is left to operators who need regional redundancy.',
      );
    }
    acknowledge(
      this.accessLogsBucket,
      ['NIST.800.53.R5-S3DefaultEncryptionKMS', 'HIPAA.Security-S3DefaultEncryptionKMS'],
      'S3 server access log delivery supports only SSE-S3 on the target bucket; these logs describe access to the trail bucket and hold no request content.',
    );
    const logsRolePolicy = this.trail.node.tryFindChild('LogsRole')?.node.tryFindChild('DefaultPolicy');
    if (logsRolePolicy) {
      acknowledge(
        logsRolePolicy,
        ['NIST.800.53.R5-IAMNoInlinePolicy', 'HIPAA.Security-IAMNoInlinePolicy'],
        "The CloudTrail L2 creates this role and policy itself; it allows only delivery to the trail's own log group.",
      );
    }
    const cfnTrail = this.trail.node.defaultChild as cloudtrail.CfnTrail;
    // A trail has basic or advanced selectors, never both.
    cfnTrail.addPropertyDeletionOverride('EventSelectors');
    cfnTrail.advancedEventSelectors = [
      { name: 'All management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
      {
        name: 'Reads and changes of the relay tables, except by the relay itself',
        fieldSelectors: [
          { field: 'eventCategory', equalTo: ['Data'] },
          { field: 'resources.type', equalTo: ['AWS::DynamoDB::Table'] },
          { field: 'resources.ARN', equalTo: props.tables.map((table) => table.tableArn) },
          { field: 'userIdentity.arn', notStartsWith: [props.relaySessionArnPrefix] },
        ],
      },
    ];
  }
}
