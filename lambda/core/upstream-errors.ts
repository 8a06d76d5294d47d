/**
 * Upstream failures as the relay's own errors: one table keyed by the relay's error code, with the
 * status and message the caller gets. The upstream's body is never part of these messages.
 */
import { RelayError, type ErrorCode } from './errors';
import { header } from './http';
import type { UpstreamResponse } from './ports';

type UpstreamErrorCode = Extract<ErrorCode, `upstream_${string}`>;

interface UpstreamErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const UPSTREAM_ERRORS: Readonly<Record<UpstreamErrorCode, UpstreamErrorSpec>> = {
  upstream_rate_limited: { status: 429, message: 'The upstream provider is rate limiting requests. Retry later.' },
  upstream_auth_failed: { status: 502, message: "The upstream provider rejected the relay's credential. The operator must update it." },
  upstream_unavailable: { status: 503, message: 'The upstream provider is overloaded or unavailable. Retry later.', headers: { 'retry-after': '5' } },
  upstream_rejected: { status: 400, message: 'The upstream provider rejected the request. Check the request parameters.' },
  upstream_error: { status: 502, message: 'The upstream provider failed.' },
  upstream_bad_response: { status: 502, message: 'The upstream provider answered in a way the relay cannot pass on.' },
  upstream_timeout: { status: 504, message: 'The upstream provider did not answer in time.' },
  upstream_response_too_large: { status: 502, message: "The upstream provider's answer is larger than the relay accepts (settings.maxResponseBytes)." },
};

/** The error for a code, with the table's status and message unless the cause says more. */
export function upstreamError(code: UpstreamErrorCode, override: { status?: number; message?: string; headers?: Record<string, string> } = {}): RelayError {
  const spec = UPSTREAM_ERRORS[code];
  return new RelayError(override.status ?? spec.status, code, override.message ?? spec.message, { ...spec.headers, ...override.headers });
}

/** Maps an upstream error status to our own error; the upstream body is discarded unread. */
export function upstreamStatusError(response: Pick<UpstreamResponse, 'status' | 'headers'>): RelayError {
  const status = response.status;
  if (status === 429) {
    const retryAfter = header(response.headers, 'retry-after');
    return upstreamError('upstream_rate_limited', { headers: retryAfter && /^\d{1,4}$/.test(retryAfter) ? { 'retry-after': retryAfter } : {} });
  }
  if (status === 401 || status === 403) return upstreamError('upstream_auth_failed');
  if (status === 503 || status === 529) return upstreamError('upstream_unavailable');
  if (status >= 500) return upstreamError('upstream_error', { message: `The upstream provider failed (HTTP ${status}).` });
  if (status >= 300 && status < 400) return upstreamError('upstream_bad_response', { message: 'The upstream provider answered with a redirect, which the relay does not follow.' });
  if ([400, 404, 409, 413, 422].includes(status)) {
    return upstreamError('upstream_rejected', { status, message: `The upstream provider rejected the request (HTTP ${status}). Check the request parameters.` });
  }
  return upstreamError('upstream_error', { message: `The upstream provider refused the request (HTTP ${status}).` });
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now (0 when absent or unreadable). */
export function retryAfterToMs(value: string | undefined, nowMs: number): number {
  if (!value) return 0;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.max(0, at - nowMs);
}
