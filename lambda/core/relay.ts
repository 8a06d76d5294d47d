/**
 * The one request pipeline: authenticate → validate → route → forward → meter.
 * A web-standard Request goes in, a Response (with a streamed body where the caller asked for a
 * stream) comes out. Exactly one usage record is written for every request that passed
 * authentication, on every exit path; it is handed to the host through `ctx.waitUntil`.
 */
import { randomUUID } from 'node:crypto';
import { KeyAuthenticator, type AuthFailure } from './auth';
import { joinChunks, parseJsonObject, readBody } from './body';
import type { ProviderConfig, RelayConfig } from './config';
import { ProviderCredentials } from './credentials';
import { asRelayError, RelayError, type ApiFormat, type ErrorCode } from './errors';
import type { Logger } from './log';
import type { LimitEnforcer } from './limits';
import { privacyManifest, type PrivacyManifestOptions } from './privacy';
import type { ClientKey, Clock, ExecutionContext, Fetch, UsageStore } from './ports';
import { systemClock } from './ports';
import { formatFor, matchEndpoint, modelsForKey, orderCandidates, resolveRoute } from './routing';
import { joinAdjacent, SseEventSplitter } from './sse';
import { buildUsageRecord, type Outcome, type UsageRecord, type UsageSource } from './usage';
import { providerAdapter } from '../providers/registry';
import type { ForwardedEndpoint, MeterReading, TokenCounts, UpstreamRequest } from '../providers/types';

/** Hooks for the host's metrics (CloudWatch EMF in Lambda); all optional. */
export interface RelayMetrics {
  authFailed?(reason: AuthFailure): void;
  usageWriteFailed?(record: UsageRecord): void;
  requestFinished?(record: UsageRecord): void;
}

export interface RelayDeps {
  readonly config: RelayConfig;
  readonly keys: KeyAuthenticator;
  readonly usage: UsageStore;
  readonly credentials: ProviderCredentials;
  /** Per-key limits; absent means none are enforced. */
  readonly limits?: LimitEnforcer;
  readonly logger: Logger;
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  readonly metrics?: RelayMetrics;
  /** Delays before retrying a failed usage write; after the last, the record goes to the log. */
  readonly usageRetryDelaysMs?: readonly number[];
  /** What the privacy manifest states beyond the relay's own constants (the deployed trail's retention). */
  readonly privacy?: PrivacyManifestOptions;
  /** Source of randomness for weighted candidate order (tests pin it). */
  readonly random?: () => number;
}

export type RelayHandler = (request: Request, ctx: ExecutionContext) => Promise<Response>;

const encoder = new TextEncoder();

type ReadResult = { done: true; value?: Uint8Array } | { done: false; value: Uint8Array };

interface Finish {
  status: number;
  outcome: Outcome;
  errorCode?: ErrorCode;
  /** Token counts read from the upstream answer; absent when the provider was not reached. */
  counts?: TokenCounts & { fromProvider: boolean; contentEvents?: number; responseBytes?: number };
  completed?: boolean;
}

/** Per-request state; `finish` runs once, whatever path the request takes. */
class Trace {
  readonly requestId = `req_${randomUUID().replace(/-/g, '')}`;
  readonly startedAt: number;
  key?: ClientKey;
  model?: string;
  provider?: string;
  streamed = false;
  requestBytes = 0;
  private finished = false;

  constructor(
    private readonly relay: Relay,
    private readonly ctx: ExecutionContext,
  ) {
    this.startedAt = relay.now();
  }

  finish(result: Finish): void {
    if (this.finished) return;
    this.finished = true;
    this.relay.record(this, result, this.ctx);
  }
}

function tokens(trace: Trace, counts: Finish['counts']): { input: number; output: number; source: UsageSource } {
  if (!counts) return { input: 0, output: 0, source: 'none' };
  if (counts.fromProvider) return { input: counts.inputTokens ?? 0, output: counts.outputTokens ?? 0, source: 'provider' };
  // Estimates: ~4 bytes per token of JSON, ~1 token per streamed content event.
  const input = counts.inputTokens ?? Math.ceil(trace.requestBytes / 4);
  const output = counts.outputTokens ?? counts.contentEvents ?? Math.ceil((counts.responseBytes ?? 0) / 4);
  return { input, output, source: 'estimated' };
}

export class Relay {
  private readonly fetch: Fetch;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(private readonly deps: RelayDeps) {
    this.fetch = deps.fetch ?? ((url, init) => fetch(url, init));
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
  }

  now(): number {
    return this.clock.now();
  }

  /** Never throws: every failure becomes a response in the caller's API format. */
  readonly handle: RelayHandler = async (request, ctx) => {
    const trace = new Trace(this, ctx);
    const url = new URL(request.url);
    const format = formatFor(url.pathname, request.headers);
    try {
      const endpoint = matchEndpoint(request.method, url.pathname);
      if (endpoint.name === 'healthz') return json({ status: 'ok' }, trace.requestId);
      if (endpoint.name === 'privacy') return json(privacyManifest(this.deps.privacy), trace.requestId);
      trace.key = await this.deps.keys.authenticate(request.headers, (reason) => this.deps.metrics?.authFailed?.(reason));
      await this.deps.limits?.admit(trace.key, trace.requestId);
      if (endpoint.name === 'models') {
        const response = this.listModels(trace.key, format, trace.requestId);
        trace.finish({ status: 200, outcome: 'ok', completed: true });
        return response;
      }
      return await this.forward(request, endpoint.name, trace, ctx);
    } catch (error) {
      const relayError = ctx.signal?.aborted && !(error instanceof RelayError)
        ? new RelayError(499, 'client_closed', 'The client closed the request.')
        : asRelayError(error);
      trace.finish({
        status: relayError.status,
        outcome: outcomeOf(relayError),
        errorCode: relayError.code,
      });
      return relayError.toResponse(format, trace.requestId);
    }
  };

  private listModels(key: ClientKey, format: ApiFormat, requestId: string): Response {
    const routes = modelsForKey(this.deps.config, key);
    if (format === 'anthropic') {
      const data = routes.map((r) => ({ type: 'model', id: r.name, display_name: r.name, created_at: '1970-01-01T00:00:00Z' }));
      return json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }, requestId);
    }
    return json({ object: 'list', data: routes.map((r) => ({ id: r.name, object: 'model', created: 0, owned_by: r.provider })) }, requestId);
  }

  private async forward(request: Request, endpoint: ForwardedEndpoint, trace: Trace, ctx: ExecutionContext): Promise<Response> {
    const { config } = this.deps;
    const { settings } = config;
    const rawBody = await readBody(request, settings.maxBodyBytes);
    trace.requestBytes = rawBody.length;
    const body = parseJsonObject(rawBody);
    const route = resolveRoute(config, trace.key as ClientKey, endpoint, body.model);
    trace.model = route.name;
    trace.provider = route.provider;
    const deadline = trace.startedAt + settings.totalTimeoutMs;
    const candidates = orderCandidates(route.candidates, this.random);

    let lastError: RelayError | undefined;
    let retryAfterMs = 0;
    for (const [index, candidate] of candidates.entries()) {
      const isLast = index === candidates.length - 1;
      const provider = config.providers.get(candidate.provider) as ProviderConfig;
      // Retry-After speaks for the provider that sent it: honour it (up to a cap) before asking the same one again.
      if (index > 0 && retryAfterMs > 0 && candidates[index - 1].provider === provider.name) {
        await sleep(Math.min(retryAfterMs, settings.maxRetryAfterMs, deadline - this.now()), ctx.signal);
      }
      if (ctx.signal?.aborted) throw new RelayError(499, 'client_closed', 'The client closed the request.');
      if (this.now() >= deadline) throw lastError ?? new RelayError(504, 'upstream_timeout', 'The upstream provider did not answer in time.');
      trace.provider = provider.name;
      retryAfterMs = 0;

      let secret: string;
      try {
        secret = await this.deps.credentials.get(provider);
      } catch (error) {
        lastError = asRelayError(error);
        if (isLast) throw lastError;
        continue;
      }
      const adapter = providerAdapter(provider.type);
      let upstream: UpstreamRequest;
      try {
        upstream = adapter.buildRequest({ endpoint, provider, upstreamModel: candidate.model, body, rawBody, clientHeaders: request.headers, secret });
      } catch {
        // JSON.stringify of a pathological body (e.g. nesting too deep) is the caller's problem.
        throw new RelayError(400, 'invalid_request', 'Request body could not be forwarded.');
      }
      trace.streamed = upstream.stream;

      const exchange = new UpstreamExchange(settings, deadline - this.now(), ctx.signal);
      let response: Response;
      try {
        response = await this.fetch(upstream.url, {
          method: 'POST',
          headers: upstream.headers,
          body: upstream.body,
          signal: exchange.signal,
          redirect: 'manual',
        });
      } catch {
        exchange.close();
        // Nothing reached the caller yet: a connect error or a timeout before the first byte fails over.
        lastError = exchange.failure('before-headers');
        if (lastError.code === 'client_closed' || isLast) throw lastError;
        continue;
      } finally {
        exchange.headersArrived();
      }

      if (!response.ok) {
        exchange.close();
        await response.body?.cancel().catch(() => undefined);
        lastError = upstreamStatusError(response);
        if (isLast || !settings.retryStatuses.includes(response.status)) throw lastError;
        retryAfterMs = retryAfterToMs(response.headers.get('retry-after'), this.now());
        continue;
      }
      const contentType = response.headers.get('content-type') ?? '';
      if (upstream.stream && contentType.includes('text/event-stream') && response.body) {
        return this.streamResponse(response, upstream, adapter.format, exchange, trace);
      }
      return this.jsonResponse(response, adapter.jsonUsage, exchange, trace);
    }
    throw lastError ?? new RelayError(500, 'internal_error', 'The relay failed to process the request.');
  }

  private async jsonResponse(
    response: Response,
    jsonUsage: (body: unknown) => TokenCounts | undefined,
    exchange: UpstreamExchange,
    trace: Trace,
  ): Promise<Response> {
    let bytes: Uint8Array;
    try {
      bytes = await exchange.readAll(response);
    } catch {
      throw exchange.failure('mid-body');
    } finally {
      exchange.close();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      parsed = undefined;
    }
    const usage = jsonUsage(parsed);
    trace.finish({
      status: response.status,
      outcome: 'ok',
      completed: true,
      counts: usage ? { ...usage, fromProvider: true } : { fromProvider: false, responseBytes: bytes.length },
    });
    return new Response(bytes, {
      status: response.status,
      headers: { 'content-type': response.headers.get('content-type') || 'application/json', 'x-request-id': trace.requestId },
    });
  }

  private streamResponse(response: Response, upstream: UpstreamRequest, format: ApiFormat, exchange: UpstreamExchange, trace: Trace): Response {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const splitter = new SseEventSplitter();
    const meter = upstream.createMeter();
    let cancelled = false;
    const finish = (outcome: Outcome, errorCode?: ErrorCode, reading: MeterReading = meter.reading()) => {
      exchange.close();
      trace.finish({ status: response.status, outcome, errorCode, completed: reading.completed, counts: reading });
    };
    const endWithError = (controller: ReadableStreamDefaultController<Uint8Array>, error: RelayError, outcome: Outcome) => {
      controller.enqueue(encoder.encode(error.toStreamEvent(format)));
      controller.close();
      finish(outcome, error.code);
    };

    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          let chunk: ReadResult;
          try {
            chunk = await exchange.read(reader);
          } catch {
            if (cancelled) return;
            const error = exchange.failure('mid-body');
            endWithError(controller, error, error.code === 'upstream_timeout' ? 'timeout' : 'upstream_error');
            return;
          }
          if (chunk.done) {
            const tail = splitter.flush();
            if (tail && tail.raw.length > 0) {
              const out = tail.whole ? meter.onEvent(tail.raw) : tail.raw;
              if (out) controller.enqueue(out);
            }
            const reading = meter.reading();
            if (reading.upstreamError) {
              controller.close();
              finish('upstream_error', 'upstream_error', reading);
            } else if (!reading.completed) {
              endWithError(controller, new RelayError(502, 'upstream_bad_response', 'The upstream stream ended before it was complete.'), 'upstream_error');
            } else {
              controller.close();
              finish('ok', undefined, reading);
            }
            return;
          }
          const out: Uint8Array[] = [];
          for (const frame of splitter.push(chunk.value)) {
            const forwarded = frame.whole ? meter.onEvent(frame.raw) : frame.raw;
            if (forwarded) out.push(forwarded);
          }
          const parts = joinAdjacent(out);
          for (const part of parts) controller.enqueue(part);
          if (parts.length > 0) return;
        }
      },
      cancel: async () => {
        cancelled = true;
        finish('aborted');
        await reader.cancel().catch(() => undefined);
      },
    });
    return new Response(body, {
      status: response.status,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-request-id': trace.requestId,
      },
    });
  }

  /** Builds, logs and stores the request's one usage record (called once, by Trace.finish). */
  record(trace: Trace, result: Finish, ctx: ExecutionContext): void {
    const finishedAt = this.now();
    const counted = tokens(trace, result.counts);
    const base = {
      requestId: trace.requestId,
      model: trace.model,
      provider: trace.provider,
      status: result.status,
      outcome: result.outcome,
      errorCode: result.errorCode,
      latencyMs: Math.round(finishedAt - trace.startedAt),
    };
    if (!trace.key) {
      this.deps.logger.log('request', base);
      return;
    }
    const record = buildUsageRecord({
      keyId: trace.key.id,
      requestId: trace.requestId,
      startedAt: trace.startedAt,
      finishedAt,
      model: trace.model,
      provider: trace.provider,
      inputTokens: counted.input,
      outputTokens: counted.output,
      usageSource: counted.source,
      status: result.status,
      outcome: result.outcome,
      errorCode: result.errorCode,
      streamed: trace.streamed,
      completed: result.completed ?? false,
    });
    this.deps.logger.log('request', { ...record });
    this.deps.metrics?.requestFinished?.(record);
    ctx.waitUntil(this.writeUsage(record));
    if (this.deps.limits && trace.key.limits) {
      ctx.waitUntil(this.deps.limits.recordTokens(trace.key, record.inputTokens + record.outputTokens, record.requestId, trace.startedAt));
    }
  }

  /** Retries with backoff; if the store stays down, the content-free record goes to the log. */
  private async writeUsage(record: UsageRecord): Promise<void> {
    const delays = this.deps.usageRetryDelaysMs ?? [50, 250, 1000];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.usage.put(record);
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

/**
 * One upstream attempt: its abort signal and its deadlines (headers for this attempt, idle between
 * chunks, what is left of the request's total). Remembers why it was aborted so the caller gets
 * the right error.
 */
class UpstreamExchange {
  private readonly controller = new AbortController();
  private reason?: 'timeout' | 'client';
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private readonly onClientAbort = () => this.abort('client');

  constructor(
    private readonly settings: RelayConfig['settings'],
    /** What is left of the request's total deadline. */
    remainingMs: number,
    private readonly clientSignal?: AbortSignal,
  ) {
    this.timers.push(setTimeout(() => this.abort('timeout'), Math.max(0, remainingMs)));
    this.timers.push(setTimeout(() => this.abort('timeout'), settings.headersTimeoutMs));
    if (clientSignal?.aborted) this.abort('client');
    clientSignal?.addEventListener('abort', this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  headersArrived(): void {
    clearTimeout(this.timers[1]);
  }

  /** Reads one chunk, failing if the upstream stays silent longer than the idle timeout. */
  async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<ReadResult> {
    const idle = setTimeout(() => this.abort('timeout'), this.settings.idleTimeoutMs);
    try {
      return await reader.read();
    } finally {
      clearTimeout(idle);
    }
  }

  async readAll(response: Response): Promise<Uint8Array> {
    if (!response.body) return new Uint8Array(0);
    const reader = response.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await this.read(reader);
      if (done) break;
      parts.push(value);
      size += value.length;
    }
    return joinChunks(parts, size);
  }

  /** The error for a failed exchange, by what we know of its cause (never the upstream's text). */
  failure(phase: 'before-headers' | 'mid-body'): RelayError {
    if (this.reason === 'timeout') {
      return new RelayError(504, 'upstream_timeout', 'The upstream provider did not answer in time.');
    }
    if (this.reason === 'client') {
      return new RelayError(499, 'client_closed', 'The client closed the request.');
    }
    return phase === 'before-headers'
      ? new RelayError(502, 'upstream_unavailable', 'The relay could not reach the upstream provider.')
      : new RelayError(502, 'upstream_error', 'The upstream connection failed while sending the answer.');
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }

  private abort(reason: 'timeout' | 'client'): void {
    this.reason ??= reason;
    this.controller.abort();
  }
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now (0 when absent or unreadable). */
export function retryAfterToMs(value: string | null, nowMs: number): number {
  if (!value) return 0;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function outcomeOf(error: RelayError): Outcome {
  if (error.code === 'client_closed') return 'aborted';
  if (error.code === 'upstream_timeout') return 'timeout';
  if (error.code === 'upstream_rejected' || error.status < 500) return error.code === 'upstream_rate_limited' ? 'upstream_error' : 'client_error';
  return error.code.startsWith('upstream') ? 'upstream_error' : 'relay_error';
}

/** Maps an upstream error status to our own error; the upstream body is discarded unread. */
function upstreamStatusError(response: Response): RelayError {
  const status = response.status;
  if (status === 429) {
    const retryAfter = response.headers.get('retry-after');
    const headers: Record<string, string> = retryAfter && /^\d{1,4}$/.test(retryAfter) ? { 'retry-after': retryAfter } : {};
    return new RelayError(429, 'upstream_rate_limited', 'The upstream provider is rate limiting requests. Retry later.', headers);
  }
  if (status === 401 || status === 403) {
    return new RelayError(502, 'upstream_auth_failed', "The upstream provider rejected the relay's credential. The operator must update it.");
  }
  if (status === 503 || status === 529) {
    return new RelayError(503, 'upstream_unavailable', 'The upstream provider is overloaded or unavailable. Retry later.', { 'retry-after': '5' });
  }
  if (status >= 500) return new RelayError(502, 'upstream_error', `The upstream provider failed (HTTP ${status}).`);
  if (status >= 300 && status < 400) return new RelayError(502, 'upstream_bad_response', 'The upstream provider answered with a redirect, which the relay does not follow.');
  if ([400, 404, 409, 413, 422].includes(status)) {
    return new RelayError(status, 'upstream_rejected', `The upstream provider rejected the request (HTTP ${status}). Check the request parameters.`);
  }
  return new RelayError(502, 'upstream_error', `The upstream provider refused the request (HTTP ${status}).`);
}

function json(value: unknown, requestId: string): Response {
  return new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json', 'x-request-id': requestId } });
}
