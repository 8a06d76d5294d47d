/**
 * In-band errors: a provider that fails after its stream started says so inside the stream, in one
 * of several shapes (`event: error`, `{"error":{…}}`, `{"id":…,"error":{…}}`, `{"object":"error"}`,
 * `{"type":"error"}`). Every stream meter recognises all of them, whatever the provider type, so an
 * error is never forwarded verbatim nor recorded as a success.
 */
import { RelayError, type ApiFormat } from '../../core/errors';
import { encode, isObject, ownValue, tryParse } from './json';

/** Cheap pre-check before parsing: an `error` key, or `object`/`type` set to "error" (ordinary chunks have neither). */
const HINT = /"error"\s*:|"(?:object|type)"\s*:\s*"error"/;

export function isInBandError(event: string, data: string): boolean {
  if (event === 'error') return true;
  if (!HINT.test(data)) return false;
  const value = tryParse(data);
  if (!isObject(value)) return false;
  return (isObject(value.error) || typeof value.error === 'string') || value.object === 'error' || value.type === 'error';
}

/**
 * Kinds of mid-stream failure a caller may act on (back off, retry later), by Anthropic's error
 * type, as Anthropic itself sends them mid-stream. Only the kind is kept, never the provider's
 * message: the replacement's text is ours.
 */
const STREAM_FAILURES: Readonly<Record<string, RelayError>> = {
  overloaded_error: new RelayError(529, 'upstream_unavailable', 'The upstream provider is overloaded; retry shortly.', {}, { type: 'overloaded_error' }),
  rate_limit_error: new RelayError(429, 'upstream_rate_limited', 'The upstream provider is rate limiting requests; retry later.', {}, { type: 'rate_limit_error' }),
  timeout_error: new RelayError(504, 'upstream_timeout', 'The upstream provider timed out during the stream.', {}, { type: 'timeout_error' }),
};

const GENERIC = new RelayError(502, 'upstream_error', 'The upstream provider reported an error during the stream.');

/** The Anthropic error type of an in-band error event, when it is one of the kinds kept. */
function failureKind(data: string | undefined): RelayError | undefined {
  const value = data === undefined ? undefined : tryParse(data);
  const type = isObject(value) && isObject(value.error) ? value.error.type : undefined;
  return ownValue(STREAM_FAILURES, type);
}

/**
 * What the caller gets instead of an in-band error: our own error event, of the same kind for an
 * Anthropic stream's overload, rate limit or timeout (`data`, the provider's event, is read for
 * that kind only); the provider's text is never passed on.
 */
export function inBandErrorReplacement(format: ApiFormat, data?: string): Uint8Array {
  const error = (format === 'anthropic' ? failureKind(data) : undefined) ?? GENERIC;
  return encode(error.toStreamEvent(format));
}
