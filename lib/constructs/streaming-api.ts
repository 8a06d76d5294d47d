import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { relayLogGroup } from './log-group';
import { acknowledge } from './nag';
import { ACCESS_LOG_FIELDS } from '../../lambda/core/privacy';

export const TLS13_POLICY = 'SecurityPolicy_TLS13_1_3_2025_09';

export { ACCESS_LOG_FIELDS };

export interface CustomDomainProps {
  /** e.g. llm.example.com */
  readonly domainName: string;
  /** An ACM certificate for the domain, in the stack's region. */
  readonly certificateArn: string;
}

export interface StreamingApiProps {
  readonly handler: lambda.IFunction;
  /** Encrypts the access and execution log groups. */
  readonly key: kms.IKey;
  /** Optional custom domain, also TLS 1.3 only. */
  readonly customDomain?: CustomDomainProps;
  /**
   * Steady-state requests per second for the whole stage.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /** @default 100 */
  readonly throttlingBurstLimit?: number;
  /**
   * API Gateway's integration timeout for a streamed response (at most 15 minutes).
   * @default Duration.minutes(15)
   */
  readonly integrationTimeout?: Duration;
  /** @default 'api' */
  readonly stageName?: string;
}

/**
 * The relay's REST API: REGIONAL, TLS 1.3 only (STRICT) on the API and on the optional custom
 * domain, every route a Lambda proxy integration with response streaming, stage throttling, JSON
 * access logs from an allowlist of fields, execution logging at ERROR without data trace, and both
 * log groups created here (7 days, encrypted) so none is left for the service to create.
 */
export class StreamingApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  public readonly executionLogGroup: logs.LogGroup;
  public readonly domain?: apigw.DomainName;
  /** The API base URL; clients append the relay paths (OpenAI SDKs: `${url}v1`). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: StreamingApiProps) {
    super(scope, id);
    const timeout = props.integrationTimeout ?? Duration.minutes(15);
    if (timeout.toSeconds() > 900 || timeout.toSeconds() < 1) {
      throw new Error(`StreamingApi: integrationTimeout must be from 1 second to 15 minutes (the stream limit), got ${timeout.toHumanString()}`);
    }
    const rate = props.throttlingRateLimit ?? 50;
    const burst = props.throttlingBurstLimit ?? 100;
    if (!(rate > 0) || !(burst >= 1)) throw new Error(`StreamingApi: throttling limits must be positive, got rate ${rate} and burst ${burst}`);
    const stageName = props.stageName ?? 'api';

    this.accessLogGroup = relayLogGroup(this, 'AccessLogs', props.key);

    this.api = new apigw.RestApi(this, 'Api', {
      description: 'Mixroute LLM relay',
      // One front door: with a custom domain, the default execute-api hostname answers nothing.
      disableExecuteApiEndpoint: props.customDomain !== undefined,
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const cfnApi = this.api.node.defaultChild as apigw.CfnRestApi;
    cfnApi.securityPolicy = TLS13_POLICY;
    cfnApi.endpointAccessMode = 'STRICT';

    // API Gateway would create this group itself, without retention or encryption; create it first.
    this.executionLogGroup = relayLogGroup(this, 'ExecutionLogs', props.key, `API-Gateway-Execution-Logs_${this.api.restApiId}/${stageName}`);
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);

    const integration = new apigw.LambdaIntegration(props.handler, {
      proxy: true,
      responseTransferMode: apigw.ResponseTransferMode.STREAM,
      timeout,
    });
    // Everything goes to the relay, which answers unknown paths and wrong methods in the caller's
    // API format (404/405) instead of API Gateway's own 403.
    this.api.root.addMethod('ANY', integration);
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });

    if (props.customDomain) {
      this.domain = new apigw.DomainName(this, 'Domain', {
        domainName: props.customDomain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.customDomain.certificateArn),
        endpointType: apigw.EndpointType.REGIONAL,
        securityPolicy: apigw.SecurityPolicy.TLS13_1_3_2025_09,
        endpointAccessMode: apigw.EndpointAccessMode.STRICT,
      });
      this.domain.addBasePathMapping(this.api, { stage: this.api.deploymentStage });
    }
    this.acknowledgeFindings();
    this.url = props.customDomain ? `https://${props.customDomain.domainName}/` : this.api.url;
  }

  private acknowledgeFindings(): void {
    acknowledge(this.api, ['AwsSolutions-APIG2'], 'Bodies pass through in their native provider format; the relay validates each one (JSON, size, model, key allowlist) before anything goes upstream.');
    acknowledge(
      this.api,
      ['AwsSolutions-APIG4', 'AwsSolutions-COG4'],
      'Callers authenticate with relay-issued API keys (as the OpenAI and Anthropic SDKs send them), checked by SHA-256 lookup in the function before any upstream call; Cognito or IAM auth would break SDK compatibility.',
    );
    acknowledge(
      this.api,
      ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]'],
      "AWS's service-role policy is what API Gateway's account setting needs to write execution logs (ERROR level, no data trace).",
    );
    acknowledge(
      this.api,
      ['NIST.800.53.R5-APIGWCacheEnabledAndEncrypted', 'HIPAA.Security-APIGWCacheEnabledAndEncrypted'],
      'A cache would store responses, i.e. conversation content, which the relay promises never to keep; streamed responses cannot be cached anyway.',
    );
    acknowledge(
      this.api,
      ['NIST.800.53.R5-APIGWSSLEnabled', 'HIPAA.Security-APIGWSSLEnabled'],
      'Client certificates authenticate API Gateway to HTTP backends; the only backend here is a Lambda proxy integration inside AWS. Clients reach the API over TLS 1.3 only (STRICT).',
    );
    acknowledge(
      this.api,
      ['HIPAA.Security-APIGWXrayEnabled'],
      'X-Ray segments record client IP addresses and user agents, which the relay promises not to keep; latency and errors are measured by CloudWatch metrics instead.',
    );
  }
}
