/**
 * Aggregates usage records for `mixroute usage` (table, CSV, JSON and the HTML report): requests,
 * tokens, errors and latency percentiles per key or model, and per time bucket for the report.
 */
import { USAGE_FIELDS, type UsageRecord } from '../core/usage';

export type UsageGrouping = 'key' | 'model';

export interface UsageRow {
  readonly group: string;
  readonly requests: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  readonly errors: number;
  /** Requests whose counts were (partly) estimated by the relay. */
  readonly estimated: number;
  readonly p50LatencyMs: number;
  readonly p99LatencyMs: number;
}

/** The row that sums every group. */
const TOTAL = '(total)';

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summariseUsage(records: readonly UsageRecord[], by: UsageGrouping): UsageRow[] {
  const rows = groupUsage(records, by);
  if (rows.length > 1) rows.push(summarise(TOTAL, records));
  return rows;
}

/** One row per key or model, most requests first. */
export function groupUsage(records: readonly UsageRecord[], by: UsageGrouping): UsageRow[] {
  const groups = new Map<string, UsageRecord[]>();
  for (const record of records) {
    const group = by === 'key' ? record.keyId : record.model;
    const list = groups.get(group);
    if (list) list.push(record);
    else groups.set(group, [record]);
  }
  const rows = [...groups.entries()].map(([group, list]) => summarise(group, list));
  rows.sort((a, b) => b.requests - a.requests || a.group.localeCompare(b.group));
  return rows;
}

function sum(records: readonly UsageRecord[], field: 'inputTokens' | 'outputTokens' | 'cachedInputTokens' | 'cacheWriteTokens' | 'reasoningTokens'): number {
  return records.reduce((total, r) => total + (r[field] ?? 0), 0);
}

function summarise(group: string, records: readonly UsageRecord[]): UsageRow {
  const latencies = records.map((r) => r.latencyMs).sort((a, b) => a - b);
  return {
    group,
    requests: records.length,
    inputTokens: sum(records, 'inputTokens'),
    outputTokens: sum(records, 'outputTokens'),
    // Records written before these fields existed have none: they count as 0.
    cachedInputTokens: sum(records, 'cachedInputTokens'),
    cacheWriteTokens: sum(records, 'cacheWriteTokens'),
    reasoningTokens: sum(records, 'reasoningTokens'),
    errors: records.filter((r) => r.outcome !== 'ok').length,
    estimated: records.filter((r) => r.usageSource === 'estimated').length,
    p50LatencyMs: percentile(latencies, 50),
    p99LatencyMs: percentile(latencies, 99),
  };
}

/** How a failed request is shown in the report: rate limits (the relay's or the provider's) apart from other errors. */
export type ErrorClass = 'upstream_error' | 'timeout' | 'aborted' | 'rate_limited' | 'client_error' | 'relay_error';

export const ERROR_CLASSES: readonly { readonly name: ErrorClass; readonly label: string }[] = [
  { name: 'upstream_error', label: 'upstream errors' },
  { name: 'timeout', label: 'timeouts' },
  { name: 'aborted', label: 'aborts' },
  { name: 'rate_limited', label: 'rate limits' },
  { name: 'client_error', label: 'client errors' },
  { name: 'relay_error', label: 'relay errors' },
];

/** Refusals for a limit: the key's own (rate, quota, concurrency) and the provider's 429. */
const RATE_LIMIT_CODES: ReadonlySet<string> = new Set(['rate_limited', 'quota_exceeded', 'concurrency_limited', 'upstream_rate_limited']);

export function errorClass(record: UsageRecord): ErrorClass | undefined {
  if (record.outcome === 'ok') return undefined;
  if (record.errorCode !== undefined && RATE_LIMIT_CODES.has(record.errorCode)) return 'rate_limited';
  return record.outcome;
}

/** What each chart of the report counts, per time bucket. */
export const REPORT_METRICS = [
  { name: 'requests', label: 'Requests' },
  { name: 'inputTokens', label: 'Input tokens' },
  { name: 'outputTokens', label: 'Output tokens' },
  { name: 'cachedInputTokens', label: 'Cached input tokens' },
  { name: 'reasoningTokens', label: 'Reasoning tokens' },
] as const;

export type ReportMetric = (typeof REPORT_METRICS)[number]['name'];

export interface ReportRow extends UsageRow {
  /** The key's name (per-key rows; "(unknown key)" when the key is no longer in the keys table). */
  readonly name?: string;
  readonly errorsByClass: Readonly<Record<ErrorClass, number>>;
  /** Shares of the period's requests and of its tokens (input + output), 0 to 1. */
  readonly shareOfRequests: number;
  readonly shareOfTokens: number;
}

export interface ReportSeries {
  /** Key id, model name, error class, or "(other)" for the groups folded together. */
  readonly name: string;
  readonly label: string;
  /** One value per bucket. */
  readonly points: readonly number[];
}

export interface UsageReport {
  readonly since: string;
  readonly until: string;
  readonly by: UsageGrouping;
  /** Hours when the period is 48 h or less, else days (UTC). */
  readonly bucket: 'hour' | 'day';
  /** ISO start of each bucket. */
  readonly buckets: readonly string[];
  readonly records: number;
  readonly totals: ReportRow;
  readonly keys: readonly ReportRow[];
  readonly models: readonly ReportRow[];
  readonly charts: readonly { readonly metric: ReportMetric; readonly label: string; readonly series: readonly ReportSeries[] }[];
  readonly errors: readonly ReportSeries[];
}

export interface UsageReportOptions {
  readonly by: UsageGrouping;
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Key id → name, from the keys table. */
  readonly keyNames?: ReadonlyMap<string, string>;
  /** Groups charted on their own; the rest are folded into "(other)". */
  readonly maxSeries?: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
export const DEFAULT_MAX_SERIES = 8;
/** The series of the groups folded together. */
export const OTHER_SERIES = '(other)';
export const UNKNOWN_KEY_NAME = '(unknown key)';

/** How a model group is shown: the usage table records "-" for a request that named no model the relay serves. */
export function modelLabel(model: string): string {
  return model === '-' ? '- (no model served)' : model;
}

/**
 * Everything the HTML report shows, aggregated: per-key and per-model rows (the same `summarise` as
 * `mixroute usage`), and per-bucket series. Nothing of a single record is kept, so the embedded
 * report grows with groups × buckets, never with requests.
 */
export function buildUsageReport(records: readonly UsageRecord[], options: UsageReportOptions): UsageReport {
  const bucket = options.untilMs - options.sinceMs <= 48 * HOUR_MS ? 'hour' : 'day';
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const first = Math.floor(options.sinceMs / size) * size;
  // Every hour or day the period touches, the partial first and last included.
  const count = Math.max(1, Math.floor(options.untilMs / size) - Math.floor(options.sinceMs / size) + 1);
  // Each record's timestamp parsed once; the period's records with their times, in the same order.
  const inPeriod: UsageRecord[] = [];
  const inPeriodTimes: number[] = [];
  for (const record of records) {
    const time = Date.parse(record.timestamp);
    if (time < options.sinceMs || time > options.untilMs) continue;
    inPeriod.push(record);
    inPeriodTimes.push(time);
  }
  const names = options.keyNames ?? new Map<string, string>();
  const keys = withShares(groupUsage(inPeriod, 'key'), inPeriod, 'key', names);
  const models = withShares(groupUsage(inPeriod, 'model'), inPeriod, 'model', names);
  const [totals] = withShares([summarise(TOTAL, inPeriod)], inPeriod, 'key', names);
  const ranked = (options.by === 'key' ? keys : models).map((row) => row.group);
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  // With one more group than fits, charting it beats an "(other)" of one.
  const charted = new Set(ranked.length <= maxSeries + 1 ? ranked : ranked.slice(0, maxSeries));
  const seriesNames = [...ranked.filter((name) => charted.has(name)), ...(ranked.length > charted.size ? [OTHER_SERIES] : [])];
  const index = new Map(seriesNames.map((name, i) => [name, i]));
  const values = REPORT_METRICS.map(() => seriesNames.map(() => new Array<number>(count).fill(0)));
  const errorValues = ERROR_CLASSES.map(() => new Array<number>(count).fill(0));
  const errorIndex = new Map(ERROR_CLASSES.map((c, i) => [c.name, i]));
  for (const [r, record] of inPeriod.entries()) {
    const at = Math.min(count - 1, Math.floor((inPeriodTimes[r] - first) / size));
    const group = options.by === 'key' ? record.keyId : record.model;
    const s = index.get(charted.has(group) ? group : OTHER_SERIES) as number;
    REPORT_METRICS.forEach(({ name }, m) => {
      values[m][s][at] += name === 'requests' ? 1 : (record[name] ?? 0);
    });
    const failed = errorClass(record);
    if (failed) errorValues[errorIndex.get(failed) as number][at] += 1;
  }
  const label = (name: string) => {
    if (name === OTHER_SERIES) return `other ${options.by === 'key' ? 'keys' : 'models'} (${ranked.length - charted.size})`;
    return options.by === 'key' ? `${names.get(name) ?? UNKNOWN_KEY_NAME} (${name})` : modelLabel(name);
  };
  return {
    since: new Date(options.sinceMs).toISOString(),
    until: new Date(options.untilMs).toISOString(),
    by: options.by,
    bucket,
    buckets: Array.from({ length: count }, (_, i) => new Date(first + i * size).toISOString()),
    records: inPeriod.length,
    totals,
    keys,
    models,
    charts: REPORT_METRICS.map((metric, m) => ({
      metric: metric.name,
      label: metric.label,
      series: seriesNames.map((name, s) => ({ name, label: label(name), points: values[m][s] })),
    })),
    errors: ERROR_CLASSES.map((c, i) => ({ name: c.name, label: c.label, points: errorValues[i] })),
  };
}

function withShares(rows: readonly UsageRow[], records: readonly UsageRecord[], by: UsageGrouping, names: ReadonlyMap<string, string>): ReportRow[] {
  const classes = new Map<string, Record<ErrorClass, number>>();
  const empty = () => Object.fromEntries(ERROR_CLASSES.map((c) => [c.name, 0])) as Record<ErrorClass, number>;
  const total = empty();
  for (const record of records) {
    const failed = errorClass(record);
    if (!failed) continue;
    const group = by === 'key' ? record.keyId : record.model;
    let counts = classes.get(group);
    if (!counts) classes.set(group, (counts = empty()));
    counts[failed] += 1;
    total[failed] += 1;
  }
  const allRequests = records.length;
  const allTokens = records.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0);
  return rows.map((row) => ({
    ...row,
    ...(by === 'key' && row.group !== TOTAL ? { name: names.get(row.group) ?? UNKNOWN_KEY_NAME } : {}),
    errorsByClass: row.group === TOTAL ? total : classes.get(row.group) ?? empty(),
    shareOfRequests: allRequests === 0 ? 0 : row.requests / allRequests,
    shareOfTokens: allTokens === 0 ? 0 : (row.inputTokens + row.outputTokens) / allTokens,
  }));
}

/** The columns of `mixroute usage --records`: every usage field, in the schema's order. */
export const EXPORTED_RECORD_FIELDS = Object.keys(USAGE_FIELDS) as (keyof UsageRecord)[];

export type ExportedRecord = Record<keyof UsageRecord, string | number | boolean | null>;

/** A record with every field of the schema present: counts absent from older records as 0, no error code as null. */
export function exportedRecord(record: UsageRecord): ExportedRecord {
  const row = {} as ExportedRecord;
  for (const field of EXPORTED_RECORD_FIELDS) {
    const value = record[field];
    row[field] = value ?? (['cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'].includes(field) ? 0 : null);
  }
  return row;
}
