/**
 * The report's aggregation (the same `summarise` as `mixroute usage`): buckets per hour up to 48 h
 * and per day beyond, series per key or model with the smallest folded into "(other)", errors by
 * outcome with limit refusals apart, shares, and nothing per record in what it returns.
 */
import { buildUsageReport, errorClass, exportedRecord, EXPORTED_RECORD_FIELDS, summariseUsage } from '../../../lambda/admin/usage-report';
import { buildUsageRecord, USAGE_FIELDS } from '../../../lambda/core/usage';
import { seedUsage } from '../../helpers/usage-seed';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-12-01T14:30:00.000Z');

function record(keyId: string, model: string, at: number, extra: Partial<Parameters<typeof buildUsageRecord>[0]> = {}) {
  return buildUsageRecord({
    keyId, requestId: `req_${keyId}_${at}_${Math.random()}`, startedAt: at, finishedAt: at + 40, model, provider: 'openai',
    inputTokens: 10, outputTokens: 5, cachedInputTokens: 2, reasoningTokens: 1, usageSource: 'provider', status: 200, outcome: 'ok', streamed: false, completed: true, ...extra,
  });
}

test('24 h: one bucket per UTC hour from the hour the period starts in; values land in their hour', () => {
  const records = [record('key_a', 'm1', NOW - 23 * HOUR), record('key_a', 'm1', NOW - 23 * HOUR + 60_000), record('key_b', 'm2', NOW - 10 * 60_000)];
  const report = buildUsageReport(records, { by: 'key', sinceMs: NOW - DAY, untilMs: NOW });
  expect(report.bucket).toBe('hour');
  expect(report.buckets).toHaveLength(25);
  expect(report.buckets[0]).toBe('2026-11-30T14:00:00.000Z');
  expect(report.buckets.at(-1)).toBe('2026-12-01T14:00:00.000Z');
  const requests = report.charts.find((c) => c.metric === 'requests')!;
  expect(requests.series.map((s) => s.name)).toEqual(['key_a', 'key_b']);
  expect(requests.series[0].points[1]).toBe(2); // 15:30 on the 30th
  expect(requests.series[1].points[24]).toBe(1);
  expect(requests.series.every((s) => s.points.length === 25)).toBe(true);
  const input = report.charts.find((c) => c.metric === 'inputTokens')!;
  expect(input.series[0].points.reduce((a, b) => a + b)).toBe(20);
});

test('48 h is still hourly; 7 days is daily (UTC days, the partial first and last included)', () => {
  expect(buildUsageReport([], { by: 'key', sinceMs: NOW - 48 * HOUR, untilMs: NOW }).bucket).toBe('hour');
  const week = buildUsageReport([record('key_a', 'm', NOW - 7 * DAY + 1000)], { by: 'model', sinceMs: NOW - 7 * DAY, untilMs: NOW });
  expect(week.bucket).toBe('day');
  expect(week.buckets).toEqual(['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01'].map((d) => `${d}T00:00:00.000Z`));
  expect(week.charts[0].series).toEqual([{ name: 'm', label: 'm', points: [1, 0, 0, 0, 0, 0, 0, 0] }]);
});

test('records outside the period are left out of every figure', () => {
  const report = buildUsageReport([record('key_a', 'm', NOW - 2 * DAY), record('key_a', 'm', NOW + HOUR), record('key_a', 'm', NOW - HOUR)], { by: 'key', sinceMs: NOW - DAY, untilMs: NOW });
  expect(report.records).toBe(1);
  expect(report.totals.requests).toBe(1);
  expect(report.charts[0].series[0].points.reduce((a, b) => a + b)).toBe(1);
});

test('more groups than fit: the busiest are charted, the rest folded into one "(other)" series; tables keep every group', () => {
  const keyIds = Array.from({ length: 12 }, (_, i) => `key_${String(i).padStart(2, '0')}`);
  const records = keyIds.flatMap((keyId, i) => Array.from({ length: 12 - i }, (_, j) => record(keyId, 'm', NOW - j * 60_000 - 1000)));
  const names = new Map(keyIds.map((id, i) => [id, `team-${i}`]));
  const report = buildUsageReport(records, { by: 'key', sinceMs: NOW - DAY, untilMs: NOW, keyNames: names });
  const series = report.charts[0].series;
  expect(series).toHaveLength(9);
  expect(series.slice(0, 8).map((s) => s.name)).toEqual(keyIds.slice(0, 8));
  expect(series[0].label).toBe('team-0 (key_00)');
  expect(series[8]).toMatchObject({ name: '(other)', label: 'other keys (4)' });
  expect(series[8].points.reduce((a, b) => a + b)).toBe(4 + 3 + 2 + 1);
  expect(report.keys).toHaveLength(12);
  expect(report.keys[0]).toMatchObject({ group: 'key_00', name: 'team-0', requests: 12 });
  // Nine groups fit without folding one into "(other)".
  expect(buildUsageReport(records.filter((r) => keyIds.indexOf(r.keyId) < 9), { by: 'key', sinceMs: NOW - DAY, untilMs: NOW }).charts[0].series.map((s) => s.name)).toEqual(keyIds.slice(0, 9));
});

test('errors by outcome, with the relay\'s and the provider\'s limit refusals counted as rate limits', () => {
  const failed = (outcome: 'upstream_error' | 'timeout' | 'aborted' | 'client_error' | 'relay_error', errorCode?: string) => record('key_a', 'm', NOW - HOUR, { outcome, errorCode: errorCode as never, status: 500 });
  const records = [
    failed('upstream_error', 'upstream_error'), failed('upstream_error', 'upstream_rate_limited'), failed('timeout', 'upstream_timeout'), failed('aborted'),
    failed('client_error', 'rate_limited'), failed('client_error', 'quota_exceeded'), failed('client_error', 'concurrency_limited'), failed('client_error', 'invalid_request'),
    failed('relay_error', 'internal_error'), record('key_a', 'm', NOW - HOUR),
  ];
  expect(records.map(errorClass)).toEqual(['upstream_error', 'rate_limited', 'timeout', 'aborted', 'rate_limited', 'rate_limited', 'rate_limited', 'client_error', 'relay_error', undefined]);
  const report = buildUsageReport(records, { by: 'key', sinceMs: NOW - DAY, untilMs: NOW });
  expect(Object.fromEntries(report.errors.map((s) => [s.name, s.points.reduce((a, b) => a + b)]))).toEqual({ upstream_error: 1, timeout: 1, aborted: 1, rate_limited: 4, client_error: 1, relay_error: 1 });
  expect(report.errors.every((s) => s.points.length === report.buckets.length)).toBe(true);
  expect(report.keys[0].errorsByClass).toEqual({ upstream_error: 1, timeout: 1, aborted: 1, rate_limited: 4, client_error: 1, relay_error: 1 });
  expect(report.totals).toMatchObject({ group: '(total)', requests: 10, errors: 9 });
});

test('shares of requests and tokens add up to 1; a key no longer in the keys table is named as unknown', () => {
  const records = [record('key_a', 'm', NOW - HOUR), record('key_a', 'm', NOW - HOUR), record('key_b', 'm', NOW - HOUR, { inputTokens: 70, outputTokens: 0 })];
  const report = buildUsageReport(records, { by: 'model', sinceMs: NOW - DAY, untilMs: NOW, keyNames: new Map([['key_a', 'alpha']]) });
  expect(report.keys.map((r) => [r.name, r.shareOfRequests, r.shareOfTokens])).toEqual([['alpha', 2 / 3, 30 / 100], ['(unknown key)', 1 / 3, 70 / 100]]);
  expect(report.models).toEqual([expect.objectContaining({ group: 'm', shareOfRequests: 1, shareOfTokens: 1 })]);
  expect(report.models[0].name).toBeUndefined();
});

test('the per-key rows are the rows `mixroute usage` prints (one aggregation)', () => {
  const records = seedUsage({ keyIds: ['key_a', 'key_b', 'key_c'], models: ['m1', 'm2'], count: 600, nowMs: NOW, periodMs: DAY });
  const report = buildUsageReport(records, { by: 'key', sinceMs: NOW - DAY, untilMs: NOW });
  const rows = summariseUsage(records, 'key');
  const usageRow = (row: object) => Object.fromEntries(Object.entries(row).filter(([field]) => !['name', 'errorsByClass', 'shareOfRequests', 'shareOfTokens'].includes(field)));
  expect(report.keys.map(usageRow)).toEqual(rows.filter((r) => r.group !== '(total)'));
  expect(usageRow(report.totals)).toEqual(rows.at(-1));
});

test('the report grows with groups and buckets, not with records: 100,000 records aggregate to a few kilobytes', () => {
  const records = seedUsage({ keyIds: Array.from({ length: 20 }, (_, i) => `key_${i}`), models: ['m1', 'm2', 'm3', 'm4'], count: 100_000, nowMs: NOW, periodMs: 7 * DAY - 1 });
  expect(records).toHaveLength(100_000);
  const report = buildUsageReport(records, { by: 'key', sinceMs: NOW - 7 * DAY, untilMs: NOW });
  expect(report.records).toBe(100_000);
  expect(report.charts[0].series.reduce((sum, s) => sum + s.points.reduce((a, b) => a + b), 0)).toBe(100_000);
  const text = JSON.stringify(report);
  expect(text.length).toBeLessThan(40_000);
  expect(text).not.toContain('req_seed_');
});

test('--records rows hold every schema field in order: zero for counts older records lack, null for no error code', () => {
  expect(EXPORTED_RECORD_FIELDS).toEqual(Object.keys(USAGE_FIELDS));
  const older: Record<string, unknown> = { ...record('key_a', 'm', NOW) };
  delete older.cachedInputTokens;
  delete older.reasoningTokens;
  const row = exportedRecord(older as never);
  expect(Object.keys(row)).toEqual(EXPORTED_RECORD_FIELDS);
  expect(row).toMatchObject({ keyId: 'key_a', cachedInputTokens: 0, reasoningTokens: 0, errorCode: null, outcome: 'ok' });
});
