import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface RelayWafProps {
  /** The API Gateway stage ARN to protect. */
  readonly stageArn: string;
  /**
   * Requests one client IP may send in any 5-minute window before WAF blocks it.
   * @default 3000
   */
  readonly ratePerIpPer5Minutes?: number;
}

/** A relay key as clients send it: `mr-` and 43 base64url characters. */
const RELAY_KEY = 'mr-[A-Za-z0-9_-]{43}';
/** The API's paths under /v1, with or without the stage prefix (execute-api URLs carry it, a custom domain does not). */
const V1_PATH = '^(/[^/]+)?/v1/';
const PRIVACY_PATH = '^(/[^/]+)?/v1/privacy/?$';

/**
 * A web ACL in front of the API: requests to /v1/* without a relay-shaped key are blocked before
 * they count against the stage's throttle (an unauthenticated flood cannot crowd out real clients),
 * then a per-IP rate-based rule and AWS's known-bad-inputs rules. No body-size rule (LLM requests
 * are large) and no sampled requests: WAF samples keep client IPs and headers, which the relay
 * promises not to keep.
 */
export class RelayWaf extends Construct {
  public readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: RelayWafProps) {
    super(scope, id);
    const limit = props.ratePerIpPer5Minutes ?? 3000;
    if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) {
      throw new Error(`RelayWaf: ratePerIpPer5Minutes must be an integer from 10 to 2000000000 (WAF's range), got ${limit}`);
    }
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: false,
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('MixrouteWebAcl'),
      rules: [
        {
          name: 'RequireRelayKey',
          priority: 0,
          action: { block: {} },
          statement: {
            andStatement: {
              statements: [
                { regexMatchStatement: { fieldToMatch: { uriPath: {} }, regexString: V1_PATH, textTransformations: [{ priority: 0, type: 'NONE' }] } },
                { notStatement: { statement: { regexMatchStatement: { fieldToMatch: { uriPath: {} }, regexString: PRIVACY_PATH, textTransformations: [{ priority: 0, type: 'NONE' }] } } } },
                {
                  notStatement: {
                    statement: {
                      orStatement: {
                        statements: [
                          { regexMatchStatement: { fieldToMatch: { singleHeader: { Name: 'authorization' } }, regexString: `^Bearer ${RELAY_KEY}$`, textTransformations: [{ priority: 0, type: 'NONE' }] } },
                          { regexMatchStatement: { fieldToMatch: { singleHeader: { Name: 'x-api-key' } }, regexString: `^${RELAY_KEY}$`, textTransformations: [{ priority: 0, type: 'NONE' }] } },
                        ],
                      },
                    },
                  },
                },
              ],
            },
          },
          visibilityConfig: visibility('MixrouteRequireRelayKey'),
        },
        {
          name: 'RateLimitPerIp',
          priority: 1,
          action: { block: {} },
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          visibilityConfig: visibility('MixrouteRateLimitPerIp'),
        },
        {
          name: 'AwsKnownBadInputs',
          priority: 2,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesKnownBadInputsRuleSet' } },
          visibilityConfig: visibility('MixrouteKnownBadInputs'),
        },
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });
    acknowledge(
      this.webAcl,
      ['NIST.800.53.R5-WAFv2LoggingEnabled', 'HIPAA.Security-WAFv2LoggingEnabled'],
      'WAF logs hold each client IP and all request headers (the Authorization key included), which the relay promises never to keep. Blocks are counted in CloudWatch metrics.',
    );
  }
}
