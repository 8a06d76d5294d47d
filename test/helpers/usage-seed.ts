/**
 * Deterministic usage records for the report's tests and benchmark: keys × models spread over a
 * period, with every outcome (and the limit error codes that count as rate limits).
 */
import type { ErrorCode } from '../../lambda/core/errors';
import { buildUsageRecord, type Outcome, type UsageRecord } from '../../lambda/core/usage';

export interface SeedOptions {
  readonly keyIds: readonly string[];
  readonly models: readonly string[];
  /** Records, spread evenly over [nowMs - periodMs, nowMs). */
  readonly count: number;
  readonly nowMs: number;
  readonly periodMs: number;
}

/** Every 10th record fails, cycling through these. */
export const SEED_FAILURES: readonly { outcome: Outcome; errorCode?: ErrorCode; status: number }[] = [
  { outcome: 'upstream_error', errorCode: 'upstream_error', status: 502 },
  { outcome: 'timeout', errorCode: 'upstream_timeout', status: 504 },
  { outcome: 'aborted', status: 499 },
  { outcome: 'client_error', errorCode: 'rate_limited', status: 429 },
  { outcome: 'upstream_error', errorCode: 'upstream_rate_limited', status: 429 },
  { outcome: 'client_error', errorCode: 'invalid_request', status: 400 },
];

export function seedUsage(options: SeedOptions): UsageRecord[] {
  const step = options.periodMs / options.count;
  return Array.from({ length: options.count }, (_, i) => {
    const startedAt = Math.floor(options.nowMs - options.periodMs + i * step);
    const failure = i % 10 === 9 ? SEED_FAILURES[Math.floor(i / 10) % SEED_FAILURES.length] : undefined;
    return buildUsageRecord({
      keyId: options.keyIds[i % options.keyIds.length],
      requestId: `req_seed_${i.toString(36).padStart(6, '0')}`,
      startedAt,
      finishedAt: startedAt + 20 + (i % 97) * 3,
      model: options.models[Math.floor(i / options.keyIds.length) % options.models.length],
      provider: 'openai',
      endpoint: 'chat',
      inputTokens: 100 + (i % 7),
      outputTokens: 20 + (i % 5),
      cachedInputTokens: i % 3 === 0 ? 64 : 0,
      reasoningTokens: i % 4 === 0 ? 8 : 0,
      usageSource: 'provider',
      status: failure?.status ?? 200,
      outcome: failure?.outcome ?? 'ok',
      errorCode: failure?.errorCode,
      streamed: i % 2 === 0,
      completed: failure === undefined,
    });
  });
}
