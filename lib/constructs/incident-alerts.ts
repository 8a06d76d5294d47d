import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { METRIC_NAMES } from '../../lambda/hosts/lambda/emf-metrics';

export interface IncidentAlertsProps {
  readonly key: kms.IKey;
  /** An email address subscribed to the alerts (it must confirm the subscription). */
  readonly alertEmail?: string;
  readonly api: apigw.RestApi;
  readonly relayFunction: lambda.IFunction;
  readonly relayRole: iam.IRole;
  readonly tables: dynamodb.ITable[];
  /** Namespace of the relay's own metrics (EMF). */
  readonly metricsNamespace: string;
  /**
   * Share of API requests answered 5xx over 5 minutes that raises an alarm.
   * @default 0.05
   */
  readonly api5xxRateThreshold?: number;
  /**
   * Authentication failures in 5 minutes that count as a burst (key guessing, a leaked old key).
   * @default 100
   */
  readonly authFailureBurst?: number;
}

/**
 * Incident alerts: an encrypted, TLS-only SNS topic (with an email subscription when given),
 * CloudWatch alarms on the API's 5xx rate, the function's errors and throttles, bursts of
 * authentication failures and failed usage writes, and EventBridge rules on the CloudTrail events
 * that matter for security: the trail stopped or changed, the key disabled, scheduled for deletion
 * or re-policied, the relay's tables deleted or reconfigured, the relay role's policies changed.
 */
export class IncidentAlerts extends Construct {
  public readonly topic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly rules: events.Rule[] = [];

  constructor(scope: Construct, id: string, props: IncidentAlertsProps) {
    super(scope, id);
    if (props.alertEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alertEmail)) {
      throw new Error(`IncidentAlerts: alertEmail must be an email address, got "${props.alertEmail}"`);
    }
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'Mixroute relay incidents', masterKey: props.key, enforceSSL: true });
    if (props.alertEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));

    const period = Duration.minutes(5);
    const apiDimensions = { ApiName: props.api.restApiName, Stage: props.api.deploymentStage.stageName };
    const relayMetric = (metricName: string) => new cloudwatch.Metric({ namespace: props.metricsNamespace, metricName, statistic: 'Sum', period });

    this.addAlarm('Api5xxRate', {
      metric: new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: '5XXError', dimensionsMap: apiDimensions, statistic: 'Average', period }),
      threshold: props.api5xxRateThreshold ?? 0.05,
      description: 'More than the allowed share of relay requests failed with 5xx (upstream or relay failures).',
    });
    this.addAlarm('FunctionErrors', {
      metric: props.relayFunction.metricErrors({ period, statistic: 'Sum' }),
      threshold: 1,
      description: 'The relay function failed (unhandled errors).',
    });
    this.addAlarm('FunctionThrottles', {
      metric: props.relayFunction.metricThrottles({ period, statistic: 'Sum' }),
      threshold: 1,
      description: 'The relay function was throttled: reserved concurrency is exhausted.',
    });
    this.addAlarm('AuthFailureBurst', {
      metric: relayMetric(METRIC_NAMES.authFailures),
      threshold: props.authFailureBurst ?? 100,
      description: 'A burst of authentication failures: key guessing or a leaked revoked key.',
    });
    this.addAlarm('UsageWriteFailures', {
      metric: relayMetric(METRIC_NAMES.usageWriteFailures),
      threshold: 1,
      description: 'Usage records could not be written after retries; they are in the function log (usage_write_failed) for replay.',
    });

    const cloudTrailRule = (ruleId: string, description: string, source: string, detail: Record<string, unknown>) => {
      const rule = new events.Rule(this, ruleId, {
        description,
        eventPattern: { source: [source], detailType: ['AWS API Call via CloudTrail'], detail },
      });
      rule.addTarget(new targets.SnsTopic(this.topic));
      this.rules.push(rule);
    };
    // Callers may name a trail by name or ARN, so any trail of the account being stopped or changed alerts.
    cloudTrailRule('TrailTampered', 'An audit trail was stopped, deleted or changed.', 'aws.cloudtrail', {
      eventName: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutInsightSelectors'],
    });
    cloudTrailRule('KeyTampered', "The relay's KMS key was disabled, scheduled for deletion or its policy changed.", 'aws.kms', {
      eventName: ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DisableKeyRotation'],
      requestParameters: { keyId: [props.key.keyArn, props.key.keyId] },
    });
    cloudTrailRule('TablesTampered', "A relay table was deleted or its settings changed.", 'aws.dynamodb', {
      eventName: ['DeleteTable', 'UpdateTable', 'UpdateTimeToLive', 'UpdateContinuousBackups', 'PutResourcePolicy', 'DeleteResourcePolicy', 'RestoreTableToPointInTime'],
      requestParameters: { tableName: props.tables.map((t) => t.tableName) },
    });
    // IAM is global: its CloudTrail events reach EventBridge in us-east-1 only.
    cloudTrailRule('RelayRoleChanged', "The relay function's role or its policies were changed.", 'aws.iam', {
      eventName: ['PutRolePolicy', 'DeleteRolePolicy', 'AttachRolePolicy', 'DetachRolePolicy', 'UpdateAssumeRolePolicy', 'PutRolePermissionsBoundary', 'DeleteRolePermissionsBoundary'],
      requestParameters: { roleName: [props.relayRole.roleName] },
    });
  }

  private addAlarm(id: string, options: { metric: cloudwatch.IMetric; threshold: number; description: string }): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
