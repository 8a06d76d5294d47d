/** The `baseUrl` field most provider types share: operator-configured, checked, normalised. */
import type { ProviderConfigInput } from '../../core/provider';
import { checkUpstreamUrl } from '../../core/upstream-url';

/**
 * Reads and checks `baseUrl`. `pathSuffix`, when given, is the path the URL must end in (the API's
 * version root); `example` is shown when the field is missing.
 */
export function parseBaseUrl(input: ProviderConfigInput, example: string, pathSuffix?: string): string | undefined {
  const value = input.raw.baseUrl;
  if (typeof value !== 'string') {
    input.problems.push(`${input.where}.baseUrl: expected a URL string such as "${example}"`);
    return undefined;
  }
  const checked = checkUpstreamUrl(value, input.mode === 'local');
  if (!checked.ok) {
    input.problems.push(`${input.where}.baseUrl: ${checked.problem}`);
    return undefined;
  }
  if (pathSuffix && !new URL(checked.url).pathname.replace(/\/+$/, '').endsWith(pathSuffix)) {
    input.problems.push(`${input.where}.baseUrl: expected the API root ending in ${pathSuffix}, such as "${example}", got ${JSON.stringify(value)}`);
    return undefined;
  }
  return checked.url;
}
