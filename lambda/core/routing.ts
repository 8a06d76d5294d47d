/** Which relay endpoint a method and path name, and which configured route a model name takes. */
import { keyAllowsModel } from './auth';
import { RelayError, type ApiFormat } from './errors';
import type { ModelRoute, ProviderConfig, RelayConfig, RouteCandidate } from './config';
import type { ClientKey } from './ports';
import type { ForwardedEndpoint } from '../providers/types';

export type EndpointName = ForwardedEndpoint | 'models' | 'healthz' | 'privacy';

export interface Endpoint {
  readonly name: EndpointName;
  readonly method: 'GET' | 'POST';
  /** Whether the endpoint needs a client key. */
  readonly authenticated: boolean;
}

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/v1/chat/completions', { name: 'chat', method: 'POST', authenticated: true }],
  ['/v1/embeddings', { name: 'embeddings', method: 'POST', authenticated: true }],
  ['/v1/messages', { name: 'messages', method: 'POST', authenticated: true }],
  ['/v1/models', { name: 'models', method: 'GET', authenticated: true }],
  ['/healthz', { name: 'healthz', method: 'GET', authenticated: false }],
  ['/v1/privacy', { name: 'privacy', method: 'GET', authenticated: false }],
]);

/** Anthropic's API for /v1/messages; otherwise OpenAI's, or Anthropic's when the caller says so. */
export function formatFor(pathname: string, headers: Headers): ApiFormat {
  if (pathname.startsWith('/v1/messages')) return 'anthropic';
  if (pathname === '/v1/models' && headers.has('anthropic-version')) return 'anthropic';
  return 'openai';
}

export function matchEndpoint(method: string, pathname: string): Endpoint {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  const endpoint = ENDPOINTS.get(path);
  if (!endpoint) throw new RelayError(404, 'not_found', 'Unknown path. The relay serves /v1/chat/completions, /v1/embeddings, /v1/messages and /v1/models.');
  if (method !== endpoint.method) {
    throw new RelayError(405, 'method_not_allowed', `Use ${endpoint.method} for this path.`, { allow: endpoint.method });
  }
  return endpoint;
}

/** Looks up the body's model and checks the key may use it and the endpoint can serve it. */
export function resolveRoute(config: RelayConfig, key: ClientKey, endpoint: ForwardedEndpoint, model: unknown): ModelRoute {
  if (typeof model !== 'string' || model === '') {
    throw new RelayError(400, 'model_required', 'The request body must name a "model".');
  }
  const route = config.models.get(model);
  if (!route) throw new RelayError(404, 'model_not_found', 'The requested model is not served by this relay. GET /v1/models lists the models your key may use.');
  if (!keyAllowsModel(key, model)) {
    throw new RelayError(403, 'model_not_allowed', 'Your key is not allowed to use the requested model. GET /v1/models lists the models your key may use.');
  }
  // Every candidate of a route uses providers of one type (checked at config load).
  const provider = config.providers.get(route.candidates[0].provider) as ProviderConfig;
  const expects = endpoint === 'messages' ? 'anthropic' : 'openai';
  if (provider.type !== expects) {
    const use = provider.type === 'anthropic' ? 'POST /v1/messages' : 'POST /v1/chat/completions';
    throw new RelayError(400, 'wrong_endpoint_for_model', `The requested model speaks the ${provider.type} API; call ${use}.`);
  }
  return route;
}

/**
 * The order in which a route's candidates are tried: by priority (lower first); candidates that
 * share a priority are shuffled by weight, so traffic splits in proportion to the weights.
 */
export function orderCandidates(candidates: readonly RouteCandidate[], random: () => number = Math.random): RouteCandidate[] {
  const byPriority = new Map<number, RouteCandidate[]>();
  for (const candidate of candidates) byPriority.set(candidate.priority, [...(byPriority.get(candidate.priority) ?? []), candidate]);
  const ordered: RouteCandidate[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const pool = [...(byPriority.get(priority) as RouteCandidate[])];
    while (pool.length > 0) {
      let pick = random() * pool.reduce((sum, c) => sum + c.weight, 0);
      let index = 0;
      while (index < pool.length - 1 && pick >= pool[index].weight) pick -= pool[index++].weight;
      ordered.push(...pool.splice(index, 1));
    }
  }
  return ordered;
}

/** The models a key may list and use. */
export function modelsForKey(config: RelayConfig, key: ClientKey): ModelRoute[] {
  return [...config.models.values()].filter((route) => keyAllowsModel(key, route.name));
}
