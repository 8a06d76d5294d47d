/**
 * The one request pipeline: authenticate → validate → route → forward → meter.
 * A RelayRequest goes in, a RelayResponse (with a streamed body where the caller asked for a stream)
 * comes out. Exactly one usage record is written for every request that passed authentication, on
 * every exit path; it is handed to the host through `ctx.waitUntil`.
 */
import type { KeyAuthenticator } from './auth';
import { parseJsonObject, readBody } from './body';
import type { RelayConfig } from './config';
import type { ProviderCredentials } from './credentials';
import { formatFor, matchEndpoint, type ForwardedEndpoint } from './endpoints';
import { asRelayError, RelayError, type ApiFormat } from './errors';
import { header, jsonResponse, type ExecutionContext, type RelayHandler, type RelayRequest, type RelayResponse } from './http';
import type { LimitEnforcer } from './limits';
import type { Logger } from './log';
import { outcomeOf, RequestTrace, UsageMeter, type RelayMetrics } from './metering';
import type { ClientKey, Clock, UpstreamClient, UsageStore } from './ports';
import { systemClock } from './ports';
import { privacyManifest, type PrivacyManifestOptions } from './privacy';
import { isStreamContentType, pumpStream, readAnswer, usageOfAnswer } from './response-pump';
import { modelsForKey, orderCandidates, resolveRoute } from './routing';
import { clientClosed, exchange } from './upstream-exchange';

export type { RelayMetrics } from './metering';

export interface RelayDeps {
  readonly config: RelayConfig;
  readonly keys: KeyAuthenticator;
  readonly usage: UsageStore;
  readonly credentials: ProviderCredentials;
  readonly upstream: UpstreamClient;
  /** Per-key limits; absent means none are enforced. */
  readonly limits?: LimitEnforcer;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly metrics?: RelayMetrics;
  /** Delays before retrying a failed usage write; after the last, the record goes to the log. */
  readonly usageRetryDelaysMs?: readonly number[];
  /** What the privacy manifest states beyond the relay's own constants (the deployed trail's retention). */
  readonly privacy?: PrivacyManifestOptions;
  /** Source of randomness for weighted candidate order (tests pin it). */
  readonly random?: () => number;
}

const STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;

export class Relay {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly meter: UsageMeter;

  constructor(private readonly deps: RelayDeps) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.meter = new UsageMeter({
      usage: deps.usage,
      logger: deps.logger,
      clock: this.clock,
      metrics: deps.metrics,
      limits: deps.limits,
      usageRetryDelaysMs: deps.usageRetryDelaysMs,
    });
  }

  /** Never throws: every failure becomes a response in the caller's API format. */
  readonly handle: RelayHandler = async (request, ctx) => {
    const trace = new RequestTrace(this.meter, ctx);
    const format = formatFor(request.path, request.headers);
    try {
      const endpoint = matchEndpoint(request.method, request.path);
      if (endpoint.name === 'healthz') return jsonResponse(200, { status: 'ok' }, { 'x-request-id': trace.requestId });
      if (endpoint.name === 'privacy') return jsonResponse(200, privacyManifest(this.deps.privacy), { 'x-request-id': trace.requestId });
      trace.key = await this.deps.keys.authenticate(request.headers, (reason) => this.deps.metrics?.authFailed?.(reason));
      await this.deps.limits?.admit(trace.key, trace.requestId);
      if (endpoint.name === 'models') {
        const response = this.listModels(trace.key, format, trace.requestId);
        trace.finish({ status: 200, outcome: 'ok', completed: true });
        return response;
      }
      return await this.forward(request, endpoint.name, format, trace, ctx);
    } catch (error) {
      const relayError = ctx.signal?.aborted && !(error instanceof RelayError) ? clientClosed() : asRelayError(error);
      trace.finish({ status: relayError.status, outcome: outcomeOf(relayError), errorCode: relayError.code });
      return relayError.toResponse(format, trace.requestId);
    }
  };

  private listModels(key: ClientKey, format: ApiFormat, requestId: string): RelayResponse {
    const routes = modelsForKey(this.deps.config, key);
    const headers = { 'x-request-id': requestId };
    if (format === 'anthropic') {
      const data = routes.map((r) => ({ type: 'model', id: r.name, display_name: r.name, created_at: '1970-01-01T00:00:00Z' }));
      return jsonResponse(200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }, headers);
    }
    return jsonResponse(200, { object: 'list', data: routes.map((r) => ({ id: r.name, object: 'model', created: 0, owned_by: r.provider })) }, headers);
  }

  private async forward(request: RelayRequest, endpoint: ForwardedEndpoint, format: ApiFormat, trace: RequestTrace, ctx: ExecutionContext): Promise<RelayResponse> {
    const { config } = this.deps;
    const { settings } = config;
    const rawBody = await readBody(request, settings.maxBodyBytes);
    trace.requestBytes = rawBody.length;
    const body = parseJsonObject(rawBody);
    const key = trace.key as ClientKey;
    const { route, candidates } = resolveRoute(config, key, endpoint, body.model);
    trace.model = route.name;
    trace.provider = route.provider;

    const { request: upstream, response, attempt } = await exchange(
      {
        config,
        endpoint,
        candidates: orderCandidates(candidates, this.random),
        body,
        rawBody,
        clientHeaders: request.headers,
        keyId: key.id,
        deadline: trace.startedAt + settings.totalTimeoutMs,
        signal: ctx.signal,
        onAttempt: (provider, built) => {
          trace.provider = provider.name;
          if (built) trace.streamed = built.stream;
        },
      },
      { upstream: this.deps.upstream, credentials: this.deps.credentials, clock: this.clock },
    );

    const contentType = header(response.headers, 'content-type') ?? '';
    if (upstream.stream && isStreamContentType(upstream.streamFraming, contentType)) {
      const status = response.status;
      return {
        status,
        headers: { ...STREAM_HEADERS, 'x-request-id': trace.requestId },
        body: pumpStream({
          body: response.body,
          request: upstream,
          attempt,
          format,
          finish: (outcome, errorCode, reading) => trace.finish({ status, outcome, errorCode, completed: reading.completed, counts: reading }),
        }),
      };
    }

    let bytes: Uint8Array;
    try {
      bytes = await readAnswer(response.body, attempt, settings.maxResponseBytes, header(response.headers, 'content-length'));
    } catch (error) {
      response.discard();
      throw error;
    } finally {
      attempt.close();
    }
    const usage = usageOfAnswer(bytes, upstream.jsonUsage);
    trace.finish({
      status: response.status,
      outcome: 'ok',
      completed: true,
      counts: usage ? { ...usage, fromProvider: true } : { fromProvider: false, responseBytes: bytes.length },
    });
    return {
      status: response.status,
      headers: { 'content-type': contentType || 'application/json', 'x-request-id': trace.requestId },
      body: bytes,
    };
  }
}
