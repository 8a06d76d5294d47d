import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { OPERATOR_TABLE_ACTIONS, READ_TABLE_ACTIONS } from '../../lib';
import { buildStack, NAG_PACKS, resourcesOf, statementsOf, unacknowledged } from './stack-fixture';

const { template, stack } = buildStack();
const ref = (pattern: RegExp) => expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(pattern), 'Arn'] });

describe('AuditTrail', () => {
  test('is multi-region with log file validation, encrypted with the key, delivered to CloudWatch Logs', () => {
    const [, trail] = resourcesOf(template, 'AWS::CloudTrail::Trail')[0];
    expect(trail.Properties).toMatchObject({
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      EnableLogFileValidation: true,
      KMSKeyId: ref(/^RelayKey/),
      CloudWatchLogsLogGroupArn: ref(/^RelayAuditLogs/),
    });
  });

  test('records data events (reads and writes) on the keys, secrets and usage tables, except the relay\'s own', () => {
    const [, trail] = resourcesOf(template, 'AWS::CloudTrail::Trail')[0];
    const data = (trail.Properties.AdvancedEventSelectors as any[]).find((s) => s.FieldSelectors.some((f: any) => f.Field === 'eventCategory' && f.Equals[0] === 'Data'));
    expect(data.FieldSelectors.find((f: any) => f.Field === 'resources.ARN').Equals).toEqual([ref(/RelayTablesKeys/), ref(/RelayTablesSecrets/), ref(/RelayTablesUsage/)]);
    // No read-only filter: reads and writes alike.
    expect(data.FieldSelectors.find((f: any) => f.Field === 'readOnly')).toBeUndefined();
  });

  test('its bucket blocks public access, enforces TLS, is versioned, object-locked for 365 days and access-logged', () => {
    const [id, bucket] = resourcesOf(template, 'AWS::S3::Bucket').find(([logicalId]) => /^RelayAuditBucket/.test(logicalId)) as [string, any];
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } },
      LoggingConfiguration: { DestinationBucketName: { Ref: expect.stringMatching(/^RelayAuditAccessLogs/) } },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    const policy = resourcesOf(template, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === id)?.[1] as any;
    expect(statementsOf(policy)).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  test('object-lock retention is a prop', () => {
    const { template: custom } = buildStack({ trailRetentionDays: 30 });
    custom.hasResourceProperties('AWS::S3::Bucket', { ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } } });
  });
});

describe('IncidentAlerts', () => {
  const topicRef = () => ({ Ref: resourcesOf(template, 'AWS::SNS::Topic')[0][0] });

  test('the topic is encrypted with the key, TLS-only, and mails the alert address', () => {
    expect(resourcesOf(template, 'AWS::SNS::Topic')[0][1].Properties.KmsMasterKeyId).toEqual(ref(/^RelayKey/));
    const [, policy] = resourcesOf(template, 'AWS::SNS::TopicPolicy')[0];
    expect(statementsOf(policy)).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topicRef() });
  });

  test('has no email subscription when no address is given', () => {
    buildStack({ alertEmail: undefined }).template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('alarms on API 5xx rate, function errors and throttles, auth-failure bursts, failed usage writes and failed limit checks, each notifying the topic', () => {
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
    const metrics = alarms.map(([, a]) => a.Properties.MetricName).sort();
    expect(metrics).toEqual(['5XXError', 'AuthFailures', 'Errors', 'LimitCheckFailures', 'Throttles', 'UsageWriteFailures']);
    for (const [id, alarm] of alarms) {
      expect({ id, actions: alarm.Properties.AlarmActions }).toEqual({ id, actions: [topicRef()] });
    }
    const relayNamespace = alarms.find(([, a]) => a.Properties.MetricName === 'AuthFailures')?.[1].Properties.Namespace;
    expect(relayNamespace).toMatch(/^Mixroute\//);
  });

  test('EventBridge rules send trail, key, table and role tampering to the topic', () => {
    const rules = resourcesOf(template, 'AWS::Events::Rule');
    const names = rules.flatMap(([, r]) => r.Properties.EventPattern.detail.eventName);
    expect(names).toEqual(expect.arrayContaining(['StopLogging', 'DeleteTrail', 'UpdateTrail', 'DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'DeleteTable', 'UpdateTable', 'UpdateTimeToLive', 'PutRolePolicy', 'AttachRolePolicy']));
    for (const [id, rule] of rules) {
      expect({ id, targets: rule.Properties.Targets.map((t: any) => t.Arn) }).toEqual({ id, targets: [topicRef()] });
    }
  });
});

describe('RelayDashboard', () => {
  test('charts requests by status, tokens by model, latency p50/p99 and errors', () => {
    const [, dashboard] = resourcesOf(template, 'AWS::CloudWatch::Dashboard')[0];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const text of ['Requests by status', 'Tokens by model', 'gpt-4o-mini', 'p50', 'p99', 'Errors']) expect(body).toContain(text);
  });
});

describe('AccessPolicies', () => {
  const policy = (pattern: RegExp) => statementsOf(resourcesOf(template, 'AWS::IAM::ManagedPolicy').find(([id]) => pattern.test(id))?.[1] as any);
  const allActions = (statements: any[]) => statements.flatMap((s) => [s.Action].flat());

  test('operator: manage keys and secrets, read usage, kms:Encrypt with the provider context, never kms:Decrypt', () => {
    const statements = policy(/^RelayAccessOperator/);
    const byId = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(byId.ManageKeysAndSecrets.Action.sort()).toEqual([...OPERATOR_TABLE_ACTIONS].sort());
    expect(byId.ManageKeysAndSecrets.Resource).toEqual([ref(/RelayTablesKeys/), ref(/RelayTablesSecrets/)]);
    expect(byId.ReadUsage.Action.sort()).toEqual([...READ_TABLE_ACTIONS].sort());
    expect(byId.ReadUsage.Resource).toEqual(ref(/RelayTablesUsage/));
    expect(byId.EncryptProviderSecrets).toMatchObject({ Action: 'kms:Encrypt', Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'mixroute-provider-secret' } } });
    expect(allActions(statements).filter((a) => a.startsWith('kms:'))).toEqual(['kms:Encrypt']);
  });

  test('auditor: read the trail bucket, look up trail events, read usage; nothing on keys, secrets or KMS', () => {
    const statements = policy(/^RelayAccessAuditor/);
    const actions = allActions(statements);
    expect(actions.filter((a) => a.startsWith('kms:'))).toEqual([]);
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:ListBucket', 'cloudtrail:LookupEvents', 'dynamodb:Query']));
    expect(actions.filter((a) => /Put|Delete|Update|Write/.test(a))).toEqual([]);
    const resources = JSON.stringify(statements.map((s) => s.Resource));
    expect(resources).not.toMatch(/RelayTablesKeys|RelayTablesSecrets/);
    expect(resources).toMatch(/RelayTablesUsage/);
  });

  test('only the relay function holds kms:Decrypt on the key', () => {
    const holders: string[] = [];
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const [id, p] of resourcesOf(template, type)) {
        if (statementsOf(p).some((s) => [s.Action].flat().some((a: string) => a === 'kms:Decrypt' || a === 'kms:*'))) holders.push(id);
      }
    }
    expect(holders).toEqual([expect.stringMatching(/^RelayPolicy/)]);
  });
});

describe('cdk-nag', () => {
  test.each(NAG_PACKS)('%s finds nothing unacknowledged', (name, pack) => {
    expect(unacknowledged(pack(), name, stack)).toEqual([]);
  });

  test('synth of the CDK app (all three packs as validation plugins) succeeds', () => {
    const { app } = buildStack();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new HIPAASecurityChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('synth fails on a finding nobody acknowledged', () => {
    const { app, stack: broken } = buildStack();
    new sqs.Queue(broken, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
  });

  test('acknowledgements are few and each names its rule and gives a real reason', () => {
    const acknowledged: Record<string, string> = {};
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules')) Object.assign(acknowledged, entry.data);
    }
    const rules = new Set(Object.keys(acknowledged).map((id) => id.replace(/\[.*\]$/, '')));
    expect(rules.size).toBeGreaterThan(0);
    expect(rules.size).toBeLessThanOrEqual(30);
    for (const [id, reason] of Object.entries(acknowledged)) {
      expect(id).toMatch(/^(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security)::/);
      expect(reason.length).toBeGreaterThan(60);
    }
  });
});
