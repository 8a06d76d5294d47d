/**
 * Metering: the per-request trace and its one usage record, written on every exit path of a
 * request that passed authentication (success, client error, upstream error, abort, timeout).
 * The record is logged, counted in metrics, stored with one retry layer (its content-free copy
 * goes to the log for replay when the store stays down) and charged to the key's quotas.
 */
import { randomUUID } from 'node:crypto';
import { withDeadline } from './deadline';
import type { ErrorCode } from './errors';
import type { ExecutionContext } from './http';
import type { Hold, LimitEnforcer } from './limits';
import type { Logger } from './log';
import type { ClientKey, Clock, UsageStore } from './ports';
import type { TokenCounts } from './provider';
import { buildUsageRecord, type Outcome, type RecordedEndpoint, type UsageRecord, type UsageSource } from './usage';
import type { AuthFailure } from './auth';

/** Hooks for the host's metrics (CloudWatch EMF in Lambda); all optional. */
export interface RelayMetrics {
  authFailed?(reason: AuthFailure): void;
  usageWriteFailed?(record: UsageRecord): void;
  requestFinished?(record: UsageRecord): void;
  /** A limit counter could not be read or written (a limited key was refused, or a settlement was lost). */
  limitCheckFailed?(): void;
}

export interface Finish {
  status: number;
  outcome: Outcome;
  errorCode?: ErrorCode;
  /** Token counts read from the upstream answer; absent when the provider was not reached. */
  counts?: TokenCounts & { fromProvider: boolean; contentEvents?: number; responseBytes?: number };
  completed?: boolean;
}

/** Per-request state; `finish` records once, whatever path the request takes. */
export class RequestTrace {
  readonly requestId = `req_${randomUUID().replace(/-/g, '')}`;
  readonly startedAt: number;
  key?: ClientKey;
  model?: string;
  provider?: string;
  endpoint?: RecordedEndpoint;
  /** What the request holds against its key's limits (a concurrency slot, a token reservation). */
  readonly hold: Hold = {};
  streamed = false;
  requestBytes = 0;
  private finished = false;

  constructor(
    private readonly meter: UsageMeter,
    private readonly ctx: ExecutionContext,
  ) {
    this.startedAt = meter.now();
  }

  finish(result: Finish): void {
    if (this.finished) return;
    this.finished = true;
    this.meter.record(this, result, this.ctx);
  }
}

/** The counts to record, estimated where the provider gave none (and saying so). */
export function countsToRecord(requestBytes: number, counts: Finish['counts']): TokenCounts & { source: UsageSource } {
  if (!counts) return { inputTokens: 0, outputTokens: 0, source: 'none' };
  if (counts.fromProvider) return { ...counts, inputTokens: counts.inputTokens ?? 0, outputTokens: counts.outputTokens ?? 0, source: 'provider' };
  // Estimates: ~4 bytes per token of JSON, ~1 token per streamed content event.
  const inputTokens = counts.inputTokens ?? Math.ceil(requestBytes / 4);
  const outputTokens = counts.outputTokens ?? counts.contentEvents ?? Math.ceil((counts.responseBytes ?? 0) / 4);
  return { ...counts, inputTokens, outputTokens, source: 'estimated' };
}

export interface UsageMeterDeps {
  readonly usage: UsageStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics?: RelayMetrics;
  readonly limits?: LimitEnforcer;
  /** Delays before retrying a failed usage write; after the last, the record goes to the log. */
  readonly usageRetryDelaysMs?: readonly number[];
  /** The most one usage write attempt may take. */
  readonly storeTimeoutMs?: number;
}

export class UsageMeter {
  constructor(private readonly deps: UsageMeterDeps) {}

  now(): number {
    return this.deps.clock.now();
  }

  /** Builds, logs and stores the request's one usage record (called once, by RequestTrace.finish). */
  record(trace: RequestTrace, result: Finish, ctx: ExecutionContext): void {
    const finishedAt = this.now();
    const counted = countsToRecord(trace.requestBytes, result.counts);
    if (!trace.key) {
      this.deps.logger.log('request', {
        requestId: trace.requestId,
        model: trace.model,
        provider: trace.provider,
        status: result.status,
        outcome: result.outcome,
        errorCode: result.errorCode,
        latencyMs: Math.round(finishedAt - trace.startedAt),
      });
      return;
    }
    const record = buildUsageRecord({
      keyId: trace.key.id,
      requestId: trace.requestId,
      startedAt: trace.startedAt,
      finishedAt,
      model: trace.model,
      provider: trace.provider,
      endpoint: trace.endpoint,
      inputTokens: counted.inputTokens,
      outputTokens: counted.outputTokens,
      cachedInputTokens: counted.cachedInputTokens,
      cacheWriteTokens: counted.cacheWriteTokens,
      reasoningTokens: counted.reasoningTokens,
      usageSource: counted.source,
      status: result.status,
      outcome: result.outcome,
      errorCode: result.errorCode,
      streamed: trace.streamed,
      completed: result.completed ?? false,
    });
    this.deps.logger.log('request', { ...record });
    this.deps.metrics?.requestFinished?.(record);
    ctx.waitUntil(this.write(record));
    if (this.deps.limits && trace.key.limits) {
      ctx.waitUntil(this.deps.limits.finish(trace.key, trace.hold, record.inputTokens + record.outputTokens, record.requestId));
    }
  }

  /** Retries with backoff; if the store stays down, the content-free record goes to the log. */
  private async write(record: UsageRecord): Promise<void> {
    const delays = this.deps.usageRetryDelaysMs ?? [50, 250, 1000];
    for (let attempt = 0; ; attempt++) {
      try {
        await withDeadline(this.deps.usage.put(record), this.deps.storeTimeoutMs ?? 2_000, 'usage write');
        return;
      } catch {
        if (attempt >= delays.length) {
          this.deps.logger.log('usage_write_failed', { ...record, attempt: attempt + 1 });
          this.deps.metrics?.usageWriteFailed?.(record);
          return;
        }
        this.deps.logger.log('usage_write_retried', { requestId: record.requestId, attempt: attempt + 1 });
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
      }
    }
  }
}

export function outcomeOf(error: { code: ErrorCode; status: number }): Outcome {
  if (error.code === 'client_closed') return 'aborted';
  if (error.code === 'upstream_timeout') return 'timeout';
  if (error.code === 'upstream_rejected' || error.status < 500) return error.code === 'upstream_rate_limited' ? 'upstream_error' : 'client_error';
  return error.code.startsWith('upstream') ? 'upstream_error' : 'relay_error';
}
