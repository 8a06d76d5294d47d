import { Match } from 'aws-cdk-lib/assertions';
import { buildStack, resourcesOf } from './stack-fixture';

const { template, stack } = buildStack();

describe('RelayKey', () => {
  test('is a customer-managed key with rotation', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  const statements = () => resourcesOf(template, 'AWS::KMS::Key')[0][1].Properties.KeyPolicy.Statement as any[];
  const servicePrincipals = () => statements().flatMap((s) => [s.Principal?.Service ?? []].flat());

  test('lets exactly the service principals that need it use it', () => {
    // (The EventBridge SNS target adds its own events.amazonaws.com grant too.)
    expect([...new Set(servicePrincipals())].sort()).toEqual(['cloudtrail.amazonaws.com', 'cloudwatch.amazonaws.com', 'events.amazonaws.com', 'logs.eu-west-1.amazonaws.com']);
  });

  test('scopes CloudWatch Logs to this account\'s log groups and CloudTrail to this account\'s trails', () => {
    const logs = statements().find((s) => s.Sid === 'CloudWatchLogsUseOfTheKey');
    expect(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBe('arn:aws:logs:eu-west-1:111122223333:log-group:*');
    const trail = statements().find((s) => s.Sid === 'CloudTrailEncryptsLogs');
    expect(trail.Condition.StringEquals['aws:SourceAccount']).toBe('111122223333');
  });

  test('lets people reach the key only through DynamoDB and trail files through S3, never directly', () => {
    for (const sid of ['UseThroughDynamoDbOnlyForThisAccount', 'ReadTrailLogFilesThroughS3']) {
      const statement = statements().find((s) => s.Sid === sid);
      expect(statement.Condition.StringEquals['kms:ViaService']).toMatch(/^(dynamodb|s3)\.eu-west-1\.amazonaws\.com$/);
      expect(statement.Condition.StringEquals['kms:CallerAccount']).toBe('111122223333');
    }
  });
});

describe('RelayTables', () => {
  test('uses Table (AWS::DynamoDB::Table), never GlobalTable, all on demand and encrypted with the key', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(4);
    for (const [, table] of tables) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^RelayKey/), 'Arn'] } });
    }
  });

  test('keys and secrets have PITR and deletion protection and are retained on stack delete', () => {
    for (const id of [/RelayTablesKeys/, /RelayTablesSecrets/]) {
      const [, table] = resourcesOf(template, 'AWS::DynamoDB::Table').find(([logicalId]) => id.test(logicalId)) as [string, any];
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.DeletionPolicy).toBe('Retain');
    }
  });

  test('usage expires by TTL on expiresAt and has no point-in-time recovery (which would outlive the 7 days)', () => {
    const [, usage] = resourcesOf(template, 'AWS::DynamoDB::Table').find(([id]) => /RelayTablesUsage/.test(id)) as [string, any];
    expect(usage.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(usage.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
    expect(usage.Properties.KeySchema).toEqual([{ AttributeName: 'keyId', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }]);
  });

  test('limit counters expire by TTL and hold no more than a day of recovery', () => {
    const [, counters] = resourcesOf(template, 'AWS::DynamoDB::Table').find(([id]) => /RelayTablesCounters/.test(id)) as [string, any];
    expect(counters.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(counters.Properties.PointInTimeRecoverySpecification.RecoveryPeriodInDays).toBeLessThanOrEqual(7);
  });

  test('keys and secrets are in a daily AWS Backup plan with an encrypted vault; usage is not', () => {
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: Match.anyValue() });
    const [, selection] = resourcesOf(template, 'AWS::Backup::BackupSelection')[0];
    const selected = JSON.stringify(selection.Properties.BackupSelection.Resources);
    expect(selected).toMatch(/RelayTablesKeys/);
    expect(selected).toMatch(/RelayTablesSecrets/);
    expect(selected).not.toMatch(/RelayTablesUsage/);
  });

  test('stack outputs name the tables for the admin CLI', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(expect.arrayContaining(['EndpointUrl', 'KeysTableName', 'SecretsTableName', 'UsageTableName', 'CountersTableName', 'RelayRoutes', 'KeyArn', 'AlertTopicArn', 'TrailBucketName', 'OperatorPolicyArn', 'AuditorPolicyArn']));
    expect(stack.stackName).toBe('Test');
  });
});
