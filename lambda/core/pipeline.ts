/**
 * The one request pipeline: authenticate → validate → route → forward → meter.
 * A RelayRequest goes in, a RelayResponse (with a streamed body where the caller asked for a stream)
 * comes out. Exactly one usage record is written for every request that passed authentication, on
 * every exit path; it is handed to the host through `ctx.waitUntil`.
 */
import type { KeyAuthenticator } from './auth';
import { parseJsonObject, readBody } from './body';
import type { ProviderConfig, RelayConfig } from './config';
import type { ProviderCredentials } from './credentials';
import { formatFor, matchEndpoint, type ForwardedEndpoint, type MatchedEndpoint } from './endpoints';
import { asRelayError, RelayError, type ApiFormat } from './errors';
import { header, jsonResponse, type ExecutionContext, type RelayHandler, type RelayRequest, type RelayResponse } from './http';
import { rateLimitHeaders, worstCaseTokens, type LimitEnforcer } from './limits';
import type { Logger } from './log';
import { outcomeOf, RequestTrace, UsageMeter, type RelayMetrics } from './metering';
import type { ClientKey, Clock, RuntimeIdentity, UpstreamClient, UsageStore } from './ports';
import { systemClock } from './ports';
import { privacyManifest, type PrivacyManifestOptions } from './privacy';
import type { JsonObject } from './provider';
import { serves } from './provider';
import { isStreamContentType, pumpStream, readAnswer, usageOfAnswer } from './response-pump';
import { findRoute, modelsForKey, orderCandidates, resolveRoute, type ResolvedRoute } from './routing';
import { keyAllowsModel } from './auth';
import { clientClosed, exchange } from './upstream-exchange';
import { upstreamError } from './upstream-errors';

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
  /** The runtime's own identity, for provider types that sign with it (Bedrock). */
  readonly identity?: RuntimeIdentity;
}

const STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;
const EMPTY_BODY = new Uint8Array(0);

/** A HEAD request gets the GET answer's status and headers and no body. */
function forMethod(method: string, response: RelayResponse): RelayResponse {
  if (method !== 'HEAD' || response.body === undefined) return response;
  const { body, ...head } = response;
  if (!(body instanceof Uint8Array)) void body[Symbol.asyncIterator]().return?.();
  return head;
}

function withHeaders(response: RelayResponse, extra: Record<string, string>): RelayResponse {
  return Object.keys(extra).length === 0 ? response : { ...response, headers: { ...response.headers, ...extra } };
}

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
      storeTimeoutMs: deps.config.settings.storeTimeoutMs,
    });
  }

  /** Never throws: every failure becomes a response in the caller's API format. */
  readonly handle: RelayHandler = async (request, ctx) => forMethod(request.method, await this.answer(request, ctx));

  private async answer(request: RelayRequest, ctx: ExecutionContext): Promise<RelayResponse> {
    const trace = new RequestTrace(this.meter, ctx);
    const format = formatFor(request.path, request.headers);
    let limitHeaders: Record<string, string> = {};
    let keyHash = '';
    try {
      const endpoint = matchEndpoint(request.method, request.path);
      trace.endpoint = endpoint.recorded;
      const ids = { 'x-request-id': trace.requestId };
      if (endpoint.name === 'healthz') return jsonResponse(200, { status: 'ok' }, ids);
      if (endpoint.name === 'root') return jsonResponse(200, { service: 'mixroute', status: 'ok', docs: 'OpenAI-compatible API under /v1 (base URL https://HOST/v1); Anthropic Messages at /v1/messages (base URL https://HOST)' }, ids);
      if (endpoint.name === 'privacy') return jsonResponse(200, privacyManifest(this.deps.privacy), ids);
      const authenticated = await this.deps.keys.authenticateRequest(request.headers, (reason) => this.deps.metrics?.authFailed?.(reason));
      trace.key = authenticated.key;
      keyHash = authenticated.hash;
      limitHeaders = rateLimitHeaders(await this.deps.limits?.admit(trace.key, trace.requestId, trace.hold));
      let response: RelayResponse;
      if (endpoint.name === 'models' || endpoint.name === 'model') {
        response = this.models(trace.key, format, trace.requestId, endpoint.id);
        trace.finish({ status: 200, outcome: 'ok', completed: true });
      } else {
        response = await this.forward(request, endpoint, format, trace, ctx, keyHash);
      }
      return withHeaders(response, limitHeaders);
    } catch (error) {
      const relayError = ctx.signal?.aborted && !(error instanceof RelayError) ? clientClosed() : asRelayError(error);
      trace.finish({ status: relayError.status, outcome: outcomeOf(relayError), errorCode: relayError.code });
      return withHeaders(relayError.toResponse(format, trace.requestId), { ...limitHeaders, ...relayError.headers });
    }
  }

  /** GET /v1/models (exact names the key may use) and GET /v1/models/{id}, in the caller's shape. */
  private models(key: ClientKey, format: ApiFormat, requestId: string, id?: string): RelayResponse {
    const headers = { 'x-request-id': requestId };
    const anthropic = format === 'anthropic';
    const openAiModel = (name: string, provider: string) => ({ id: name, object: 'model', created: 0, owned_by: provider });
    const anthropicModel = (name: string) => ({ type: 'model', id: name, display_name: name, created_at: '1970-01-01T00:00:00Z' });
    if (id !== undefined) {
      const route = findRoute(this.deps.config, id);
      if (!route || !keyAllowsModel(key, id) || (anthropic && !route.endpoints.includes('messages'))) {
        throw new RelayError(404, 'model_not_found', 'The requested model is not served by this relay to your key. GET /v1/models lists the models your key may use.');
      }
      return jsonResponse(200, anthropic ? anthropicModel(id) : openAiModel(id, route.provider), headers);
    }
    const routes = modelsForKey(this.deps.config, key);
    if (anthropic) {
      // Anthropic clients can only call models served on /v1/messages.
      const data = routes.filter((r) => r.endpoints.includes('messages')).map((r) => anthropicModel(r.name));
      return jsonResponse(200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }, headers);
    }
    return jsonResponse(200, { object: 'list', data: routes.map((r) => openAiModel(r.name, r.provider)) }, headers);
  }

  /** A stored response (GET/DELETE /v1/responses/{id}) names no model: it goes to the provider that may store. */
  private storedResponseRoute(): ResolvedRoute {
    const provider = [...this.deps.config.providers.values()].find((p: ProviderConfig) => p.allowProviderStorage && serves(p, 'stored_response'));
    if (!provider) {
      throw new RelayError(
        400,
        'provider_storage_disabled',
        'Stored responses are not available: this relay makes the provider keep nothing (it sends store: false). Keep the response you received, or ask the operator to set "allowProviderStorage": true for a provider.',
      );
    }
    const route = { name: '-', provider: provider.name, endpoints: ['stored_response'] as ForwardedEndpoint[], candidates: [{ provider: provider.name, model: '-', priority: 0, weight: 1 }] };
    return { route, model: '-', candidates: route.candidates };
  }

  private async forward(request: RelayRequest, endpoint: MatchedEndpoint, format: ApiFormat, trace: RequestTrace, ctx: ExecutionContext, keyHash: string): Promise<RelayResponse> {
    const { config } = this.deps;
    const { settings } = config;
    const name = endpoint.name as ForwardedEndpoint;
    const key = trace.key as ClientKey;
    let rawBody: Uint8Array = EMPTY_BODY;
    let body: JsonObject = {};
    let resolved: ResolvedRoute;
    if (name === 'stored_response') {
      resolved = this.storedResponseRoute();
      trace.provider = resolved.route.provider;
    } else {
      rawBody = await readBody(request, settings.maxBodyBytes);
      trace.requestBytes = rawBody.length;
      body = parseJsonObject(rawBody);
      resolved = resolveRoute(config, key, name, body.model);
      trace.model = resolved.model;
      trace.provider = resolved.route.provider;
      // count_tokens and embeddings produce no output; counting costs nothing at all.
      if (name !== 'count_tokens') {
        const output = name === 'embeddings' ? 0 : settings.defaultOutputReservation;
        await this.deps.limits?.reserve(key, worstCaseTokens(rawBody.length, body, output), trace.requestId, trace.hold);
      }
    }

    const { request: upstream, response, attempt } = await exchange(
      {
        config,
        endpoint: name,
        method: request.method,
        pathId: endpoint.id,
        candidates: orderCandidates(resolved.candidates, this.random),
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
      { upstream: this.deps.upstream, credentials: this.deps.credentials, clock: this.clock, identity: this.deps.identity },
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
          recheck: { everyMs: settings.streamKeyRecheckMs, stillValid: () => this.deps.keys.stillValid(keyHash) },
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
    if (upstream.translateAnswer) {
      try {
        bytes = upstream.translateAnswer(bytes);
      } catch {
        const error = upstreamError('upstream_bad_response');
        trace.finish({ status: error.status, outcome: 'upstream_error', errorCode: error.code, completed: false, counts: usage ? { ...usage, fromProvider: true } : { fromProvider: false } });
        throw error;
      }
    }
    trace.finish({
      status: response.status,
      outcome: 'ok',
      completed: true,
      counts: usage ? { ...usage, fromProvider: true } : { fromProvider: false, responseBytes: bytes.length },
    });
    return {
      status: response.status,
      headers: { 'content-type': upstream.translateAnswer ? 'application/json' : contentType || 'application/json', 'x-request-id': trace.requestId },
      body: bytes,
    };
  }
}
