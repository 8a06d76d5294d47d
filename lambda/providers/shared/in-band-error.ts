/**
 * In-band errors: a provider that fails after its stream started says so inside the stream, in one
 * of several shapes (`event: error`, `{"error":{…}}`, `{"id":…,"error":{…}}`, `{"object":"error"}`,
 * `{"type":"error"}`). Every stream meter recognises all of them, whatever the provider type, so an
 * error is never forwarded verbatim nor recorded as a success.
 */
import { isObject, tryParse } from './json';

const HINT = /"(?:error|object|type)"\s*:/;

export function isInBandError(event: string, data: string): boolean {
  if (event === 'error') return true;
  if (!HINT.test(data)) return false;
  const value = tryParse(data);
  if (!isObject(value)) return false;
  return (isObject(value.error) || typeof value.error === 'string') || value.object === 'error' || value.type === 'error';
}
