/**
 * GET /v1/privacy: what is stored, which fields, for how long; generated from the same constants as
 * the usage schema, the log allowlist, the access-log format and the stack's retention settings.
 * These tests prove the manifest agrees with what the relay really writes and the template deploys.
 */
import { LOG_FIELDS } from '../../../lambda/core/log';
import { ACCESS_LOG_FIELDS, LOG_RETENTION_DAYS, privacyManifest } from '../../../lambda/core/privacy';
import { USAGE_FIELDS, USAGE_RETENTION_DAYS } from '../../../lambda/core/usage';
import { buildStack, resourcesOf } from '../../infra/stack-fixture';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => (h = await buildRelay({ host: 'http', store: 'dynalite' })));
afterAll(() => h.close());

const manifest = privacyManifest({ trailRetentionDays: 365 });
const entry = (what: RegExp) => manifest.stored.find((s) => what.test(s.what)) as { fields: unknown; retentionDays: number | null };

test('is served without a key and matches the relay\'s own manifest', async () => {
  const res = await fetch(`${h.url}/v1/privacy`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { neverStored: string[] };
  expect(body).toEqual(JSON.parse(JSON.stringify(privacyManifest())));
  expect(body.neverStored.join(' ')).toMatch(/prompts/);
});

test('the usage fields it lists are exactly the fields of a record the relay writes', async () => {
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const record = await h.usageFor(res.headers.get('x-request-id') as string);
  const stored = Object.keys(record as object).filter((k) => k !== 'sk');
  const listed = Object.keys(entry(/^usage record/).fields as object);
  expect(stored.every((field) => listed.includes(field))).toBe(true);
  expect(listed.sort()).toEqual(Object.keys(USAGE_FIELDS).sort());
  expect(entry(/^usage record/).retentionDays).toBe(USAGE_RETENTION_DAYS);
  expect(record?.expiresAt).toBe(Math.floor(Date.parse(record?.timestamp as string) / 1000) + USAGE_RETENTION_DAYS * 86_400);
});

test('the log fields it lists are the logger\'s allowlist, and every log line stays within them', () => {
  expect(entry(/^relay log line/).fields).toEqual(LOG_FIELDS);
  // A loop over no lines proves nothing: make sure there are request lines to check.
  expect(h.logs.filter((line) => JSON.parse(line).event === 'request').length).toBeGreaterThanOrEqual(1);
  for (const line of h.logs) {
    const fields = Object.keys(JSON.parse(line)).filter((k) => k !== 'time' && k !== 'event');
    expect(fields.every((f) => (LOG_FIELDS as readonly string[]).includes(f))).toBe(true);
  }
});

describe('agrees with the deployed stack', () => {
  const { template } = buildStack({ trailRetentionDays: 400 });
  const deployed = privacyManifest({ trailRetentionDays: 400 });
  const deployedEntry = (what: RegExp) => deployed.stored.find((s) => what.test(s.what)) as { retentionDays: number; fields: unknown };

  test('usage: TTL on expiresAt, no point-in-time recovery or backup that would outlive the stated retention', () => {
    const [, usage] = resourcesOf(template, 'AWS::DynamoDB::Table').find(([id]) => /RelayTablesUsage/.test(id)) as [string, any];
    expect(usage.Properties.TimeToLiveSpecification.AttributeName).toBe('expiresAt');
    expect(usage.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(false);
  });

  test('every place the stack keeps request metadata is listed with its maximum age, derived from the template', () => {
    // What the template keeps about individual requests, and for how long.
    const derived = new Map<string, number>();
    const logGroupPlaces: [RegExp, string | null][] = [
      [/^RelayLogs/, 'function log group'],
      [/^RelayApiAccessLogs/, 'API Gateway access log group'],
      [/^RelayApiExecutionLogs/, 'API Gateway execution log group'],
      // The trail's own delivery: it holds what the trail records (below).
      [/^RelayAuditLogs/, null],
    ];
    const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(logGroupPlaces.length);
    for (const [id, group] of groups) {
      const place = logGroupPlaces.find(([pattern]) => pattern.test(id));
      expect({ id, known: place !== undefined }).toEqual({ id, known: true });
      if (place?.[1]) derived.set(place[1], group.Properties.RetentionInDays);
    }
    const [, usage] = resourcesOf(template, 'AWS::DynamoDB::Table').find(([id]) => /RelayTablesUsage/.test(id)) as [string, any];
    const recoveryDays = usage.Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled ? (usage.Properties.PointInTimeRecoverySpecification.RecoveryPeriodInDays ?? 35) : 0;
    derived.set('usage table', USAGE_RETENTION_DAYS + recoveryDays);
    // The trail keeps its files for a year: it must record none of the relay's own per-request calls.
    const [, trail] = resourcesOf(template, 'AWS::CloudTrail::Trail')[0];
    const dataSelectors = (trail.Properties.AdvancedEventSelectors as any[]).filter((s) => s.FieldSelectors.some((f: any) => f.Equals?.[0] === 'Data'));
    const excludesRelay = dataSelectors.every((s) => s.FieldSelectors.some((f: any) => f.Field === 'userIdentity.arn' && f.NotStartsWith?.some((p: string) => /assumed-role\/.*-relay\/$/.test(p))));
    if (!excludesRelay) derived.set('CloudTrail bucket (Object Lock) and trail log group', 400);
    // Backups: the usage table must be in none.
    const backedUp = JSON.stringify(resourcesOf(template, 'AWS::Backup::BackupSelection').map(([, s]) => s.Properties.BackupSelection.Resources));
    if (/RelayTablesUsage/.test(backedUp)) derived.set('AWS Backup vault', 35);

    const listed = new Map(deployed.stored.filter((s) => s.requestMetadata).map((s) => [s.where, s.retentionDays as number]));
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(derived));
    for (const days of listed.values()) expect(days).toBeLessThanOrEqual(USAGE_RETENTION_DAYS);
    // What is listed as not holding request metadata says why.
    expect(deployedEntry(/^audit trail/).retentionDays).toBe(400);
    expect((deployed.stored.find((s) => s.where === 'AWS Backup vault') as { what: string }).what).toMatch(/never the usage table/);
  });

  test('logs: every log group keeps exactly the stated days', () => {
    for (const [, group] of resourcesOf(template, 'AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBe(LOG_RETENTION_DAYS);
    expect(deployedEntry(/^relay log line/).retentionDays).toBe(LOG_RETENTION_DAYS);
  });

  test('access logs: the format holds exactly the stated fields', () => {
    const [, stage] = resourcesOf(template, 'AWS::ApiGateway::Stage')[0];
    expect(Object.keys(JSON.parse(stage.Properties.AccessLogSetting.Format))).toEqual(deployedEntry(/^API access log/).fields);
    expect(Object.keys(ACCESS_LOG_FIELDS)).toEqual(deployedEntry(/^API access log/).fields);
  });

  test('audit trail: the function states the bucket\'s object-lock retention', () => {
    const [, bucket] = resourcesOf(template, 'AWS::S3::Bucket').find(([id]) => /^RelayAuditBucket/.test(id)) as [string, any];
    const [, fn] = resourcesOf(template, 'AWS::Lambda::Function').find(([id]) => /^RelayFunction/.test(id)) as [string, any];
    expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Days).toBe(400);
    expect(fn.Properties.Environment.Variables.MIXROUTE_TRAIL_RETENTION_DAYS).toBe('400');
    expect(deployedEntry(/^audit trail/).retentionDays).toBe(400);
  });
});
