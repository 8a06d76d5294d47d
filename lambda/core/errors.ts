/**
 * One error hierarchy for the relay. Every message here is written by us: nothing from a request
 * body, a header or an upstream response is ever put into an error message, so errors can be
 * returned to callers and logged (by code) without carrying content.
 */
import { jsonResponse, type RelayResponse } from './http';

/** The wire format a caller speaks; errors are answered in it. `openai-responses` is OpenAI's
 * Responses API: OpenAI's error body, but its own `error` event in streams. */
export type ApiFormat = 'openai' | 'openai-responses' | 'anthropic';

/** A provider's own error, as the caller may see it (never logged or stored). */
export interface ProviderErrorDetail {
  readonly type?: string;
  readonly code?: string;
  readonly message?: string;
  readonly param?: string;
}

/** Stable, content-free error codes. Logged and recorded; safe to script against. */
export type ErrorCode =
  | 'invalid_api_key'
  | 'key_store_unavailable'
  | 'invalid_json'
  | 'invalid_request'
  | 'request_too_large'
  | 'model_required'
  | 'model_not_found'
  | 'model_not_allowed'
  | 'wrong_endpoint_for_model'
  | 'provider_storage_disabled'
  | 'server_tool_not_allowed'
  | 'method_not_allowed'
  | 'not_found'
  | 'provider_credential_missing'
  | 'provider_credential_unavailable'
  | 'upstream_rejected'
  | 'upstream_auth_failed'
  | 'upstream_rate_limited'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'upstream_bad_response'
  | 'upstream_response_too_large'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'concurrency_limited'
  | 'limit_store_unavailable'
  | 'key_revoked'
  | 'client_closed'
  | 'internal_error';

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (e.g. Retry-After, Allow); values are ours, never a caller's. */
    readonly headers: Record<string, string> = {},
    /**
     * The provider's own error for an upstream 4xx, handed to the caller who sent the request (it may
     * quote the caller's own prompt). Only the status and `code` are ever logged or recorded.
     */
    readonly providerDetail?: ProviderErrorDetail,
  ) {
    super(message);
    this.name = 'RelayError';
  }

  /** The error `type` field in the caller's format. */
  typeFor(format: ApiFormat): string {
    if (format === 'anthropic') return ANTHROPIC_TYPES[this.status] ?? 'api_error';
    return OPENAI_TYPES[this.status] ?? (this.status >= 500 ? 'server_error' : 'invalid_request_error');
  }

  /** The JSON error body in the caller's API format. */
  toBody(format: ApiFormat): unknown {
    const detail = this.providerDetail;
    const message = detail?.message ?? this.message;
    if (format === 'anthropic') {
      return { type: 'error', error: { type: detail?.type ?? this.typeFor(format), message } };
    }
    return {
      error: { message, type: detail?.type ?? this.typeFor(format), code: detail?.code ?? this.code, ...(detail?.param !== undefined ? { param: detail.param } : {}) },
    };
  }

  toResponse(format: ApiFormat, requestId?: string): RelayResponse {
    const headers: Record<string, string> = {};
    if (requestId) headers['x-request-id'] = requestId;
    // Our own 4xx answers are final: stop SDKs from retrying them (they retry 429/5xx by default).
    if (this.status < 500 && this.status !== 429) headers['x-should-retry'] = 'false';
    Object.assign(headers, this.headers);
    return jsonResponse(this.status, this.toBody(format), headers);
  }

  /** A server-sent event that ends a stream which already started, in the caller's format. */
  toStreamEvent(format: ApiFormat): string {
    if (format === 'openai-responses') {
      return `event: error\ndata: ${JSON.stringify({ type: 'error', code: this.code, message: this.message, param: null })}\n\n`;
    }
    const body = JSON.stringify(this.toBody(format));
    return format === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
  }
}

/** Wraps anything thrown into a RelayError without looking at its message (it may hold content). */
export function asRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  return new RelayError(500, 'internal_error', 'The relay failed to process the request.');
}
