/**
 * Which configured route a model name takes, and which of its candidates serve the endpoint called.
 * Exact names win over patterns ("claude-*"), longer patterns over shorter; a pattern route forwards
 * the requested name unchanged unless its candidate names a model.
 */
import { keyAllowsModel } from './auth';
import { ENDPOINT_PATHS, type ForwardedEndpoint } from './endpoints';
import { RelayError } from './errors';
import { NAME_PATTERN, REQUESTED_MODEL, type ModelRoute, type ProviderConfig, type RelayConfig, type RouteCandidate } from './config';
import type { ClientKey } from './ports';
import { serves } from './provider';

export interface ResolvedRoute {
  readonly route: ModelRoute;
  /** The name the caller asked for (the route's name, or a name a pattern matched). */
  readonly model: string;
  /** The route's candidates whose provider serves the endpoint, in configured order, with their upstream model. */
  readonly candidates: readonly RouteCandidate[];
}

/** The route a model name takes: its exact route, else the longest pattern that matches it. */
export function findRoute(config: RelayConfig, model: string): ModelRoute | undefined {
  const exact = config.models.get(model);
  if (exact && exact.prefix === undefined) return exact;
  if (!NAME_PATTERN.test(model)) return undefined;
  let best: ModelRoute | undefined;
  for (const route of config.models.values()) {
    if (route.prefix !== undefined && model.startsWith(route.prefix) && (!best || route.prefix.length > (best.prefix as string).length)) best = route;
  }
  return best;
}

/** Looks up the body's model and checks the key may use it and a candidate serves the endpoint. */
export function resolveRoute(config: RelayConfig, key: ClientKey, endpoint: ForwardedEndpoint, model: unknown): ResolvedRoute {
  if (typeof model !== 'string' || model === '') {
    throw new RelayError(400, 'model_required', 'The request body must name a "model".');
  }
  const route = findRoute(config, model);
  if (!route) throw new RelayError(404, 'model_not_found', 'The requested model is not served by this relay. GET /v1/models lists the models your key may use.');
  if (!keyAllowsModel(key, model)) {
    throw new RelayError(403, 'model_not_allowed', 'Your key is not allowed to use the requested model. GET /v1/models lists the models your key may use.');
  }
  const candidates = route.candidates
    .filter((c) => serves(config.providers.get(c.provider) as ProviderConfig, endpoint))
    .map((c) => (c.model === REQUESTED_MODEL ? { ...c, model } : c));
  if (candidates.length === 0) {
    const use = route.endpoints.map((e) => `POST ${ENDPOINT_PATHS[e]}`).join(' or ');
    throw new RelayError(400, 'wrong_endpoint_for_model', `The requested model is not served on ${ENDPOINT_PATHS[endpoint]}; call ${use}.`);
  }
  return { route, model, candidates };
}

/**
 * The order in which candidates are tried: by priority (lower first); candidates that share a
 * priority are shuffled by weight, so traffic splits in proportion to the weights.
 */
export function orderCandidates(candidates: readonly RouteCandidate[], random: () => number = Math.random): RouteCandidate[] {
  if (candidates.length === 1) return [candidates[0]];
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

/** The exact model names a key may list and use (patterns are not listed: they are not names). */
export function modelsForKey(config: RelayConfig, key: ClientKey): ModelRoute[] {
  return [...config.models.values()].filter((route) => route.prefix === undefined && keyAllowsModel(key, route.name));
}
