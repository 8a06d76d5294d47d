/**
 * Per-key limits, counted with atomic counters shared by every relay instance (named by key id and
 * period, holding numbers only): requests per minute, requests open at once, and token quotas per
 * UTC day and month. Token quotas hold under parallel load: before forwarding, a request reserves
 * its worst case (input estimate + its max output tokens) with one conditional update, admitted
 * only while the period's count is below the quota, and settles to the real count afterwards; so
 * parallel requests overshoot a quota by at most one reservation. Over a limit the caller gets 429
 * with Retry-After before anything goes upstream. When the counter store fails, a key with limits is
 * refused (503, fail closed) and the failure is counted; keys without limits never touch it.
 */
import { withDeadline } from './deadline';
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
    open: `${keyId}#open`,
  };
}

const secondsUntil = (endsAt: number, now: number) => String(Math.max(1, Math.ceil((endsAt - now) / 1000)));
/** Counters outlive their period a little, then DynamoDB's TTL removes them. */
const expiry = (endsAt: number) => Math.ceil(endsAt / 1000) + 3600;
/** No request lives longer than API Gateway's 15-minute stream: an open-requests lease this long outlives any. */
const OPEN_LEASE_SECONDS = 16 * 60;

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

/** What a request holds against its key's limits until it finishes. */
export interface Hold {
  /** The open-requests slot it took. */
  slot?: string;
  /** Tokens reserved against the day and month quotas, and when (which periods). */
  reservation?: { readonly tokens: number; readonly at: number; readonly day: boolean; readonly month: boolean };
}

export interface LimitMetrics {
  limitCheckFailed?(): void;
}

function quotaError(period: 'daily' | 'monthly', retryAfter: string, limit: number): RelayError {
  return new RelayError(429, 'quota_exceeded', `This key has used its ${period} token quota. It resets at the start of the next UTC ${period === 'daily' ? 'day' : 'month'}.`, {
    'retry-after': retryAfter,
    ...rateLimitHeaders({ tokens: { limit, remaining: 0, resetSeconds: Number(retryAfter) } }),
    // A quota resets in hours: tell the SDKs not to sit in a retry loop until then.
    'x-should-retry': 'false',
  });
}

function storeUnavailable(): RelayError {
  return new RelayError(503, 'limit_store_unavailable', "The relay cannot check this key's limits right now, so it does not serve it. Retry shortly.", { 'retry-after': '2' });
}

export class LimitEnforcer {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { readonly timeoutMs?: number; readonly metrics?: LimitMetrics } = {},
  ) {}

  /** A counter call within the store deadline; any failure refuses the (limited) request and is counted. */
  private async call<T>(work: () => Promise<T>, requestId: string, keyId: string): Promise<T> {
    try {
      return await withDeadline(work(), this.options.timeoutMs ?? 2_000, 'limit counter');
    } catch {
      this.failed(requestId, keyId);
      throw storeUnavailable();
    }
  }

  private failed(requestId: string, keyId: string): void {
    this.logger.log('limit_check_failed', { requestId, keyId });
    this.options.metrics?.limitCheckFailed?.();
  }

  /**
   * On arrival: the per-minute request count and a slot among the key's open requests. Throws 429
   * over a limit, 503 when the counters cannot be reached; records what the request holds in `hold`.
   */
  async admit(key: ClientKey, requestId: string, hold: Hold): Promise<LimitStatus | undefined> {
    const limits = key.limits;
    if (!limits) return undefined;
    const now = this.clock.now();
    const names = counterNames(key.id, now);
    const status: { -readonly [K in keyof LimitStatus]: LimitStatus[K] } = {};
    if (limits.requestsPerMinute !== undefined) {
      const period = minute(now);
      const count = await this.call(() => this.counters.add(names.requests, 1, expiry(period.endsAt)), requestId, key.id);
      const reset = secondsUntil(period.endsAt, now);
      status.requests = { limit: limits.requestsPerMinute, remaining: limits.requestsPerMinute - count, resetSeconds: Number(reset) };
      if (count > limits.requestsPerMinute) {
        throw new RelayError(429, 'rate_limited', `This key is limited to ${limits.requestsPerMinute} requests per minute. Retry after the time in Retry-After.`, {
          'retry-after': reset,
          ...rateLimitHeaders(status),
        });
      }
    }
    if (limits.tokensPerDay !== undefined || limits.tokensPerMonth !== undefined) {
      const [usedToday, usedThisMonth] = await this.call(() => this.counters.read([names.day, names.month]), requestId, key.id);
      status.tokens =
        limits.tokensPerDay !== undefined
          ? { limit: limits.tokensPerDay, remaining: limits.tokensPerDay - usedToday, resetSeconds: Number(secondsUntil(day(now).endsAt, now)) }
          : { limit: limits.tokensPerMonth as number, remaining: (limits.tokensPerMonth as number) - usedThisMonth, resetSeconds: Number(secondsUntil(month(now).endsAt, now)) };
    }
    if (limits.maxConcurrency !== undefined) {
      const nowSeconds = Math.floor(now / 1000);
      const acquired = await this.call(() => this.counters.acquireSlot(names.open, limits.maxConcurrency as number, nowSeconds + OPEN_LEASE_SECONDS, nowSeconds), requestId, key.id);
      if (!acquired) {
        throw new RelayError(429, 'concurrency_limited', `This key may have ${limits.maxConcurrency} requests open at once. Retry when one has finished.`, {
          'retry-after': '1',
          ...rateLimitHeaders(status),
        });
      }
      hold.slot = names.open;
    }
    return status;
  }

  /**
   * Before forwarding: reserves the request's worst case against the key's token quotas, each with
   * one conditional update admitted only while the period's count is below its quota.
   */
  async reserve(key: ClientKey, tokens: number, requestId: string, hold: Hold): Promise<void> {
    const limits = key.limits;
    if (!limits || tokens <= 0 || (limits.tokensPerDay === undefined && limits.tokensPerMonth === undefined)) return;
    const now = this.clock.now();
    const names = counterNames(key.id, now);
    const reservation = { tokens, at: now, day: false, month: false };
    if (limits.tokensPerDay !== undefined) {
      const ok = await this.call(() => this.counters.addIfBelow(names.day, tokens, limits.tokensPerDay as number, expiry(day(now).endsAt)), requestId, key.id);
      if (!ok) throw quotaError('daily', secondsUntil(day(now).endsAt, now), limits.tokensPerDay);
      reservation.day = true;
      hold.reservation = reservation;
    }
    if (limits.tokensPerMonth !== undefined) {
      const ok = await this.call(() => this.counters.addIfBelow(names.month, tokens, limits.tokensPerMonth as number, expiry(month(now).endsAt)), requestId, key.id);
      if (!ok) throw quotaError('monthly', secondsUntil(month(now).endsAt, now), limits.tokensPerMonth);
      reservation.month = true;
      hold.reservation = reservation;
    }
  }

  /** When the request is done: settles the reservation to the real count and frees the slot. */
  async finish(key: ClientKey, hold: Hold, usedTokens: number, requestId: string): Promise<void> {
    const work: Promise<unknown>[] = [];
    const reservation = hold.reservation;
    const limits = key.limits;
    if (limits && (limits.tokensPerDay !== undefined || limits.tokensPerMonth !== undefined)) {
      const at = reservation?.at ?? this.clock.now();
      const names = counterNames(key.id, at);
      // Reserved periods get the difference; periods a request never reserved (it failed before) get what it used.
      const dayDelta = usedTokens - (reservation?.day ? reservation.tokens : 0);
      const monthDelta = usedTokens - (reservation?.month ? reservation.tokens : 0);
      if (limits.tokensPerDay !== undefined && dayDelta !== 0) work.push(this.counters.add(names.day, dayDelta, expiry(day(at).endsAt)));
      if (limits.tokensPerMonth !== undefined && monthDelta !== 0) work.push(this.counters.add(names.month, monthDelta, expiry(month(at).endsAt)));
    }
    if (hold.slot) work.push(this.counters.add(hold.slot, -1, Math.floor(this.clock.now() / 1000) + OPEN_LEASE_SECONDS));
    if (work.length === 0) return;
    try {
      await withDeadline(Promise.all(work), this.options.timeoutMs ?? 2_000, 'limit settlement');
    } catch {
      this.failed(requestId, key.id);
    }
  }
}

/** A request's worst case in tokens: its input (about 4 bytes of JSON per token) and its output cap. */
export function worstCaseTokens(requestBytes: number, body: Record<string, unknown>, defaultOutput: number): number {
  const cap = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].find((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  return Math.ceil(requestBytes / 4) + Math.floor(cap ?? defaultOutput);
}
