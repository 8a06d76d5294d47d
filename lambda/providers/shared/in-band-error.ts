/**
 * In-band errors: a provider that fails after its stream started says so inside the stream, in one
 * of several shapes (`event: error`, `{"error":{…}}`, `{"id":…,"error":{…}}`, `{"object":"error"}`,
 * `{"type":"error"}`). Every stream meter recognises all of them, whatever the provider type, so an
 * error is never forwarded verbatim nor recorded as a success.
 */
import { RelayError, type ApiFormat } from '../../core/errors';
import { encode, isObject, tryParse } from './json';

const HINT = /"(?:error|object|type)"\s*:/;

export function isInBandError(event: string, data: string): boolean {
  if (event === 'error') return true;
  if (!HINT.test(data)) return false;
  const value = tryParse(data);
  if (!isObject(value)) return false;
  return (isObject(value.error) || typeof value.error === 'string') || value.object === 'error' || value.type === 'error';
}

/** What the caller gets instead of an in-band error: our own error event; the provider's text is never passed on. */
export function inBandErrorReplacement(format: ApiFormat): Uint8Array {
  return encode(new RelayError(502, 'upstream_error', 'The upstream provider reported an error during the stream.').toStreamEvent(format));
}
