/** Headers a provider passes on from the caller: an allowlist, nothing else reaches the provider. */
import { header, type HeaderMap } from '../../core/http';

export const RELAY_USER_AGENT = 'mixroute-relay/0.1';

export function pickHeaders(from: HeaderMap, allowlist: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of allowlist) {
    const value = header(from, name);
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
