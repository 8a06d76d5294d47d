import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { BACKUP_RETENTION_DAYS } from '../../lambda/core/privacy';

export interface RelayBackupsProps {
  /** Tables whose data must survive: client keys and provider secrets. Never the usage table. */
  readonly tables: dynamodb.ITable[];
  readonly key: kms.IKey;
  /**
   * Days each daily backup is kept.
   * @default 35
   */
  readonly retentionDays?: number;
}

/**
 * Backups where data must survive: a daily AWS Backup plan for the keys and secrets tables, into a
 * vault encrypted with the relay's key. (Their PITR covers the last 35 days to the second.) The
 * usage table is left out on purpose: its only backup is a PITR window no longer than 7 days.
 */
export class RelayBackups extends Construct {
  public readonly plan: backup.BackupPlan;
  public readonly vault: backup.BackupVault;

  constructor(scope: Construct, id: string, props: RelayBackupsProps) {
    super(scope, id);
    const days = props.retentionDays ?? BACKUP_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < 1) throw new Error(`RelayBackups: retentionDays must be a positive integer, got ${days}`);
    this.vault = new backup.BackupVault(this, 'Vault', { encryptionKey: props.key, removalPolicy: RemovalPolicy.RETAIN });
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ minute: '0', hour: '3' }),
          deleteAfter: Duration.days(days),
        }),
      ],
    });
    const selection = this.plan.addSelection('KeysAndSecrets', {
      resources: props.tables.map((table) => backup.BackupResource.fromDynamoDbTable(table)),
    });
    acknowledge(
      selection,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]'],
      "AWS Backup's own service-role policy is the supported way to let the service snapshot the selected tables.",
    );
  }
}
