/**
 * THE PORT: everything a provider type declares, and the only place a provider type plugs in.
 *
 * A provider type (one folder under lambda/providers/) declares its config fields and their
 * validation, the client endpoints it serves and, for each, how the upstream request is built
 * (asynchronously, so that a request signer can sign it), how it authenticates (a stored secret,
 * the runtime's own role, or nothing), how its answers are framed (SSE, AWS event stream, JSON) and
 * how they are metered. The core knows only this port; the hosts compose the registry.
 */
import type { ForwardedEndpoint } from './endpoints';
import type { ProviderErrorDetail } from './errors';
import type { HeaderMap } from './http';
import type { ProviderConfig, RelayMode } from './config';
import type { RuntimeIdentity, UpstreamCall } from './ports';

export type JsonObject = Record<string, unknown>;

/** Token counts a provider reported. Input includes cache reads and writes (input the provider processed). */
export interface TokenCounts {
  inputTokens?: number;
  outputTokens?: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedInputTokens?: number;
  /** Input tokens written to the provider's prompt cache. */
  cacheWriteTokens?: number;
  /** Output tokens spent on reasoning (part of outputTokens). */
  reasoningTokens?: number;
}

/** What a stream meter learned; it never holds any text. */
export interface MeterReading extends TokenCounts {
  /** Both counts are the provider's own final figures. */
  readonly fromProvider: boolean;
  /** The provider's final event arrived. */
  readonly completed: boolean;
  /** The provider sent an error event in the stream. */
  readonly upstreamError: boolean;
  /** Content events seen: the basis of an output estimate when the provider's count is missing. */
  readonly contentEvents: number;
}

/** Meters a stream event by event, and rewrites an event where the relay must (e.g. an injected usage chunk). */
export interface StreamMeter {
  /** Takes one whole SSE event and returns the bytes to send the caller (the same, rewritten, or none). */
  onEvent(raw: Uint8Array): Uint8Array | undefined;
  reading(): MeterReading;
}

/** Turns a stream that is not SSE (e.g. AWS event stream) into whole SSE events for the meter and the caller. */
export interface StreamDecoder {
  push(chunk: Uint8Array): Uint8Array[];
  /** The stream ended: any last events (a partial frame is an error the meter will see as incomplete). */
  flush(): Uint8Array[];
}

/** How an upstream answer is framed. */
export type Framing = 'sse' | 'aws-eventstream' | 'json';

/** How a provider type authenticates: a secret stored encrypted, the runtime's own role (e.g. SigV4), or nothing. */
export type CredentialMode = 'stored-secret' | 'runtime-role' | 'none';

export interface ForwardInput {
  readonly endpoint: ForwardedEndpoint;
  /** The caller's method (POST, or GET/DELETE for a stored response). */
  readonly method: string;
  /** The id in the caller's path, for endpoints that have one (a stored response). */
  readonly pathId?: string;
  readonly provider: ProviderConfig;
  /** The model name to send upstream (the route candidate's). */
  readonly upstreamModel: string;
  /** The caller's body, parsed once. */
  readonly body: JsonObject;
  /** The caller's body as received, forwarded unchanged when nothing needs rewriting. */
  readonly rawBody: Uint8Array;
  readonly clientHeaders: HeaderMap;
  /** The decrypted stored secret, for types whose credential mode is `stored-secret`. */
  readonly secret?: string;
  /** The calling key's id (never the key), for providers that attribute usage in their own records. */
  readonly keyId: string;
  /** The runtime's own identity, for types whose credential mode is `runtime-role` (its calls have a deadline). */
  readonly identity?: RuntimeIdentity;
}

/** The call a provider builds (the exchange adds its abort signal), and how to read its answer. */
export interface UpstreamRequest extends Omit<UpstreamCall, 'signal'> {
  /** The caller asked for a stream. */
  readonly stream: boolean;
  /** How a streamed answer is framed (a non-streamed one is JSON). */
  readonly streamFraming: Exclude<Framing, 'json'>;
  /** Creates the meter for this request's stream (SSE events, decoded first where the framing needs it). */
  createMeter(): StreamMeter;
  /** For framings other than SSE: turns the upstream bytes into SSE events. */
  createDecoder?(): StreamDecoder;
  /** Token counts from a complete JSON answer (as the provider sent it), if it reports them. */
  jsonUsage(value: unknown): TokenCounts | undefined;
  /**
   * For types whose API differs from the caller's: the provider's complete JSON answer in the
   * caller's format (e.g. a Converse answer as a chat completion). Throws if it cannot be read.
   */
  translateAnswer?(bytes: Uint8Array): Uint8Array;
  /**
   * The provider's own error from a 4xx answer's body (type, code, message), so the caller can act
   * on it (e.g. "prompt is too long"). The core caps and masks it, and never logs or stores it.
   */
  readError?(body: unknown): ProviderErrorDetail | undefined;
}

/** How a provider type serves one client endpoint. */
export interface EndpointAdapter {
  buildRequest(input: ForwardInput): Promise<UpstreamRequest>;
  /**
   * The server-side tools a request asks for that make the provider contact a URL the request
   * names (with the conversation), by identifier (e.g. "mcp", "web_fetch"). The core refuses them
   * unless the provider's config lists them in `allowServerTools`.
   */
  serverTools?(body: JsonObject): string[];
}

export interface ProviderConfigInput {
  readonly name: string;
  /** e.g. "providers.openai", for messages. */
  readonly where: string;
  readonly raw: JsonObject;
  readonly mode: RelayMode;
  /** Where each problem is reported, naming the field and what is expected. */
  readonly problems: string[];
}

/** The type's own validated settings: where requests go, plus anything else it needs. */
export interface ProviderSettings {
  /** Normalised base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly options?: JsonObject;
}

export interface ProviderAdapter {
  /** The config's `type` value. */
  readonly type: string;
  readonly credential: CredentialMode;
  /** Config fields of this type beyond `type` (the core adds `apiKeyEnv` for stored-secret types). */
  readonly configFields: readonly string[];
  /** A config block to show in error messages. */
  readonly example: string;
  /** Validates this type's fields; pushes problems and returns undefined when they are wrong. */
  parseConfig(input: ProviderConfigInput): ProviderSettings | undefined;
  /** The client endpoints this type serves, and how. */
  readonly endpoints: Readonly<Partial<Record<ForwardedEndpoint, EndpointAdapter>>>;
}

export type ProviderRegistry = ReadonlyMap<string, ProviderAdapter>;

export function createProviderRegistry(adapters: readonly ProviderAdapter[]): ProviderRegistry {
  const registry = new Map<string, ProviderAdapter>();
  for (const adapter of adapters) {
    if (registry.has(adapter.type)) throw new Error(`provider type "${adapter.type}" is registered twice`);
    registry.set(adapter.type, adapter);
  }
  return registry;
}

/** Whether a configured provider serves a client endpoint. */
export function serves(provider: ProviderConfig, endpoint: ForwardedEndpoint): boolean {
  return provider.adapter.endpoints[endpoint] !== undefined;
}
