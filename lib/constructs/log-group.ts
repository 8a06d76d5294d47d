import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LOG_RETENTION_DAYS } from '../../lambda/core/privacy';

/** Every log group of the relay: kept LOG_RETENTION_DAYS (7), encrypted with the relay's key, deleted with the stack. */
export function relayLogGroup(scope: Construct, id: string, key: kms.IKey, logGroupName?: string): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    ...(logGroupName ? { logGroupName } : {}),
    retention: LOG_RETENTION_DAYS as logs.RetentionDays,
    encryptionKey: key,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
