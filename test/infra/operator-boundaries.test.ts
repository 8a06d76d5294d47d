/**
 * The promises held against the people who run the stack, asserted on the synthesized template:
 * only the relay role decrypts provider secrets (an explicit Deny for everyone else); no copy of
 * per-request metadata outlives 7 days (trail selectors, no usage backups); every change that could
 * expose content or keys raises an alert (each rule matched against sample CloudTrail events with a
 * local EventBridge matcher: one that must match and one that must not); one front door.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../bin/mixroute';
import { PROVIDER_SECRET_PURPOSE } from '../../lambda/core/credentials';
import { matchesPattern, resolveIntrinsics } from '../helpers/event-pattern';
import { buildStack, CDK_CONTEXT, RELAY_CONFIG, resourcesOf } from './stack-fixture';

const { template } = buildStack();
const resolved = resolveIntrinsics(template.toJSON());
const logicalId = (type: string, pattern: RegExp): string => {
  const found = resourcesOf(template, type).filter(([id]) => pattern.test(id));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0][0];
};
const resource = (id: string) => resolved.Resources[id];

const ROLE_NAME = 'Test-eu-west-1-relay';
const ROLE_ARN = `arn:aws:iam::111122223333:role/${ROLE_NAME}`;
const RELAY_SESSION = `arn:aws:sts::111122223333:assumed-role/${ROLE_NAME}/Test-RelayFunction`;
const ADMIN_SESSION = 'arn:aws:sts::111122223333:assumed-role/AdministratorAccess/alice';

describe('only the relay decrypts provider secrets', () => {
  const keyId = logicalId('AWS::KMS::Key', /^RelayKey/);
  const statements = () => resource(keyId).Properties.KeyPolicy.Statement as any[];

  test('the key policy denies Decrypt, ReEncrypt and CreateGrant on the provider-secret context to every principal but the relay role', () => {
    const deny = statements().filter((s) => s.Effect === 'Deny');
    expect(deny).toEqual([
      {
        Sid: 'OnlyTheRelayDecryptsProviderSecrets',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:ReEncrypt*'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:purpose': PROVIDER_SECRET_PURPOSE }, ArnNotEquals: { 'aws:PrincipalArn': ROLE_ARN } },
      },
    ]);
  });

  test('the exception is the relay function\'s own role, by its fixed name', () => {
    const roleId = logicalId('AWS::IAM::Role', /^RelayRole/);
    expect(resource(roleId).Properties.RoleName).toBe(ROLE_NAME);
    const functionId = logicalId('AWS::Lambda::Function', /^RelayFunction/);
    expect(resource(functionId).Properties.Role).toBe(`arn-${roleId}`);
  });

  test('administrators keep managing the key: the account root statement stays', () => {
    expect(statements()).toContainEqual(expect.objectContaining({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' }));
  });
});

describe('7 days everywhere', () => {
  test('the trail records every management event and the tables\' data events by anyone but the relay', () => {
    const trail = resource(logicalId('AWS::CloudTrail::Trail', /^RelayAuditTrail/)).Properties;
    expect(trail.EventSelectors).toBeUndefined();
    const tables = ['Keys', 'Secrets', 'Usage'].map((name) => `arn-${logicalId('AWS::DynamoDB::Table', new RegExp(`^RelayTables${name}`))}`);
    expect(trail.AdvancedEventSelectors).toEqual([
      { Name: 'All management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      {
        Name: expect.any(String),
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::DynamoDB::Table'] },
          { Field: 'resources.ARN', Equals: tables },
          { Field: 'userIdentity.arn', NotStartsWith: [`arn:aws:sts::111122223333:assumed-role/${ROLE_NAME}/`] },
        ],
      },
    ]);
    // The relay's own sessions are exactly what the exclusion names.
    expect(RELAY_SESSION.startsWith(trail.AdvancedEventSelectors[1].FieldSelectors[3].NotStartsWith[0])).toBe(true);
  });

  test('the usage table has no point-in-time recovery and is in no backup plan; keys and secrets keep theirs', () => {
    const table = (name: string) => resource(logicalId('AWS::DynamoDB::Table', new RegExp(`^RelayTables${name}`))).Properties;
    expect(table('Usage').PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
    expect(table('Usage').TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    for (const name of ['Keys', 'Secrets']) expect(table(name).PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    const selections = resourcesOf(template, 'AWS::Backup::BackupSelection').map(([id]) => resource(id).Properties.BackupSelection.Resources);
    expect(selections).toHaveLength(1);
    expect(JSON.stringify(selections)).not.toMatch(/RelayTablesUsage|RelayTablesCounters/);
    expect(JSON.stringify(selections)).toMatch(/RelayTablesKeys/);
  });
});

/** A CloudTrail management event as EventBridge delivers it. */
function cloudTrailEvent(source: string, eventName: string, requestParameters: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    version: '0',
    source,
    'detail-type': 'AWS API Call via CloudTrail',
    account: '111122223333',
    region: 'eu-west-1',
    detail: {
      eventVersion: '1.09',
      eventSource: `${source.slice(4)}.amazonaws.com`,
      eventName,
      eventTime: '2026-12-01T12:00:00Z',
      userIdentity: { type: 'AssumedRole', arn: ADMIN_SESSION, sessionContext: { sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/AdministratorAccess' } } },
      requestParameters,
      ...extra,
    },
  };
}

describe('alerts on every change that could expose content or keys', () => {
  const rule = (name: string) => resource(logicalId('AWS::Events::Rule', new RegExp(`^RelayAlerts${name}`))).Properties;
  const id = (type: string, pattern: RegExp) => logicalId(type, pattern);
  const keyArn = `arn-${id('AWS::KMS::Key', /^RelayKey/)}`;
  const fnName = `ref-${id('AWS::Lambda::Function', /^RelayFunction/)}`;
  const apiId = `ref-${id('AWS::ApiGateway::RestApi', /^RelayApi/)}`;
  const trailName = `ref-${id('AWS::CloudTrail::Trail', /^RelayAuditTrail/)}`;
  const trailBucket = `ref-${id('AWS::S3::Bucket', /^RelayAuditBucket/)}`;
  const webAclId = `Id-${id('AWS::WAFv2::WebACL', /^RelayWaf/)}`;
  const usageTable = `ref-${id('AWS::DynamoDB::Table', /^RelayTablesUsage/)}`;

  const cases: [string, unknown, unknown][] = [
    ['RelayFunctionChanged', cloudTrailEvent('aws.lambda', 'UpdateFunctionConfiguration20150331v2', { functionName: fnName, environment: {} }), cloudTrailEvent('aws.lambda', 'UpdateFunctionConfiguration20150331v2', { functionName: 'someone-elses-function' })],
    ['RelayFunctionChanged', cloudTrailEvent('aws.lambda', 'UpdateFunctionCode20150331v2', { functionName: `${fnName}:live` }), cloudTrailEvent('aws.lambda', 'GetFunction20150331v2', { functionName: fnName })],
    ['RelayFunctionChanged', cloudTrailEvent('aws.lambda', 'AddPermission20150331v2', { functionName: fnName, principal: '*' }), cloudTrailEvent('aws.lambda', 'Invoke', { functionName: fnName })],
    ['ApiChanged', cloudTrailEvent('aws.apigateway', 'UpdateStage', { restApiId: apiId, stageName: 'api', patchOperations: [{ op: 'replace', path: '/*/*/logging/dataTrace', value: 'true' }] }), cloudTrailEvent('aws.apigateway', 'UpdateStage', { restApiId: 'otherapi', stageName: 'prod' })],
    ['ApiChanged', cloudTrailEvent('aws.apigateway', 'CreateDeployment', { restApiId: apiId }), cloudTrailEvent('aws.apigateway', 'GetStage', { restApiId: apiId })],
    ['RelayRoleChanged', cloudTrailEvent('aws.iam', 'AttachRolePolicy', { roleName: ROLE_NAME, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }), cloudTrailEvent('aws.iam', 'AttachRolePolicy', { roleName: 'another-role', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' })],
    ['RelayRoleChanged', cloudTrailEvent('aws.iam', 'CreatePolicyVersion', { policyArn: 'arn:aws:iam::111122223333:policy/Test-eu-west-1-relay-policy', setAsDefault: true }), cloudTrailEvent('aws.iam', 'CreatePolicyVersion', { policyArn: 'arn:aws:iam::111122223333:policy/unrelated' })],
    ['RelayRoleChanged', cloudTrailEvent('aws.iam', 'AttachUserPolicy', { userName: 'mallory', policyArn: 'arn:aws:iam::111122223333:policy/Test-eu-west-1-operator' }), cloudTrailEvent('aws.iam', 'GetRole', { roleName: ROLE_NAME })],
    ['KeyTampered', cloudTrailEvent('aws.kms', 'PutKeyPolicy', { keyId: keyArn, policyName: 'default' }), cloudTrailEvent('aws.kms', 'PutKeyPolicy', { keyId: 'arn:aws:kms:eu-west-1:111122223333:key/other' })],
    ['KeyTampered', cloudTrailEvent('aws.kms', 'ScheduleKeyDeletion', { keyId: keyArn, pendingWindowInDays: 7 }), cloudTrailEvent('aws.kms', 'DescribeKey', { keyId: keyArn })],
    ['KeyGrantCreated', cloudTrailEvent('aws.kms', 'CreateGrant', { keyId: keyArn, granteePrincipal: 'arn:aws:iam::111122223333:role/mallory', operations: ['Decrypt'] }), cloudTrailEvent('aws.kms', 'CreateGrant', { keyId: keyArn, granteePrincipal: 'dynamodb.eu-west-1.amazonaws.com' }, { userIdentity: { type: 'AssumedRole', arn: ADMIN_SESSION, invokedBy: 'dynamodb.amazonaws.com' } })],
    ['ProviderSecretAccess', cloudTrailEvent('aws.kms', 'Decrypt', { encryptionContext: { purpose: PROVIDER_SECRET_PURPOSE, provider: 'openai' }, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, { errorCode: 'AccessDenied', resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: keyArn }] }), cloudTrailEvent('aws.kms', 'Decrypt', { encryptionContext: { purpose: PROVIDER_SECRET_PURPOSE, provider: 'openai' } }, { userIdentity: { type: 'AssumedRole', arn: RELAY_SESSION }, resources: [{ ARN: keyArn, type: 'AWS::KMS::Key' }] })],
    ['ProviderSecretAccess', cloudTrailEvent('aws.kms', 'ReEncrypt', { sourceEncryptionContext: { purpose: PROVIDER_SECRET_PURPOSE, provider: 'openai' }, destinationKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/attacker' }, { resources: [{ ARN: keyArn, type: 'AWS::KMS::Key' }] }), cloudTrailEvent('aws.kms', 'Decrypt', { encryptionContext: { 'aws:dynamodb:tableName': 'x' } }, { resources: [{ ARN: keyArn, type: 'AWS::KMS::Key' }] })],
    ['TrailTampered', cloudTrailEvent('aws.cloudtrail', 'StopLogging', { name: trailName }), cloudTrailEvent('aws.cloudtrail', 'StopLogging', { name: 'another-trail' })],
    ['TrailTampered', cloudTrailEvent('aws.cloudtrail', 'PutEventSelectors', { trailName: trailName, name: trailName }), cloudTrailEvent('aws.cloudtrail', 'GetTrailStatus', { name: trailName })],
    ['TrailBucketTampered', cloudTrailEvent('aws.s3', 'PutObjectLockConfiguration', { bucketName: trailBucket }), cloudTrailEvent('aws.s3', 'PutBucketPolicy', { bucketName: 'some-other-bucket' })],
    ['TrailBucketTampered', cloudTrailEvent('aws.s3', 'PutBucketLifecycle', { bucketName: trailBucket }), cloudTrailEvent('aws.s3', 'GetBucketPolicy', { bucketName: trailBucket })],
    ['TablesTampered', cloudTrailEvent('aws.dynamodb', 'UpdateTimeToLive', { tableName: usageTable }), cloudTrailEvent('aws.dynamodb', 'UpdateTimeToLive', { tableName: 'other' })],
    ['WafChanged', cloudTrailEvent('aws.wafv2', 'UpdateWebACL', { id: webAclId, name: 'x', scope: 'REGIONAL' }), cloudTrailEvent('aws.wafv2', 'UpdateWebACL', { id: 'another-acl', scope: 'REGIONAL' })],
    ['WafChanged', cloudTrailEvent('aws.wafv2', 'DisassociateWebACL', { resourceArn: resolveIntrinsics(template.toJSON()).Resources[logicalId('AWS::WAFv2::WebACLAssociation', /^RelayWaf/)].Properties.ResourceArn }), cloudTrailEvent('aws.wafv2', 'DisassociateWebACL', { resourceArn: 'arn:aws:apigateway:eu-west-1::/restapis/other/stages/prod' })],
  ];

  test.each(cases.map(([name, hit, miss], i) => [`${name} #${i}`, name, hit, miss] as const))('%s matches its event and not the other', (_label, name, hit, miss) => {
    const pattern = rule(name).EventPattern;
    expect(matchesPattern(pattern, hit as never)).toBe(true);
    expect(matchesPattern(pattern, miss as never)).toBe(false);
  });

  test('every rule is covered by a case, and every rule notifies the alert topic', () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule').map(([ruleId]) => ruleId.replace(/^RelayAlerts/, '').replace(/[0-9A-F]{8}$/, ''));
    const covered = new Set(cases.map(([name]) => name));
    expect(rules.filter((name) => !covered.has(name) && !['RelayRoleChanged'].includes(name))).toEqual([]);
    const topic = `ref-${logicalId('AWS::SNS::Topic', /^RelayAlertsTopic/)}`;
    for (const [ruleId] of resourcesOf(template, 'AWS::Events::Rule')) expect(resource(ruleId).Properties.Targets.map((t: any) => t.Arn)).toEqual([topic]);
  });

  test('the provider-secret rule sees read-only management events and names the principal in its alert', () => {
    const secretRule = rule('ProviderSecretAccess');
    expect(secretRule.State).toBe('ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
    const transformer = secretRule.Targets[0].InputTransformer;
    expect(Object.values(transformer.InputPathsMap)).toContain('$.detail.userIdentity.arn');
    expect(transformer.InputTemplate).toMatch(/by <detail-userIdentity-arn>/);
  });

  test('outside us-east-1, a companion stack there forwards IAM changes to the relay region\'s event bus', () => {
    const saved = process.env.CDK_DEFAULT_REGION;
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    try {
      const { iamEvents, stack } = buildApp(new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], config: 'none.json' } }));
      expect(iamEvents?.region).toBe('us-east-1');
      const forwarder = resolveIntrinsics(Template.fromStack(iamEvents as never).toJSON());
      const [forwardRule] = Object.values(forwarder.Resources).filter((r: any) => r.Type === 'AWS::Events::Rule') as any[];
      expect(forwardRule.Properties.Targets[0].Arn).toMatch(/^arn:aws:events:eu-west-1:.*:event-bus\/default$/);
      const event = cloudTrailEvent('aws.iam', 'PutRolePolicy', { roleName: stack.relay.names.roleName, policyName: 'backdoor' });
      expect(matchesPattern(forwardRule.Properties.EventPattern, resolveIntrinsics(event))).toBe(true);
      expect(matchesPattern(forwardRule.Properties.EventPattern, cloudTrailEvent('aws.iam', 'PutRolePolicy', { roleName: 'other' }) as never)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = saved;
    }
  });

  test('in us-east-1 the relay stack sees IAM events itself and no companion is made', () => {
    const saved = process.env.CDK_DEFAULT_REGION;
    process.env.CDK_DEFAULT_REGION = 'us-east-1';
    try {
      expect(buildApp(new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], config: 'none.json' } })).iamEvents).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.CDK_DEFAULT_REGION;
      else process.env.CDK_DEFAULT_REGION = saved;
    }
  });
});

describe('one front door', () => {
  test('with a custom domain the default execute-api endpoint is disabled; without one it serves', () => {
    const { template: withDomain } = buildStack({ customDomain: { domainName: 'llm.example.com', certificateArn: 'arn:aws:acm:eu-west-1:111122223333:certificate/abc' } });
    withDomain.hasResourceProperties('AWS::ApiGateway::RestApi', { DisableExecuteApiEndpoint: true });
    expect(resourcesOf(template, 'AWS::ApiGateway::RestApi')[0][1].Properties.DisableExecuteApiEndpoint).not.toBe(true);
  });

  test('the web ACL blocks /v1/* without a relay-shaped key first (except /v1/privacy)', () => {
    const acl = resourcesOf(template, 'AWS::WAFv2::WebACL')[0][1].Properties;
    const first = acl.Rules.find((r: any) => r.Priority === 0);
    expect(first).toMatchObject({ Name: 'RequireRelayKey', Action: { Block: {} } });
    const [path, notPrivacy, notKeyed] = first.Statement.AndStatement.Statements;
    const regex = (statement: any) => new RegExp(statement.RegexMatchStatement.RegexString);
    const v1 = regex(path);
    const privacy = regex(notPrivacy.NotStatement.Statement);
    const [bearer, apiKey] = notKeyed.NotStatement.Statement.OrStatement.Statements;
    expect(bearer.RegexMatchStatement.FieldToMatch).toEqual({ SingleHeader: { Name: 'authorization' } });
    expect(apiKey.RegexMatchStatement.FieldToMatch).toEqual({ SingleHeader: { Name: 'x-api-key' } });
    const blocked = (uri: string, headers: Record<string, string>) =>
      v1.test(uri) && !privacy.test(uri) && !(regex(bearer).test(headers.authorization ?? '') || regex(apiKey).test(headers['x-api-key'] ?? ''));
    const key = `mr-${'A'.repeat(43)}`;
    expect(blocked('/api/v1/chat/completions', {})).toBe(true);
    expect(blocked('/v1/messages', { authorization: 'Bearer sk-not-ours' })).toBe(true);
    expect(blocked('/v1/messages', { 'x-api-key': `${key}x` })).toBe(true);
    expect(blocked('/api/v1/chat/completions', { authorization: `Bearer ${key}` })).toBe(false);
    expect(blocked('/v1/messages', { authorization: 'Bearer sk-ant-personal', 'x-api-key': key })).toBe(false);
    expect(blocked('/api/v1/privacy', {})).toBe(false);
    expect(blocked('/healthz', {})).toBe(false);
    expect(blocked('/', {})).toBe(false);
  });
});

test('the fixture config is the one the stack validated', () => {
  expect(RELAY_CONFIG.models).toHaveProperty('gpt-4o-mini');
});
