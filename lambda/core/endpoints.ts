/**
 * The client-facing endpoints: path, method, and the API format the caller speaks (which decides
 * the shape of our errors). Which provider types serve a forwarded endpoint is declared by the
 * provider types themselves (core/provider.ts), never here.
 */
import { RelayError, type ApiFormat } from './errors';
import { header, type HeaderMap } from './http';

/** Endpoints forwarded to a provider. */
export type ForwardedEndpoint = 'chat' | 'embeddings' | 'messages';

/** Endpoints the relay answers itself. */
export type LocalEndpoint = 'models' | 'healthz' | 'privacy';

export type EndpointName = ForwardedEndpoint | LocalEndpoint;

export interface Endpoint {
  readonly name: EndpointName;
  readonly method: 'GET' | 'POST';
  /** Whether the endpoint needs a client key. */
  readonly authenticated: boolean;
  /** The API format callers of this endpoint speak. */
  readonly format: ApiFormat;
}

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/chat/completions', { name: 'chat', method: 'POST', authenticated: true, format: 'openai' }],
  ['/v1/embeddings', { name: 'embeddings', method: 'POST', authenticated: true, format: 'openai' }],
  ['/v1/messages', { name: 'messages', method: 'POST', authenticated: true, format: 'anthropic' }],
  ['/v1/models', { name: 'models', method: 'GET', authenticated: true, format: 'openai' }],
  ['/healthz', { name: 'healthz', method: 'GET', authenticated: false, format: 'openai' }],
  ['/v1/privacy', { name: 'privacy', method: 'GET', authenticated: false, format: 'openai' }],
]);

/** The public path of each forwarded endpoint (for messages that tell callers where to go). */
export const ENDPOINT_PATHS: Readonly<Record<ForwardedEndpoint, string>> = {
  chat: '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
};

function normalisePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

/** The format errors are answered in: the endpoint's, and Anthropic's for a model list asked for with anthropic-version. */
export function formatFor(path: string, headers: HeaderMap): ApiFormat {
  const normalised = normalisePath(path);
  if (normalised.startsWith('/v1/messages')) return 'anthropic';
  if (normalised === '/v1/models' && header(headers, 'anthropic-version') !== undefined) return 'anthropic';
  return ENDPOINTS.get(normalised)?.format ?? 'openai';
}

export function matchEndpoint(method: string, path: string): Endpoint {
  const endpoint = ENDPOINTS.get(normalisePath(path));
  if (!endpoint) throw new RelayError(404, 'not_found', 'Unknown path. The relay serves /v1/chat/completions, /v1/embeddings, /v1/messages and /v1/models.');
  if (method !== endpoint.method) {
    throw new RelayError(405, 'method_not_allowed', `Use ${endpoint.method} for this path.`, { allow: endpoint.method });
  }
  return endpoint;
}
