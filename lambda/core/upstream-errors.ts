/**
 * Upstream failures as the relay's own errors: one table keyed by the relay's error code, with the
 * status and message the caller gets. The upstream's body is never part of these messages.
 */
import { RelayError, type ErrorCode, type ProviderErrorDetail } from './errors';
import { header } from './http';
import type { UpstreamResponse } from './ports';

type UpstreamErrorCode = Extract<ErrorCode, `upstream_${string}`>;

interface UpstreamErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const UPSTREAM_ERRORS: Readonly<Record<UpstreamErrorCode, UpstreamErrorSpec>> = {
  // Some providers (Bedrock) throttle without a Retry-After: the caller still gets one.
  upstream_rate_limited: { status: 429, message: 'The upstream provider is rate limiting requests. Retry later.', headers: { 'retry-after': '2' } },
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

/** Statuses whose provider error the caller gets (its own request was refused); 401/403 are the operator's credential, 429 the operator's account limits. */
export const PASSED_ON_STATUSES: ReadonlySet<number> = new Set([400, 404, 409, 413, 422]);
/** The most of an error body read to find the provider's message. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_MESSAGE_CHARS = 2000;
const MAX_FIELD_CHARS = 100;

/** Provider account identifiers and key fragments that must not reach callers. */
const ACCOUNT_IDS: readonly [RegExp, string][] = [
  [/\borg[-_][A-Za-z0-9]{6,}\b/g, 'org-***'],
  [/\bproj_[A-Za-z0-9]{6,}\b/g, 'proj_***'],
  [/\b(?:user|acct|workspace|wrkspc)[-_][A-Za-z0-9]{8,}\b/g, '***'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '***'],
  [/\bsk-[A-Za-z0-9_*.-]{4,}/g, 'sk-***'],
];

function masked(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  let out = text.length > max * 2 ? text.slice(0, max * 2) : text;
  for (const [pattern, replacement] of ACCOUNT_IDS) out = out.replace(pattern, replacement);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** The provider's error as the caller may see it: capped, with account identifiers masked. */
export function callerSafeDetail(detail: ProviderErrorDetail | undefined): ProviderErrorDetail | undefined {
  if (!detail || (detail.message === undefined && detail.type === undefined && detail.code === undefined)) return undefined;
  const field = (value: string | undefined) => (value !== undefined && /^[A-Za-z0-9_.:-]{1,100}$/.test(value) ? value : undefined);
  return {
    type: field(detail.type),
    code: field(detail.code),
    message: masked(detail.message, MAX_MESSAGE_CHARS),
    param: masked(detail.param, MAX_FIELD_CHARS),
  };
}

/**
 * Maps an upstream error status to our own error. For a refused request (PASSED_ON_STATUSES) the
 * caller also gets the provider's own error (`detail`, already made caller-safe); other bodies are
 * discarded unread.
 */
export function upstreamStatusError(response: Pick<UpstreamResponse, 'status' | 'headers'>, detail?: ProviderErrorDetail): RelayError {
  const status = response.status;
  if (status === 429) {
    const retryAfter = header(response.headers, 'retry-after');
    return upstreamError('upstream_rate_limited', { headers: retryAfter && /^\d{1,4}$/.test(retryAfter) ? { 'retry-after': retryAfter } : {} });
  }
  if (status === 401 || status === 403) return upstreamError('upstream_auth_failed');
  if (status === 503 || status === 529) return upstreamError('upstream_unavailable');
  // A provider's own timeout (Bedrock's ModelTimeoutException is 408).
  if (status === 408) return upstreamError('upstream_timeout', { message: 'The upstream model did not answer in time.' });
  if (status >= 500) return upstreamError('upstream_error', { message: `The upstream provider failed (HTTP ${status}).` });
  if (status >= 300 && status < 400) return upstreamError('upstream_bad_response', { message: 'The upstream provider answered with a redirect, which the relay does not follow.' });
  if (PASSED_ON_STATUSES.has(status)) {
    const error = upstreamError('upstream_rejected', { status, message: `The upstream provider rejected the request (HTTP ${status}). Check the request parameters.` });
    return detail ? new RelayError(error.status, error.code, error.message, error.headers, detail) : error;
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
