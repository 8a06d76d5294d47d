import { Duration } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { PROVIDER_SECRET_PURPOSE } from '../../lambda/core/credentials';
import { METRIC_NAMES } from '../../lambda/hosts/lambda/emf-metrics';

/** What the IAM rule watches: the relay role and the stack's customer-managed policies. */
export interface IamWatch {
  readonly roleName: string;
  readonly policyArns: readonly string[];
}

const IAM_CHANGES = [
  'PutRolePolicy', 'DeleteRolePolicy', 'AttachRolePolicy', 'DetachRolePolicy', 'UpdateAssumeRolePolicy', 'PutRolePermissionsBoundary', 'DeleteRolePermissionsBoundary', 'UpdateRole', 'DeleteRole',
  'CreatePolicyVersion', 'SetDefaultPolicyVersion', 'DeletePolicyVersion', 'DeletePolicy', 'AttachUserPolicy', 'AttachGroupPolicy', 'DetachUserPolicy', 'DetachGroupPolicy',
];

/**
 * CloudTrail events that change the relay role or the stack's policies (or attach those policies
 * to someone). IAM is global: these events reach EventBridge in us-east-1 only, so outside
 * us-east-1 a companion stack there forwards them (MixrouteIamEventsStack).
 */
export function iamChangePattern(watch: IamWatch): events.EventPattern {
  return {
    source: ['aws.iam'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventName: IAM_CHANGES,
      $or: [{ requestParameters: { roleName: [watch.roleName] } }, { requestParameters: { policyArn: [...watch.policyArns] } }],
    },
  };
}

export interface IncidentAlertsProps {
  readonly key: kms.IKey;
  /** An email address subscribed to the alerts (it must confirm the subscription). */
  readonly alertEmail?: string;
  readonly api: apigw.RestApi;
  /** The custom domain serving the API, if any (its base-path mappings are watched too). */
  readonly domainName?: string;
  readonly relayFunction: lambda.IFunction;
  /** The relay role and the stack's managed policies. */
  readonly iam: IamWatch;
  /** CloudTrail's `userIdentity.arn` prefix of the relay function's sessions: its own decrypts are expected. */
  readonly relaySessionArnPrefix: string;
  readonly tables: dynamodb.ITable[];
  readonly trail: cloudtrail.Trail;
  /** The trail's bucket and its access-log bucket. */
  readonly trailBuckets: s3.IBucket[];
  /** The web ACL in front of the API and the stage it protects, when WAF is on. */
  readonly waf?: { readonly webAcl: wafv2.CfnWebACL; readonly stageArn: string };
  /** Namespace of the relay's own metrics (EMF). */
  readonly metricsNamespace: string;
  /**
   * The relay calls Bedrock: alert when Bedrock's model invocation logging (which records prompts and
   * answers in the account) is turned on, changed or off.
   */
  readonly watchBedrockLogging?: boolean;
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
 * authentication failures and failed usage writes, and one EventBridge rule per change that could
 * expose content or keys, each scoped to this stack's own resources: the relay function's code,
 * configuration and permissions; the API's stages, deployments and integrations; the relay role and
 * the stack's policies; the key (policy, grants, disabling, deletion); any attempt by anyone but the
 * relay to decrypt a provider secret (allowed or denied, naming the principal); the trail and its
 * buckets; the tables; the web ACL and its association.
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
    this.addAlarm('LimitCheckFailures', {
      metric: relayMetric(METRIC_NAMES.limitCheckFailures),
      threshold: 1,
      description: 'The limit counters could not be reached: keys with limits are refused (503) until they can.',
    });

    const onCall = (source: string, detail: Record<string, unknown>): events.EventPattern => ({ source: [source], detailType: ['AWS API Call via CloudTrail'], detail });
    const trailName = (props.trail.node.defaultChild as cloudtrail.CfnTrail).ref;
    const fn = props.relayFunction;

    this.addRule('TrailTampered', 'The audit trail was stopped, deleted or re-pointed, or its event selectors changed.', onCall('aws.cloudtrail', {
      eventName: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutInsightSelectors'],
      requestParameters: { name: [props.trail.trailArn, trailName] },
    }));
    this.addRule('TrailBucketTampered', "The audit trail's bucket policy, lifecycle, Object Lock, versioning, logging or encryption was changed.", onCall('aws.s3', {
      eventName: ['PutBucketPolicy', 'DeleteBucketPolicy', 'PutBucketLifecycle', 'DeleteBucketLifecycle', 'PutObjectLockConfiguration', 'PutBucketVersioning', 'PutBucketLogging', 'PutBucketEncryption', 'DeleteBucketEncryption', 'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock', 'PutBucketOwnershipControls', 'DeleteBucket'],
      requestParameters: { bucketName: props.trailBuckets.map((b) => b.bucketName) },
    }));
    this.addRule('KeyTampered', "The relay's KMS key was disabled, scheduled for deletion, re-policied or lost its rotation.", onCall('aws.kms', {
      eventName: ['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DisableKeyRotation'],
      requestParameters: { keyId: [props.key.keyArn, props.key.keyId] },
    }));
    // Grants DynamoDB and AWS Backup create for themselves (encrypted tables, backups) are expected.
    this.addRule('KeyGrantCreated', "A grant on the relay's KMS key was created by a person or a role, not by an AWS service for itself.", onCall('aws.kms', {
      eventName: ['CreateGrant'],
      requestParameters: { keyId: [props.key.keyArn, props.key.keyId] },
      $or: [{ userIdentity: { invokedBy: [{ exists: false }] } }, { userIdentity: { invokedBy: [{ 'anything-but': ['dynamodb.amazonaws.com', 'backup.amazonaws.com'] }] } }],
    }));
    // Decrypt is a read-only management event: a rule sees those only in this state.
    this.addRule(
      'ProviderSecretAccess',
      'Someone other than the relay function tried to decrypt, re-encrypt or grant on a provider secret (allowed or denied).',
      onCall('aws.kms', {
        eventName: ['Decrypt', 'ReEncrypt', 'CreateGrant'],
        resources: { ARN: [props.key.keyArn] },
        userIdentity: { arn: [{ 'anything-but': { prefix: props.relaySessionArnPrefix } }] },
        $or: [
          { requestParameters: { encryptionContext: { purpose: [PROVIDER_SECRET_PURPOSE] } } },
          { requestParameters: { sourceEncryptionContext: { purpose: [PROVIDER_SECRET_PURPOSE] } } },
          { requestParameters: { constraints: { encryptionContextSubset: { purpose: [PROVIDER_SECRET_PURPOSE] } } } },
          { requestParameters: { constraints: { encryptionContextEquals: { purpose: [PROVIDER_SECRET_PURPOSE] } } } },
        ],
      }),
      {
        allManagementEvents: true,
        message: events.RuleTargetInput.fromText(
          `Provider-secret ${events.EventField.fromPath('$.detail.eventName')} by ${events.EventField.fromPath('$.detail.userIdentity.arn')} ` +
            `at ${events.EventField.fromPath('$.detail.eventTime')} (error: ${events.EventField.fromPath('$.detail.errorCode')}). Only the relay function may decrypt provider secrets.`,
        ),
      },
    );
    this.addRule('TablesTampered', 'A relay table was deleted or its settings changed.', onCall('aws.dynamodb', {
      eventName: ['DeleteTable', 'UpdateTable', 'UpdateTimeToLive', 'UpdateContinuousBackups', 'PutResourcePolicy', 'DeleteResourcePolicy', 'RestoreTableToPointInTime'],
      requestParameters: { tableName: props.tables.map((t) => t.tableName) },
    }));
    this.addRule('RelayFunctionChanged', "The relay function's code, configuration, concurrency, aliases or permissions were changed.", onCall('aws.lambda', {
      eventName: ['UpdateFunctionConfiguration', 'UpdateFunctionCode', 'AddPermission', 'RemovePermission', 'CreateAlias', 'UpdateAlias', 'DeleteAlias', 'PublishVersion', 'PutFunctionConcurrency', 'DeleteFunctionConcurrency', 'CreateFunctionUrlConfig', 'UpdateFunctionUrlConfig', 'DeleteFunction', 'PutFunctionEventInvokeConfig', 'UpdateFunctionEventInvokeConfig'].map((name) => ({ prefix: name })),
      requestParameters: { functionName: [fn.functionName, fn.functionArn, { prefix: `${fn.functionName}:` }, { prefix: `${fn.functionArn}:` }] },
    }));
    const apiChanges = ['UpdateStage', 'CreateStage', 'DeleteStage', 'CreateDeployment', 'UpdateDeployment', 'UpdateRestApi', 'PutRestApi', 'DeleteRestApi', 'PutMethod', 'UpdateMethod', 'DeleteMethod', 'PutIntegration', 'UpdateIntegration', 'DeleteIntegration', 'PutIntegrationResponse', 'UpdateIntegrationResponse', 'CreateAuthorizer', 'UpdateAuthorizer'];
    const domainChanges = ['CreateBasePathMapping', 'UpdateBasePathMapping', 'DeleteBasePathMapping', 'UpdateDomainName', 'DeleteDomainName'];
    const apiEvents = { eventName: apiChanges, requestParameters: { restApiId: [props.api.restApiId] } };
    const domainEvents = props.domainName ? { eventName: domainChanges, requestParameters: { domainName: [props.domainName] } } : undefined;
    this.addRule(
      'ApiChanged',
      "The API's stages (logging, data trace, throttling), deployments, methods or integrations, or its custom domain's mappings were changed.",
      onCall('aws.apigateway', domainEvents ? { $or: [apiEvents, domainEvents] } : apiEvents),
    );
    this.addRule('RelayRoleChanged', "The relay function's role or the stack's policies were changed, or the policies attached to someone.", iamChangePattern(props.iam));
    if (props.waf) {
      const acl = props.waf.webAcl;
      this.addRule('WafChanged', 'The web ACL in front of the API was changed or deleted, or detached from the API.', onCall('aws.wafv2', {
        eventName: ['UpdateWebACL', 'DeleteWebACL', 'AssociateWebACL', 'DisassociateWebACL', 'PutLoggingConfiguration', 'DeleteLoggingConfiguration'],
        $or: [
          { requestParameters: { id: [acl.attrId] } },
          { requestParameters: { webACLArn: [acl.attrArn] } },
          { requestParameters: { resourceArn: [props.waf.stageArn, acl.attrArn] } },
        ],
      }));
    }
    if (props.watchBedrockLogging) {
      this.addRule(
        'BedrockLoggingChanged',
        "Bedrock's model invocation logging was configured or removed in this region: when on, Bedrock keeps every prompt and answer the relay sends it.",
        onCall('aws.bedrock', { eventName: ['PutModelInvocationLoggingConfiguration', 'DeleteModelInvocationLoggingConfiguration'] }),
      );
    }
  }

  private addRule(id: string, description: string, eventPattern: events.EventPattern, options: { allManagementEvents?: boolean; message?: events.RuleTargetInput } = {}): void {
    const rule = new events.Rule(this, id, { description, eventPattern });
    rule.addTarget(new targets.SnsTopic(this.topic, options.message ? { message: options.message } : {}));
    if (options.allManagementEvents) (rule.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
    this.rules.push(rule);
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
