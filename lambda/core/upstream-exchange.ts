/**
 * The upstream exchange: the route's candidates tried in order, each attempt with its deadlines
 * (headers for this attempt, one re-armed idle timer between chunks, what is left of the request's
 * total), failover on connect errors, timeouts before the first byte and retryable statuses, and
 * Retry-After honoured before asking the same provider again. Nothing is retried once a byte has
 * reached the caller: that is decided before this returns.
 */
import type { ProviderConfig, RelayConfig, RelaySettings, RouteCandidate } from './config';
import type { ProviderCredentials } from './credentials';
import type { ForwardedEndpoint } from './endpoints';
import { asRelayError, RelayError } from './errors';
import { header, type HeaderMap } from './http';
import type { Clock, RuntimeIdentity, UpstreamClient, UpstreamResponse } from './ports';
import { withDeadline } from './deadline';
import type { JsonObject, UpstreamRequest } from './provider';
import { joinChunks } from './body';
import type { ProviderErrorDetail } from './errors';
import { callerSafeDetail, MAX_ERROR_BODY_BYTES, PASSED_ON_STATUSES, retryAfterToMs, upstreamError, upstreamStatusError } from './upstream-errors';

export type AbortReason = 'timeout' | 'client' | 'revoked';

export function clientClosed(): RelayError {
  return new RelayError(499, 'client_closed', 'The client closed the request.');
}

/**
 * One upstream attempt: its abort signal and its deadlines. Remembers why it was aborted so the
 * caller gets the right error.
 */
export class UpstreamAttempt {
  private readonly controller = new AbortController();
  private reason?: AbortReason;
  private readonly totalTimer: ReturnType<typeof setTimeout>;
  private headersTimer?: ReturnType<typeof setTimeout>;
  private readonly onClientAbort = () => this.abort('client');

  constructor(
    private readonly settings: RelaySettings,
    /** What is left of the request's total deadline. */
    remainingMs: number,
    private readonly clientSignal?: AbortSignal,
    /** A streamed request must see its first byte within streamFirstByteTimeoutMs; others their headers within headersTimeoutMs. */
    private readonly stream = false,
  ) {
    this.totalTimer = setTimeout(() => this.abort('timeout'), Math.max(0, remainingMs));
    this.headersTimer = setTimeout(() => this.abort('timeout'), stream ? settings.streamFirstByteTimeoutMs : settings.headersTimeoutMs);
    if (clientSignal?.aborted) this.abort('client');
    clientSignal?.addEventListener('abort', this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get abortReason(): AbortReason | undefined {
    return this.reason;
  }

  /** The answer's headers arrived: for a non-streamed request the first-byte deadline is met. */
  headersArrived(): void {
    if (!this.stream) this.firstByteArrived();
  }

  firstByteArrived(): void {
    clearTimeout(this.headersTimer);
    this.headersTimer = undefined;
  }

  /**
   * The body's chunks, failing when the upstream stays silent longer than the idle timeout. One
   * timer serves the whole body: it is re-armed per chunk, and while the caller is still taking a
   * chunk (backpressure) it waits instead of firing.
   */
  async *chunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let waiting = true;
    const idle = setTimeout(() => {
      if (waiting) this.abort('timeout');
      else idle.refresh();
    }, this.settings.idleTimeoutMs);
    try {
      for await (const chunk of body) {
        waiting = false;
        yield chunk;
        waiting = true;
        idle.refresh();
      }
    } finally {
      clearTimeout(idle);
    }
  }

  /** The error for a failed exchange, by what we know of its cause (never the upstream's text). */
  failure(phase: 'before-headers' | 'mid-body'): RelayError {
    if (this.reason === 'timeout') return upstreamError('upstream_timeout');
    if (this.reason === 'client') return clientClosed();
    if (this.reason === 'revoked') return new RelayError(401, 'key_revoked', 'This key was revoked or expired while the stream was open.');
    return phase === 'before-headers'
      ? upstreamError('upstream_unavailable', { status: 502, message: 'The relay could not reach the upstream provider.', headers: {} })
      : upstreamError('upstream_error', { message: 'The upstream connection failed while sending the answer.' });
  }

  close(): void {
    clearTimeout(this.totalTimer);
    clearTimeout(this.headersTimer);
    this.clientSignal?.removeEventListener('abort', this.onClientAbort);
  }

  abort(reason: AbortReason): void {
    this.reason ??= reason;
    this.controller.abort();
  }
}

export interface ExchangeInput {
  readonly config: RelayConfig;
  readonly endpoint: ForwardedEndpoint;
  readonly method: string;
  readonly pathId?: string;
  /** Candidates in the order to try them. */
  readonly candidates: readonly RouteCandidate[];
  readonly body: JsonObject;
  readonly rawBody: Uint8Array;
  readonly clientHeaders: HeaderMap;
  readonly keyId: string;
  /** Epoch ms by which the whole request must be done. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Told which provider each attempt goes to (the usage record names the last one). */
  onAttempt(provider: ProviderConfig, request?: UpstreamRequest): void;
}

export interface ExchangeDeps {
  readonly upstream: UpstreamClient;
  readonly credentials: ProviderCredentials;
  readonly clock: Clock;
  /** The runtime's own identity, for `runtime-role` provider types; absent where the host has none. */
  readonly identity?: RuntimeIdentity;
}

function identityUnavailable(provider: ProviderConfig): RelayError {
  return new RelayError(503, 'provider_credential_unavailable', `The relay cannot obtain its own AWS credentials for provider "${provider.name}" right now. Retry shortly.`, {
    'retry-after': '2',
  });
}

/**
 * The runtime identity as a provider gets it: every call has the store deadline, and a failure
 * (no credentials, no region) is a credential error the exchange fails over on, never a 400.
 */
function boundedIdentity(identity: RuntimeIdentity | undefined, provider: ProviderConfig, timeoutMs: number): RuntimeIdentity | undefined {
  if (!identity) return undefined;
  const guard = async <T>(work: () => Promise<T>, what: string): Promise<T> => {
    try {
      return await withDeadline(work(), timeoutMs, what);
    } catch {
      throw identityUnavailable(provider);
    }
  };
  return {
    region: () => guard(() => identity.region(), 'region lookup'),
    endpoint: (serviceId) => identity.endpoint(serviceId),
    sign: (request, scope) => guard(() => identity.sign(request, scope), 'request signing'),
  };
}

export interface Exchange {
  readonly provider: ProviderConfig;
  readonly request: UpstreamRequest;
  readonly response: UpstreamResponse;
  readonly attempt: UpstreamAttempt;
}

/** Tries the candidates until one answers with a status the caller can be given; throws the last error otherwise. */
export async function exchange(input: ExchangeInput, deps: ExchangeDeps): Promise<Exchange> {
  const { settings } = input.config;
  let lastError: RelayError | undefined;
  let retryAfterMs = 0;
  for (const [index, candidate] of input.candidates.entries()) {
    const isLast = index === input.candidates.length - 1;
    const provider = input.config.providers.get(candidate.provider) as ProviderConfig;
    // Retry-After speaks for the provider that sent it: honour it (up to a cap) before asking the same one again.
    if (index > 0 && retryAfterMs > 0 && input.candidates[index - 1].provider === provider.name) {
      await sleep(Math.min(retryAfterMs, settings.maxRetryAfterMs, input.deadline - deps.clock.now()), input.signal);
    }
    if (input.signal?.aborted) throw clientClosed();
    if (deps.clock.now() >= input.deadline) throw lastError ?? upstreamError('upstream_timeout');
    const adapter = provider.adapter.endpoints[input.endpoint];
    if (!adapter) continue; // routing only hands over candidates that serve the endpoint
    input.onAttempt(provider);
    retryAfterMs = 0;

    let secret: string | undefined;
    if (provider.adapter.credential === 'stored-secret') {
      try {
        secret = await deps.credentials.get(provider);
      } catch (error) {
        lastError = asRelayError(error);
        if (isLast) throw lastError;
        continue;
      }
    }
    const usesRole = provider.adapter.credential === 'runtime-role';
    if (usesRole && !deps.identity) {
      lastError = identityUnavailable(provider);
      if (isLast) throw lastError;
      continue;
    }
    refuseServerTools(adapter.serverTools?.(input.body) ?? [], provider);
    let request: UpstreamRequest;
    try {
      request = await adapter.buildRequest({
        endpoint: input.endpoint,
        method: input.method,
        pathId: input.pathId,
        provider,
        upstreamModel: candidate.model,
        body: input.body,
        rawBody: input.rawBody,
        clientHeaders: input.clientHeaders,
        secret,
        keyId: input.keyId,
        ...(usesRole ? { identity: boundedIdentity(deps.identity, provider, settings.storeTimeoutMs) } : {}),
      });
    } catch (error) {
      if (error instanceof RelayError && error.code === 'provider_credential_unavailable') {
        lastError = error;
        if (isLast) throw lastError;
        continue;
      }
      if (error instanceof RelayError) throw error;
      // JSON.stringify of a pathological body (e.g. nesting too deep) is the caller's problem.
      throw new RelayError(400, 'invalid_request', 'Request body could not be forwarded.');
    }
    input.onAttempt(provider, request);

    const attempt = new UpstreamAttempt(settings, input.deadline - deps.clock.now(), input.signal, request.stream);
    let response: UpstreamResponse;
    try {
      response = await deps.upstream({ url: request.url, method: request.method, headers: request.headers, body: request.body, signal: attempt.signal });
    } catch {
      attempt.close();
      // Nothing reached the caller yet: a connect error or a timeout before the first byte fails over.
      lastError = attempt.failure('before-headers');
      if (lastError.code === 'client_closed' || isLast) throw lastError;
      continue;
    }
    attempt.headersArrived();

    if (response.status < 200 || response.status > 299) {
      const detail = PASSED_ON_STATUSES.has(response.status) && request.readError ? await readErrorDetail(response, attempt, request.readError) : undefined;
      attempt.close();
      response.discard();
      lastError = upstreamStatusError(response, detail);
      if (isLast || !settings.retryStatuses.includes(response.status)) throw lastError;
      retryAfterMs = retryAfterToMs(header(response.headers, 'retry-after'), deps.clock.now());
      continue;
    }
    if (request.stream) {
      // Nothing has reached the caller yet: a stream whose first byte does not come in time fails over.
      let first: IteratorResult<Uint8Array>;
      const chunks = response.body[Symbol.asyncIterator]();
      try {
        first = await chunks.next();
      } catch {
        attempt.close();
        response.discard();
        lastError = attempt.failure('before-headers');
        if (lastError.code === 'client_closed' || isLast) throw lastError;
        continue;
      }
      attempt.firstByteArrived();
      return { provider, request, response: { ...response, body: withFirst(first, chunks) }, attempt };
    }
    return { provider, request, response, attempt };
  }
  throw lastError ?? new RelayError(500, 'internal_error', 'The relay failed to process the request.');
}

/** A body that starts with the chunk already read. */
function withFirst(first: IteratorResult<Uint8Array>, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      let pending: IteratorResult<Uint8Array> | undefined = first;
      return {
        next: () => {
          if (pending) {
            const value = pending;
            pending = undefined;
            return Promise.resolve(value);
          }
          return rest.next();
        },
        return: async () => {
          await rest.return?.();
          return { done: true as const, value: undefined };
        },
      };
    },
  };
}

/** A server-side tool that makes the provider contact a URL the request names is refused unless the operator allowed it. */
function refuseServerTools(used: readonly string[], provider: ProviderConfig): void {
  const refused = [...new Set(used)].filter((tool) => !provider.allowServerTools.includes(tool));
  if (refused.length === 0) return;
  const names = refused.map((tool) => `"${tool}"`).join(', ');
  throw new RelayError(
    400,
    'server_tool_not_allowed',
    `The request uses the server-side tool ${names}, which makes the provider connect to a URL the request names and hand it the conversation. This relay refuses that unless the operator lists ${names} in "allowServerTools" for the provider. Client-side tools (functions) and provider-hosted tools such as web search are unaffected.`,
  );
}

/** The provider's own error from a refused request's body (bounded in size and by the attempt's deadlines). */
async function readErrorDetail(response: UpstreamResponse, attempt: UpstreamAttempt, readError: NonNullable<UpstreamRequest['readError']>): Promise<ProviderErrorDetail | undefined> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of attempt.chunks(response.body)) {
      parts.push(chunk);
      size += chunk.length;
      if (size > MAX_ERROR_BODY_BYTES) return undefined;
    }
    return callerSafeDetail(readError(JSON.parse(new TextDecoder().decode(joinChunks(parts, size)))));
  } catch {
    return undefined;
  }
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
