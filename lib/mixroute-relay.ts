import { CfnOutput, Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { routesFromConfig } from '../lambda/admin/routes';
import { parseRelayConfig } from '../lambda/core/config';
import { PROVIDERS } from '../lambda/providers/registry';
import { DEFAULT_TRAIL_RETENTION_DAYS } from '../lambda/core/privacy';
import { AccessPolicies } from './constructs/access-policies';
import { AuditTrail } from './constructs/audit-trail';
import { RelayBackups } from './constructs/backups';
import { RelayDashboard } from './constructs/dashboard';
import { IncidentAlerts, type IamWatch } from './constructs/incident-alerts';
import { relayNames, type RelayNames } from './constructs/relay-names';
import { RelayFunction } from './constructs/relay-function';
import { RelayKey } from './constructs/relay-key';
import { RelayTables } from './constructs/relay-tables';
import { StreamingApi, type CustomDomainProps } from './constructs/streaming-api';
import { RelayWaf } from './constructs/waf';

export interface MixrouteRelayProps {
  /** Providers, model routes and settings (the shape of mixroute.config.json); `apiKeyEnv` is refused. */
  readonly relayConfig: unknown;
  /** Email address for incident alerts (it must confirm the SNS subscription). */
  readonly alertEmail?: string;
  /** Serve the API on your own hostname too (TLS 1.3 only). */
  readonly customDomain?: CustomDomainProps;
  /** @default 50 */
  readonly reservedConcurrency?: number;
  /** @default 50 requests per second for the stage */
  readonly throttlingRateLimit?: number;
  /** @default 100 */
  readonly throttlingBurstLimit?: number;
  /**
   * Put AWS WAF in front of the API (per-IP rate limit, known bad inputs).
   * @default true
   */
  readonly enableWaf?: boolean;
  /** @default 3000 requests per IP per 5 minutes */
  readonly wafRatePerIp?: number;
  /**
   * Days audit-trail files are locked and kept.
   * @default 365
   */
  readonly trailRetentionDays?: number;
  /** @default Duration.minutes(15) */
  readonly streamTimeout?: Duration;
}

/**
 * The whole relay as one reusable construct: key, tables, function, streaming API (with WAF),
 * audit trail, incident alerts, dashboard and the operator/auditor policies, plus the outputs the
 * admin CLI reads. Embed it in any CDK app, or deploy MixrouteStack.
 */
export class MixrouteRelay extends Construct {
  public readonly key: RelayKey;
  public readonly tables: RelayTables;
  public readonly relay: RelayFunction;
  public readonly api: StreamingApi;
  public readonly waf?: RelayWaf;
  public readonly audit: AuditTrail;
  public readonly alerts: IncidentAlerts;
  public readonly dashboard: RelayDashboard;
  public readonly access: AccessPolicies;
  public readonly backups: RelayBackups;
  public readonly metricsNamespace: string;
  /** Physical names of the relay role and the stack's managed policies. */
  public readonly names: RelayNames;

  /** What the IAM alert rule watches (the us-east-1 companion stack watches the same). */
  get iamWatch(): IamWatch {
    return { roleName: this.names.roleName, policyArns: this.names.policyArns };
  }

  constructor(scope: Construct, id: string, props: MixrouteRelayProps) {
    super(scope, id);
    this.metricsNamespace = `Mixroute/${this.node.addr.slice(0, 12)}`;
    this.names = relayNames(this);
    this.key = new RelayKey(this, 'Key', { relayRoleArn: this.names.roleArn });
    const key = this.key.key;
    this.tables = new RelayTables(this, 'Tables', { encryptionKey: key });
    const { keys, secrets, usage, counters } = this.tables;

    this.relay = new RelayFunction(this, 'Relay', {
      roleName: this.names.roleName,
      policyName: this.names.relayPolicyName,
      relayConfig: props.relayConfig,
      keysTable: keys,
      secretsTable: secrets,
      usageTable: usage,
      countersTable: counters,
      key,
      reservedConcurrency: props.reservedConcurrency,
      timeout: props.streamTimeout,
      metricsNamespace: this.metricsNamespace,
      trailRetentionDays: props.trailRetentionDays ?? DEFAULT_TRAIL_RETENTION_DAYS,
    });
    this.api = new StreamingApi(this, 'Api', {
      handler: this.relay.function,
      key,
      customDomain: props.customDomain,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      integrationTimeout: props.streamTimeout,
    });
    if (props.enableWaf ?? true) {
      this.waf = new RelayWaf(this, 'Waf', { stageArn: this.api.api.deploymentStage.stageArn, ratePerIpPer5Minutes: props.wafRatePerIp });
    }
    this.audit = new AuditTrail(this, 'Audit', { key, tables: [keys, secrets, usage], relaySessionArnPrefix: this.names.sessionArnPrefix, retentionDays: props.trailRetentionDays });
    const config = parseRelayConfig(props.relayConfig, 'lambda', PROVIDERS);
    this.alerts = new IncidentAlerts(this, 'Alerts', {
      key,
      watchBedrockLogging: [...config.providers.values()].some((provider) => provider.type === 'bedrock'),
      alertEmail: props.alertEmail,
      api: this.api.api,
      domainName: props.customDomain?.domainName,
      relayFunction: this.relay.function,
      iam: this.iamWatch,
      relaySessionArnPrefix: this.names.sessionArnPrefix,
      tables: [keys, secrets, usage],
      trail: this.audit.trail,
      trailBuckets: [this.audit.bucket, this.audit.accessLogsBucket],
      waf: this.waf ? { webAcl: this.waf.webAcl, stageArn: this.api.api.deploymentStage.stageArn } : undefined,
      metricsNamespace: this.metricsNamespace,
    });
    const models = [...config.models.keys()];
    this.dashboard = new RelayDashboard(this, 'Dashboard', { api: this.api.api, relayFunction: this.relay.function, metricsNamespace: this.metricsNamespace, models });
    this.access = new AccessPolicies(this, 'Access', {
      keysTable: keys,
      secretsTable: secrets,
      usageTable: usage,
      key,
      trailBucket: this.audit.bucket,
      operatorPolicyName: this.names.operatorPolicyName,
      auditorPolicyName: this.names.auditorPolicyName,
    });

    this.backups = new RelayBackups(this, 'Backups', { tables: [keys, secrets], key });

    const output = (name: string, value: string, description: string) => new CfnOutput(this, name, { value, description, key: name });
    output('EndpointUrl', this.api.url, 'Base URL of the relay (OpenAI SDK baseURL: <url>v1; Anthropic SDK baseURL: <url>)');
    output('KeysTableName', keys.tableName, 'Client keys (hashes only)');
    output('SecretsTableName', secrets.tableName, 'Provider secrets (KMS ciphertext only)');
    output('UsageTableName', usage.tableName, 'Usage records (7-day TTL)');
    output('CountersTableName', counters.tableName, 'Per-key limit counters (numbers only)');
    output(
      'RelayRoutes',
      JSON.stringify(routesFromConfig(config)),
      'Configured providers and model routes (no secrets), for the admin CLI',
    );
    output('KeyArn', key.keyArn, 'KMS key (tables, logs, alerts, trail, provider secrets)');
    output('AlertTopicArn', this.alerts.topic.topicArn, 'SNS topic for incident alerts');
    output('TrailBucketName', this.audit.bucket.bucketName, 'CloudTrail log files (Object Lock)');
    output('OperatorPolicyArn', this.access.operatorPolicy.managedPolicyArn, 'Attach to operators: manage keys and provider secrets');
    output('AuditorPolicyArn', this.access.auditorPolicy.managedPolicyArn, 'Attach to auditors: read the trail and usage');
    if (this.api.domain) output('CustomDomainTarget', this.api.domain.domainNameAliasDomainName, 'Point your DNS (CNAME/alias) for the custom domain here');
  }
}
