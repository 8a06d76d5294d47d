import { Match } from 'aws-cdk-lib/assertions';
import { ACCESS_LOG_FIELDS } from '../../lib';
import { buildStack, resourcesOf, statementsOf } from './stack-fixture';

const { template } = buildStack();

describe('RelayFunction', () => {
  test('runs Node.js 24 on arm64 with reserved concurrency, its own log group and the relay environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 50,
      Timeout: 900,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^RelayLogs') } },
      Environment: {
        Variables: Match.objectLike({
          MIXROUTE_KEYS_TABLE: { Ref: Match.stringLikeRegexp('RelayTablesKeys') },
          MIXROUTE_USAGE_TABLE: { Ref: Match.stringLikeRegexp('RelayTablesUsage') },
          MIXROUTE_KMS_KEY_ID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RelayKey'), 'Arn'] },
        }),
      },
    });
  });

  test('every log group keeps 7 days and is encrypted; no function is left to create its own', () => {
    const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const [id, group] of groups) {
      expect({ id, retention: group.Properties.RetentionInDays }).toEqual({ id, retention: 7 });
      expect({ id, key: group.Properties.KmsKeyId }).toEqual({ id, key: expect.anything() });
    }
    for (const [id, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      expect({ id, logGroup: fn.Properties.LoggingConfig?.LogGroup }).toEqual({ id, logGroup: expect.anything() });
    }
  });

  test('rejects a config that would not work in Lambda at synth time', () => {
    const config = { providers: { p: { type: 'openai', baseUrl: 'https://api.example.com/v1', apiKeyEnv: 'KEY' } } };
    expect(() => buildStack({ relayConfig: config })).toThrow(/apiKeyEnv: only allowed in local mode/);
    expect(() => buildStack({ relayConfig: { providers: { p: { type: 'openai', baseUrl: 'http://127.0.0.1/v1' } } } })).toThrow(/expected https/);
  });

  const relayPolicy = () => resourcesOf(template, 'AWS::IAM::ManagedPolicy').find(([id]) => /^RelayPolicy/.test(id))?.[1] as any;

  test('grants only GetItem on keys and secrets, PutItem on usage, counter updates, and Decrypt only with the provider-secret context', () => {
    const statements = statementsOf(relayPolicy());
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'kms:Decrypt', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    const counters = statements.find((s) => s.Sid === 'CountLimits');
    expect(counters.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/RelayTablesCounters/), 'Arn'] });
    const reads = statements.find((s) => s.Sid === 'ReadKeysAndSecrets');
    expect(JSON.stringify(reads.Resource)).not.toMatch(/Usage|Counters/);
    expect(actions.some((a) => a.includes('*'))).toBe(false);
    const decrypt = statements.find((s) => s.Action === 'kms:Decrypt');
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': 'mixroute-provider-secret' } });
    const put = statements.find((s) => s.Action === 'dynamodb:PutItem');
    expect(put.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/RelayTablesUsage/), 'Arn'] });
  });

  test('the relay role has no inline policy and no other policy', () => {
    const [, role] = resourcesOf(template, 'AWS::IAM::Role').find(([id]) => /^RelayRole/.test(id)) as [string, any];
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toEqual([{ Ref: expect.stringMatching(/^RelayPolicy/) }]);
  });

  test('no IAM statement anywhere grants a wildcard action on the tables', () => {
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const [, policy] of resourcesOf(template, type)) {
        for (const statement of statementsOf(policy)) {
          const actions = [statement.Action].flat() as string[];
          expect(actions.filter((a) => a.startsWith('dynamodb:') && a.includes('*'))).toEqual([]);
        }
      }
    }
  });
});

describe('StreamingApi', () => {
  test('is REGIONAL and accepts TLS 1.3 only (STRICT)', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
    });
  });

  test('every method is a streaming Lambda proxy integration with a long-generation timeout', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThanOrEqual(2);
    for (const [id, method] of methods) {
      const integration = method.Properties.Integration;
      expect({ id, type: integration.Type, mode: integration.ResponseTransferMode }).toEqual({ id, type: 'AWS_PROXY', mode: 'STREAM' });
      expect(JSON.stringify(integration.Uri)).toContain('response-streaming-invocations');
      expect(integration.TimeoutInMillis).toBeGreaterThan(29_000);
      expect(integration.TimeoutInMillis).toBeLessThanOrEqual(900_000);
    }
  });

  test('the stage throttles, logs execution at ERROR, never data trace, and access-logs allowlisted JSON', () => {
    const [, stage] = resourcesOf(template, 'AWS::ApiGateway::Stage')[0];
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({ DataTraceEnabled: false, LoggingLevel: 'ERROR', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, HttpMethod: '*', ResourcePath: '/*' }),
    ]);
    const format = stage.Properties.AccessLogSetting.Format as string;
    expect(JSON.parse(format)).toEqual(ACCESS_LOG_FIELDS);
    expect(format).not.toMatch(/sourceIp|userAgent|identity|\$context\.path|authorizer/);
    expect(stage.Properties.AccessLogSetting.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/AccessLogs/), 'Arn'] });
    // No response cache: a cache would hold conversation content.
    expect(stage.Properties.CacheClusterEnabled).not.toBe(true);
    expect(stage.Properties.MethodSettings.every((m: { CachingEnabled?: boolean }) => m.CachingEnabled !== true)).toBe(true);
    expect(stage.Properties.TracingEnabled).not.toBe(true);
  });

  test('creates the execution log group API Gateway would otherwise create without retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: Match.stringLikeRegexp('Api') }, '/api']] },
      RetentionInDays: 7,
    });
  });

  test('a custom domain is TLS 1.3 only (STRICT) too and mapped to the API', () => {
    const { template: withDomain } = buildStack({ customDomain: { domainName: 'llm.example.com', certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/abc' } });
    withDomain.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'llm.example.com',
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    withDomain.resourceCountIs('AWS::ApiGateway::BasePathMapping', 1);
    // findOutputs answers {} when nothing matches: assert the output exists and points at the domain's regional target.
    const outputs = Object.values(withDomain.findOutputs('CustomDomainTarget'));
    expect(outputs).toHaveLength(1);
    expect(outputs[0].Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Domain/), 'RegionalDomainName'] });
  });
});

describe('RelayWaf', () => {
  test('rate-limits per IP and applies AWS known-bad-inputs, with no body-size rule, on the stage', () => {
    const [, acl] = resourcesOf(template, 'AWS::WAFv2::WebACL')[0];
    expect(acl.Properties.Scope).toBe('REGIONAL');
    const rules = acl.Properties.Rules as any[];
    expect(rules.find((r) => r.Statement.RateBasedStatement)?.Statement.RateBasedStatement).toMatchObject({ AggregateKeyType: 'IP', Limit: 3000 });
    expect(rules.find((r) => r.Statement.ManagedRuleGroupStatement)?.Statement.ManagedRuleGroupStatement).toEqual({ VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' });
    expect(JSON.stringify(rules)).not.toMatch(/SizeConstraint/);
    expect(JSON.stringify(acl.Properties)).not.toMatch(/"SampledRequestsEnabled":true/);
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  test('can be turned off', () => {
    buildStack({ enableWaf: false }).template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});
