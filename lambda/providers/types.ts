/**
 * What a provider adapter does: build the upstream request from a caller's native-format body,
 * read token counts from a JSON answer, and meter (and where needed rewrite) a stream event by event.
 */
import type { ApiFormat } from '../core/errors';
import type { ProviderConfig, ProviderType } from '../core/config';

/** The relay endpoints that are forwarded upstream. */
export type ForwardedEndpoint = 'chat' | 'embeddings' | 'messages';

export type JsonObject = Record<string, unknown>;

export interface TokenCounts {
  inputTokens?: number;
  outputTokens?: number;
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

export interface StreamMeter {
  /** Takes one whole SSE event and returns the bytes to send the caller (the same, rewritten, or none). */
  onEvent(raw: Uint8Array): Uint8Array | undefined;
  reading(): MeterReading;
}

export interface ForwardInput {
  readonly endpoint: ForwardedEndpoint;
  readonly provider: ProviderConfig;
  /** The model name to send upstream (the route candidate's). */
  readonly upstreamModel: string;
  /** The caller's body, parsed once. */
  readonly body: JsonObject;
  /** The caller's body as received, forwarded unchanged when nothing needs rewriting. */
  readonly rawBody: Uint8Array;
  readonly clientHeaders: Headers;
  readonly secret: string;
}

export interface UpstreamRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
  /** The caller asked for a stream. */
  readonly stream: boolean;
  /** Creates the meter for this request's stream. */
  readonly createMeter: () => StreamMeter;
}

export interface ProviderAdapter {
  readonly type: ProviderType;
  /** The API format this provider's native bodies use. */
  readonly format: ApiFormat;
  readonly endpoints: ReadonlySet<ForwardedEndpoint>;
  buildRequest(input: ForwardInput): UpstreamRequest;
  /** Token counts from a complete JSON answer, if it reports them. */
  jsonUsage(body: unknown): TokenCounts | undefined;
}
