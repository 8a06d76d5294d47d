/** Aggregates usage records for `mixroute usage`: requests, tokens, errors and latency percentiles. */
import type { UsageRecord } from '../core/usage';

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

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summariseUsage(records: readonly UsageRecord[], by: UsageGrouping): UsageRow[] {
  const groups = new Map<string, UsageRecord[]>();
  for (const record of records) {
    const group = by === 'key' ? record.keyId : record.model;
    const list = groups.get(group);
    if (list) list.push(record);
    else groups.set(group, [record]);
  }
  const rows = [...groups.entries()].map(([group, list]) => summarise(group, list));
  rows.sort((a, b) => b.requests - a.requests || a.group.localeCompare(b.group));
  if (rows.length > 1) rows.push(summarise('(total)', records));
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
