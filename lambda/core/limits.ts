/**
 * Per-key limits: requests per minute and token quotas per UTC day and month, counted with atomic
 * counters shared by every relay instance. Counters are named by key id and period and hold a
 * number only. A request over a limit is refused with 429 and Retry-After before anything goes
 * upstream. If the counter store fails, the request is let through (limits protect budgets; the
 * key check, which protects access, fails closed) and the failure is logged.
 */
import { RelayError } from './errors';
import type { Logger } from './log';
import type { ClientKey, Clock, CounterStore } from './ports';

const MINUTE = 60_000;

interface Period {
  readonly name: string;
  readonly endsAt: number;
}

function minute(now: number): Period {
  const start = Math.floor(now / MINUTE) * MINUTE;
  return { name: new Date(start).toISOString().slice(0, 16), endsAt: start + MINUTE };
}

function day(now: number): Period {
  const d = new Date(now);
  return { name: d.toISOString().slice(0, 10), endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) };
}

function month(now: number): Period {
  const d = new Date(now);
  return { name: d.toISOString().slice(0, 7), endsAt: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

export function counterNames(keyId: string, now: number) {
  return {
    requests: `${keyId}#rpm#${minute(now).name}`,
    day: `${keyId}#day#${day(now).name}`,
    month: `${keyId}#month#${month(now).name}`,
  };
}

const secondsUntil = (endsAt: number, now: number) => String(Math.max(1, Math.ceil((endsAt - now) / 1000)));
/** Counters outlive their period a little, then DynamoDB's TTL removes them. */
const expiry = (endsAt: number) => Math.ceil(endsAt / 1000) + 3600;

/** What a limited key has left, for the x-ratelimit-* headers the relay answers with. */
export interface LimitStatus {
  readonly requests?: { readonly limit: number; readonly remaining: number; readonly resetSeconds: number };
  readonly tokens?: { readonly limit: number; readonly remaining: number; readonly resetSeconds: number };
}

/** OpenAI-style rate-limit headers for the key's own limits (never the provider's account-wide ones). */
export function rateLimitHeaders(status: LimitStatus | undefined): Record<string, string> {
  if (!status) return {};
  const headers: Record<string, string> = {};
  for (const [kind, value] of [['requests', status.requests], ['tokens', status.tokens]] as const) {
    if (!value) continue;
    headers[`x-ratelimit-limit-${kind}`] = String(value.limit);
    headers[`x-ratelimit-remaining-${kind}`] = String(Math.max(0, value.remaining));
    headers[`x-ratelimit-reset-${kind}`] = `${value.resetSeconds}s`;
  }
  return headers;
}

export class LimitEnforcer {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Throws a 429 RelayError if the key is over a limit; counts the request and says what is left otherwise. */
  async admit(key: ClientKey, requestId: string): Promise<LimitStatus | undefined> {
    const limits = key.limits;
    if (!limits) return undefined;
    const now = this.clock.now();
    const names = counterNames(key.id, now);
    const status: { -readonly [K in keyof LimitStatus]: LimitStatus[K] } = {};
    try {
      if (limits.tokensPerDay !== undefined || limits.tokensPerMonth !== undefined) {
        const [usedToday, usedThisMonth] = await this.counters.read([names.day, names.month]);
        if (limits.tokensPerDay !== undefined && usedToday >= limits.tokensPerDay) {
          throw quotaError('daily', secondsUntil(day(now).endsAt, now), limits.tokensPerDay);
        }
        if (limits.tokensPerMonth !== undefined && usedThisMonth >= limits.tokensPerMonth) {
          throw quotaError('monthly', secondsUntil(month(now).endsAt, now), limits.tokensPerMonth);
        }
        status.tokens =
          limits.tokensPerDay !== undefined
            ? { limit: limits.tokensPerDay, remaining: limits.tokensPerDay - usedToday, resetSeconds: Number(secondsUntil(day(now).endsAt, now)) }
            : { limit: limits.tokensPerMonth as number, remaining: (limits.tokensPerMonth as number) - usedThisMonth, resetSeconds: Number(secondsUntil(month(now).endsAt, now)) };
      }
      if (limits.requestsPerMinute !== undefined) {
        const period = minute(now);
        const count = await this.counters.add(names.requests, 1, expiry(period.endsAt));
        const reset = secondsUntil(period.endsAt, now);
        status.requests = { limit: limits.requestsPerMinute, remaining: limits.requestsPerMinute - count, resetSeconds: Number(reset) };
        if (count > limits.requestsPerMinute) {
          throw new RelayError(429, 'rate_limited', `This key is limited to ${limits.requestsPerMinute} requests per minute. Retry after the time in Retry-After.`, {
            'retry-after': reset,
            ...rateLimitHeaders(status),
          });
        }
      }
    } catch (error) {
      if (error instanceof RelayError) throw error;
      this.logger.log('limit_check_failed', { requestId, keyId: key.id });
      return undefined;
    }
    return status;
  }

  /** Adds a finished request's tokens to the key's day and month counters (if it has quotas). */
  async recordTokens(key: ClientKey, tokens: number, requestId: string, at: number): Promise<void> {
    const limits = key.limits;
    if (!limits || tokens <= 0 || (limits.tokensPerDay === undefined && limits.tokensPerMonth === undefined)) return;
    const names = counterNames(key.id, at);
    try {
      await Promise.all([
        this.counters.add(names.day, tokens, expiry(day(at).endsAt)),
        this.counters.add(names.month, tokens, expiry(month(at).endsAt)),
      ]);
    } catch {
      this.logger.log('limit_check_failed', { requestId, keyId: key.id });
    }
  }
}

function quotaError(period: 'daily' | 'monthly', retryAfter: string, limit: number): RelayError {
  return new RelayError(429, 'quota_exceeded', `This key has used its ${period} token quota. It resets at the start of the next UTC ${period === 'daily' ? 'day' : 'month'}.`, {
    'retry-after': retryAfter,
    ...rateLimitHeaders({ tokens: { limit, remaining: 0, resetSeconds: Number(retryAfter) } }),
    // A quota resets in hours: tell the SDKs not to sit in a retry loop until then.
    'x-should-retry': 'false',
  });
}
