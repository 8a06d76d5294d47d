import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { relayLogGroup } from './log-group';
import { parseRelayConfig } from '../../lambda/core/config';
import { PROVIDERS } from '../../lambda/providers/registry';
import { PROVIDER_SECRET_PURPOSE } from '../../lambda/core/credentials';
import { acknowledge } from './nag';
import { bedrockStatement } from './bedrock-grants';

/** The project root, where package-lock.json and lambda/ live (this file is lib/constructs/). */
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
/** Lambda limits all environment variables together to 4 KB. */
const MAX_CONFIG_BYTES = 3500;

export interface RelayFunctionProps {
  /** The function role's and managed policy's physical names (the key policy and alerts name them). */
  readonly roleName: string;
  readonly policyName: string;
  /** Providers, model routes and settings, as in mixroute.config.json; validated for Lambda at synth. */
  readonly relayConfig: unknown;
  readonly keysTable: dynamodb.ITable;
  readonly secretsTable: dynamodb.ITable;
  readonly usageTable: dynamodb.ITable;
  readonly countersTable: dynamodb.ITable;
  /** Encrypts the log group; decrypts provider secrets (only with their encryption context). */
  readonly key: kms.IKey;
  /**
   * Concurrent executions reserved for (and capped at for) the relay: each open stream holds one.
   * @default 50
   */
  readonly reservedConcurrency?: number;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * How long one invocation may run: the longest generation a client can stream.
   * @default Duration.minutes(15), API Gateway's stream limit
   */
  readonly timeout?: Duration;
  /** CloudWatch namespace of the relay's metrics (EMF). */
  readonly metricsNamespace: string;
  /** The audit trail's retention, stated by the privacy manifest (GET /v1/privacy). */
  readonly trailRetentionDays?: number;
}

/**
 * The relay function: the core's Lambda adapter bundled locally with esbuild, Node.js 24 on arm64,
 * its own log group (7 days, encrypted), and least-privilege grants only: GetItem on the keys and
 * secrets tables, PutItem on the usage table, GetItem/UpdateItem on the limit counters, kms:Decrypt
 * only for provider secrets.
 */
export class RelayFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  public readonly role: iam.Role;
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    super(scope, id);
    // Fail at synth, not at the first request, with every problem named.
    const config = parseRelayConfig(props.relayConfig, 'lambda', PROVIDERS);
    const configJson = JSON.stringify(props.relayConfig);
    if (Buffer.byteLength(configJson) > MAX_CONFIG_BYTES) {
      throw new Error(`RelayFunction: the relay config is ${Buffer.byteLength(configJson)} bytes as JSON; Lambda environment variables allow about ${MAX_CONFIG_BYTES}. Shorten provider or model names, or drop unused routes.`);
    }
    const reservedConcurrency = props.reservedConcurrency ?? 50;
    if (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 1) {
      throw new Error(`RelayFunction: reservedConcurrency must be a positive integer, got ${reservedConcurrency}`);
    }
    const timeout = props.timeout ?? Duration.minutes(15);
    if (timeout.toSeconds() > 900) throw new Error(`RelayFunction: timeout must be at most 15 minutes, got ${timeout.toHumanString()}`);

    this.logGroup = relayLogGroup(this, 'Logs', props.key);

    // A customer-managed policy (not inline) so it can be reviewed and audited on its own.
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: props.policyName,
      description: 'Mixroute relay function: read keys and secrets, write usage, decrypt provider secrets only',
      statements: [
        new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
        new iam.PolicyStatement({ sid: 'ReadKeysAndSecrets', actions: ['dynamodb:GetItem'], resources: [props.keysTable.tableArn, props.secretsTable.tableArn] }),
        new iam.PolicyStatement({ sid: 'WriteUsage', actions: ['dynamodb:PutItem'], resources: [props.usageTable.tableArn] }),
        new iam.PolicyStatement({ sid: 'CountLimits', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.countersTable.tableArn] }),
        new iam.PolicyStatement({
          sid: 'DecryptProviderSecretsOnly',
          actions: ['kms:Decrypt'],
          resources: [props.key.keyArn],
          conditions: { StringEquals: { 'kms:EncryptionContext:purpose': PROVIDER_SECRET_PURPOSE } },
        }),
      ],
    });
    const stack = Stack.of(this);
    const bedrock = bedrockStatement(config, { region: stack.region, account: stack.account, partition: stack.partition });
    if (bedrock) {
      this.policy.addStatements(bedrock);
      const wildcards = bedrock.resources.filter((arn) => arn.includes(':bedrock:*::'));
      if (wildcards.length > 0) {
        acknowledge(
          this.policy,
          wildcards.map((arn) => `AwsSolutions-IAM5[Resource::${arn}]`),
          'A cross-region (or application) inference profile sends each request to its foundation model in a region Bedrock chooses; AWS documents granting that one foundation model in every region. The action list and the model are exact.',
        );
      }
    }
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Mixroute relay function',
      managedPolicies: [this.policy],
    });
    acknowledge(
      this.policy,
      [`AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>]`],
      'The log-group ARN ends in :* to cover its log streams; the statement is limited to the function\'s own log group.',
    );

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, 'lambda', 'hosts', 'lambda', 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout,
      reservedConcurrentExecutions: reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.TEXT,
      environment: {
        MIXROUTE_CONFIG: configJson,
        MIXROUTE_KEYS_TABLE: props.keysTable.tableName,
        MIXROUTE_SECRETS_TABLE: props.secretsTable.tableName,
        MIXROUTE_USAGE_TABLE: props.usageTable.tableName,
        MIXROUTE_COUNTERS_TABLE: props.countersTable.tableName,
        MIXROUTE_KMS_KEY_ID: props.key.keyArn,
        MIXROUTE_METRICS_NAMESPACE: props.metricsNamespace,
        ...(props.trailRetentionDays !== undefined ? { MIXROUTE_TRAIL_RETENTION_DAYS: String(props.trailRetentionDays) } : {}),
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: nodejs.OutputFormat.CJS,
        // The Node.js 24 runtime ships AWS SDK v3; bundling it again would triple the package.
        externalModules: ['@aws-sdk/*'],
      },
      description: `Mixroute relay (${Stack.of(this).stackName})`,
    });
    acknowledge(
      this.function,
      ['NIST.800.53.R5-LambdaDLQ', 'HIPAA.Security-LambdaDLQ'],
      'API Gateway invokes the relay synchronously; a dead-letter queue only applies to asynchronous invocations. Every failure is answered to the caller and recorded as usage.',
    );
    acknowledge(
      this.function,
      ['NIST.800.53.R5-LambdaInsideVPC', 'HIPAA.Security-LambdaInsideVPC'],
      'The relay reaches only public HTTPS endpoints (LLM providers, DynamoDB, KMS) with IAM and TLS; a VPC would add NAT gateways and cost without protecting any private resource.',
    );
  }
}
