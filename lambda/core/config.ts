/**
 * Relay configuration: the operator's providers and model routes plus the relay's settings.
 * The hosts read the environment or the config file once and hand the raw value to
 * `parseRelayConfig` with the provider registry they composed; it validates everything and names
 * each bad field and what it expects. Provider fields are validated by their own type.
 */
import type { ForwardedEndpoint } from './endpoints';
import type { JsonObject, ProviderAdapter, ProviderRegistry } from './provider';

/** `local` is the laptop dev server; `lambda` is the deployed function. */
export type RelayMode = 'local' | 'lambda';

export interface ProviderConfig {
  readonly name: string;
  /** The config's `type`; `adapter` is the registered type itself. */
  readonly type: string;
  readonly adapter: ProviderAdapter;
  /** Normalised, without a trailing slash. */
  readonly baseUrl: string;
  /** The type's own validated settings beyond the base URL. */
  readonly options: JsonObject;
  /** Local mode only: the environment variable holding the provider key. */
  readonly apiKeyEnv?: string;
  /**
   * Whether the provider may keep conversations (OpenAI's `store`, stored responses). Off by
   * default: the relay sends `store: false` and refuses requests that need stored state.
   */
  readonly allowProviderStorage: boolean;
  /** Server-side tools (by identifier, e.g. "mcp") the operator lets callers use with this provider; none by default. */
  readonly allowServerTools: readonly string[];
}

/** A pattern route's candidate without its own `model` forwards the name the caller asked for. */
export const REQUESTED_MODEL = '';

export interface RouteCandidate {
  readonly provider: string;
  /** The model name sent upstream (defaults to the route's name; REQUESTED_MODEL for a pattern route). */
  readonly model: string;
  /** Lower is tried first (defaults to the candidate's position in the list). */
  readonly priority: number;
  /** Share of traffic among candidates of the same priority (default 1). */
  readonly weight: number;
}

export interface ModelRoute {
  /** The name callers use, or a pattern ending in `*` (e.g. "claude-*") that matches names by prefix. */
  readonly name: string;
  /** The prefix a pattern route matches; absent for an exact name. */
  readonly prefix?: string;
  /** Where the model is served, in order of preference; the relay fails over down this list. */
  readonly candidates: readonly RouteCandidate[];
  /** The first candidate's provider, for listings. */
  readonly provider: string;
  /** The client endpoints at least one candidate serves. */
  readonly endpoints: readonly ForwardedEndpoint[];
}

export interface RelaySettings {
  /** Largest accepted request body. */
  readonly maxBodyBytes: number;
  /** How long a key record is cached; bounds how long a revoked key keeps working. */
  readonly keyCacheTtlMs: number;
  /** How long a decrypted provider secret is kept in memory. */
  readonly secretCacheTtlMs: number;
  /** Time allowed to open a connection to an upstream. */
  readonly connectTimeoutMs: number;
  /** Time allowed per attempt until the upstream answers with headers (connect included). */
  readonly headersTimeoutMs: number;
  /** Time allowed between two chunks of an upstream body. */
  readonly idleTimeoutMs: number;
  /** Time allowed for the whole request, every attempt included (well under API Gateway's 15-minute stream limit). */
  readonly totalTimeoutMs: number;
  /** Upstream statuses that make the relay try the route's next candidate. */
  readonly retryStatuses: readonly number[];
  /** The longest Retry-After the relay waits before trying the same provider again. */
  readonly maxRetryAfterMs: number;
  /** Largest non-streamed upstream answer the relay accepts (it holds one in memory to meter it). */
  readonly maxResponseBytes: number;
  /** The most the relay waits for one call to its stores or KMS (key lookup, counters, usage write, secret). */
  readonly storeTimeoutMs: number;
  /** The most a streamed request waits for its first byte from a candidate before trying the next. */
  readonly streamFirstByteTimeoutMs: number;
  /** How often an open stream re-checks that its key still works (revocation, expiry). */
  readonly streamKeyRecheckMs: number;
  /** Output tokens reserved against a key's token quota when the request names no max_tokens. */
  readonly defaultOutputReservation: number;
}

export interface RelayConfig {
  readonly mode: RelayMode;
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly models: ReadonlyMap<string, ModelRoute>;
  readonly settings: RelaySettings;
}

export const DEFAULT_SETTINGS: RelaySettings = {
  maxBodyBytes: 6 * 1024 * 1024,
  keyCacheTtlMs: 30_000,
  secretCacheTtlMs: 300_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 300_000,
  idleTimeoutMs: 120_000,
  totalTimeoutMs: 840_000,
  retryStatuses: [429, 500, 502, 503, 504, 529],
  maxRetryAfterMs: 5_000,
  maxResponseBytes: 32 * 1024 * 1024,
  storeTimeoutMs: 2_000,
  streamFirstByteTimeoutMs: 60_000,
  streamKeyRecheckMs: 30_000,
  defaultOutputReservation: 4_096,
};

/** Upper bounds that keep the promises: revocation within 30 s, streams within 15 min. */
const SETTING_LIMITS: Record<Exclude<keyof RelaySettings, 'retryStatuses'>, [min: number, max: number]> = {
  maxBodyBytes: [1024, 64 * 1024 * 1024],
  keyCacheTtlMs: [0, 30_000],
  secretCacheTtlMs: [0, 3_600_000],
  connectTimeoutMs: [100, 120_000],
  headersTimeoutMs: [100, 900_000],
  idleTimeoutMs: [100, 900_000],
  totalTimeoutMs: [100, 890_000],
  maxRetryAfterMs: [0, 60_000],
  maxResponseBytes: [64 * 1024, 256 * 1024 * 1024],
  storeTimeoutMs: [100, 30_000],
  streamFirstByteTimeoutMs: [100, 900_000],
  streamKeyRecheckMs: [1_000, 30_000],
  defaultOutputReservation: [0, 1_000_000],
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid relay configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A model or provider name as configured and as callers may send it. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
/** A model route pattern: a name prefix followed by `*`. */
const ROUTE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,126}\*$/;
const ENV_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string, problems: string[]) {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) problems.push(`${where}.${key}: unknown field (expected one of ${allowed.join(', ')})`);
  }
}

/** Fields every provider type accepts: what the relay lets the provider do with the conversation. */
const COMMON_PROVIDER_FIELDS = ['allowProviderStorage', 'allowServerTools'];
const TOOL_ID = /^[a-z][a-z0-9_]{0,63}$/;

function parseProvider(name: string, raw: unknown, mode: RelayMode, registry: ProviderRegistry, problems: string[]): ProviderConfig | undefined {
  const where = `providers.${name}`;
  if (!NAME_PATTERN.test(name)) {
    problems.push(`${where}: provider names use letters, digits and . _ : / @ - (at most 128 characters)`);
    return undefined;
  }
  const types = [...registry.keys()];
  if (!isObject(raw)) {
    const example = registry.values().next().value?.example ?? '{"type":"..."}';
    problems.push(`${where}: expected an object like ${example}`);
    return undefined;
  }
  const adapter = typeof raw.type === 'string' ? registry.get(raw.type) : undefined;
  if (!adapter) {
    problems.push(`${where}.type: expected one of ${types.join(', ')}, got ${JSON.stringify(raw.type)}`);
    return undefined;
  }
  const storedSecret = adapter.credential === 'stored-secret';
  checkKeys(raw, ['type', ...COMMON_PROVIDER_FIELDS, ...adapter.configFields, ...(storedSecret ? ['apiKeyEnv'] : [])], where, problems);
  if (raw.allowProviderStorage !== undefined && typeof raw.allowProviderStorage !== 'boolean') {
    problems.push(`${where}.allowProviderStorage: expected true or false, got ${JSON.stringify(raw.allowProviderStorage)}`);
  }
  if (raw.allowServerTools !== undefined && (!Array.isArray(raw.allowServerTools) || !raw.allowServerTools.every((t) => typeof t === 'string' && TOOL_ID.test(t)))) {
    problems.push(`${where}.allowServerTools: expected a list of server-side tool identifiers such as ["mcp"], got ${JSON.stringify(raw.allowServerTools)}`);
  }
  const before = problems.length;
  const settings = adapter.parseConfig({ name, where, raw, mode, problems });
  let apiKeyEnv: string | undefined;
  if (storedSecret && raw.apiKeyEnv !== undefined) {
    if (mode !== 'local') {
      problems.push(`${where}.apiKeyEnv: only allowed in local mode; in AWS store the key with \`mixroute providers set-key ${name}\``);
    } else if (typeof raw.apiKeyEnv !== 'string' || !ENV_PATTERN.test(raw.apiKeyEnv)) {
      problems.push(`${where}.apiKeyEnv: expected an environment variable name such as "OPENAI_API_KEY"`);
    } else {
      apiKeyEnv = raw.apiKeyEnv;
    }
  }
  if (!settings || problems.length > before) return undefined;
  return {
    name,
    type: adapter.type,
    adapter,
    baseUrl: settings.baseUrl,
    options: settings.options ?? {},
    allowProviderStorage: raw.allowProviderStorage === true,
    allowServerTools: Array.isArray(raw.allowServerTools) ? (raw.allowServerTools as string[]) : [],
    ...(apiKeyEnv ? { apiKeyEnv } : {}),
  };
}

function parseCandidate(
  where: string,
  raw: unknown,
  index: number,
  routeName: string,
  providers: ReadonlyMap<string, ProviderConfig>,
  problems: string[],
): RouteCandidate | undefined {
  if (!isObject(raw)) {
    problems.push(`${where}: expected an object like {"provider":"openai","model":"gpt-4o-mini"}`);
    return undefined;
  }
  checkKeys(raw, ['provider', 'model', 'priority', 'weight'], where, problems);
  if (typeof raw.provider !== 'string' || !providers.has(raw.provider)) {
    const known = [...providers.keys()].join(', ') || 'none are configured';
    problems.push(`${where}.provider: expected the name of a configured provider (${known}), got ${JSON.stringify(raw.provider)}`);
    return undefined;
  }
  if (raw.model !== undefined && (typeof raw.model !== 'string' || !NAME_PATTERN.test(raw.model))) {
    problems.push(`${where}.model: expected the upstream model name as a string, got ${JSON.stringify(raw.model)}`);
    return undefined;
  }
  if (raw.priority !== undefined && (typeof raw.priority !== 'number' || !Number.isInteger(raw.priority) || raw.priority < 0)) {
    problems.push(`${where}.priority: expected a whole number, 0 or more (lower is tried first), got ${JSON.stringify(raw.priority)}`);
    return undefined;
  }
  if (raw.weight !== undefined && (typeof raw.weight !== 'number' || !(raw.weight > 0) || raw.weight > 1000)) {
    problems.push(`${where}.weight: expected a number above 0 and at most 1000, got ${JSON.stringify(raw.weight)}`);
    return undefined;
  }
  return {
    provider: raw.provider,
    model: typeof raw.model === 'string' ? raw.model : routeName.endsWith('*') ? REQUESTED_MODEL : routeName,
    priority: typeof raw.priority === 'number' ? raw.priority : index,
    weight: typeof raw.weight === 'number' ? raw.weight : 1,
  };
}

function parseModel(
  name: string,
  raw: unknown,
  providers: ReadonlyMap<string, ProviderConfig>,
  problems: string[],
): ModelRoute | undefined {
  const where = `models.${name}`;
  if (!NAME_PATTERN.test(name) && !ROUTE_PATTERN.test(name)) {
    problems.push(`${where}: model names use letters, digits and . _ : / @ - (at most 128 characters); a pattern ends in * (e.g. "claude-*")`);
    return undefined;
  }
  if (!isObject(raw)) {
    problems.push(`${where}: expected an object like {"provider":"openai"} or {"candidates":[{"provider":"openai"},{"provider":"backup"}]}`);
    return undefined;
  }
  let candidates: (RouteCandidate | undefined)[];
  if (raw.candidates !== undefined) {
    checkKeys(raw, ['candidates'], where, problems);
    if (!Array.isArray(raw.candidates) || raw.candidates.length === 0 || raw.candidates.length > 10) {
      problems.push(`${where}.candidates: expected a list of 1 to 10 candidates like {"provider":"openai","model":"gpt-4o-mini"}`);
      return undefined;
    }
    candidates = raw.candidates.map((c, i) => parseCandidate(`${where}.candidates[${i}]`, c, i, name, providers, problems));
  } else {
    candidates = [parseCandidate(where, raw, 0, name, providers, problems)];
  }
  if (candidates.some((c) => c === undefined)) return undefined;
  const valid = candidates as RouteCandidate[];
  const served = valid.map((c) => endpointsOf(providers.get(c.provider) as ProviderConfig));
  // Candidates are alternatives for the same request: they must speak at least one endpoint in common.
  const common = served.reduce((shared, list) => shared.filter((e) => list.includes(e)));
  if (common.length === 0) {
    const described = valid.map((c, i) => `${c.provider} (${served[i].join(', ') || 'nothing'})`).join(', ');
    problems.push(`${where}: the candidates serve no client endpoint in common, so none can stand in for another: ${described}`);
    return undefined;
  }
  const endpoints = [...new Set(served.flat())];
  return { name, ...(name.endsWith('*') ? { prefix: name.slice(0, -1) } : {}), candidates: valid, provider: valid[0].provider, endpoints };
}

function endpointsOf(provider: ProviderConfig): ForwardedEndpoint[] {
  return Object.keys(provider.adapter.endpoints) as ForwardedEndpoint[];
}

function parseSettings(raw: unknown, problems: string[]): RelaySettings {
  if (raw === undefined) return DEFAULT_SETTINGS;
  if (!isObject(raw)) {
    problems.push('settings: expected an object');
    return DEFAULT_SETTINGS;
  }
  const names = Object.keys(SETTING_LIMITS) as (keyof typeof SETTING_LIMITS)[];
  checkKeys(raw, [...names, 'retryStatuses'], 'settings', problems);
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  if (raw.retryStatuses !== undefined) {
    const statuses = raw.retryStatuses;
    if (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && ((s as number) === 429 || ((s as number) >= 500 && (s as number) <= 599)))) {
      problems.push(`settings.retryStatuses: expected a list of statuses from 429 and 500-599, got ${JSON.stringify(statuses)}`);
    } else {
      settings.retryStatuses = statuses;
    }
  }
  for (const name of names) {
    const value = raw[name];
    if (value === undefined) continue;
    const [min, max] = SETTING_LIMITS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`settings.${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    } else {
      settings[name] = value;
    }
  }
  return settings as unknown as RelaySettings;
}

/** Validates a raw configuration object; throws ConfigError listing every problem at once. */
export function parseRelayConfig(raw: unknown, mode: RelayMode, registry: ProviderRegistry): RelayConfig {
  const problems: string[] = [];
  if (!isObject(raw)) throw new ConfigError(['expected a JSON object with "providers" and "models"']);
  checkKeys(raw, ['$schema', 'providers', 'models', 'settings'], '(top level)', problems);

  const providers = new Map<string, ProviderConfig>();
  const rawProviders = raw.providers ?? {};
  if (!isObject(rawProviders)) problems.push('providers: expected an object mapping names to providers');
  else {
    for (const [name, value] of Object.entries(rawProviders)) {
      const provider = parseProvider(name, value, mode, registry, problems);
      if (provider) providers.set(name, provider);
    }
  }

  const models = new Map<string, ModelRoute>();
  const rawModels = raw.models ?? {};
  if (!isObject(rawModels)) problems.push('models: expected an object mapping model names to routes');
  else {
    for (const [name, value] of Object.entries(rawModels)) {
      const route = parseModel(name, value, providers, problems);
      if (route) models.set(name, route);
    }
  }

  const settings = parseSettings(raw.settings, problems);
  for (const name of ['headersTimeoutMs', 'streamFirstByteTimeoutMs'] as const) {
    if (settings[name] > settings.totalTimeoutMs) problems.push(`settings.${name}: must not exceed settings.totalTimeoutMs`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { mode, providers, models, settings };
}

/** Parses config JSON text, reporting a syntax error as a config problem. */
export function parseRelayConfigText(text: string, mode: RelayMode, source: string, registry: ProviderRegistry): RelayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${source}: not valid JSON (${(error as Error).message})`]);
  }
  return parseRelayConfig(raw, mode, registry);
}
