/**
 * The client-facing endpoints: path, methods, and the API format the caller speaks (which decides
 * the shape of our errors). Which provider types serve a forwarded endpoint is declared by the
 * provider types themselves (core/provider.ts), never here. Paths a misconfigured client calls
 * (a doubled /v1, a missing /v1) get a 404 that says which base URL to use.
 */
import { RelayError, type ApiFormat } from './errors';
import { header, type HeaderMap } from './http';
import type { RecordedEndpoint } from './usage';

/** Endpoints forwarded to a provider. */
export type ForwardedEndpoint = 'chat' | 'embeddings' | 'messages' | 'count_tokens' | 'responses' | 'responses_compact' | 'stored_response';

/** Endpoints the relay answers itself. */
export type LocalEndpoint = 'models' | 'model' | 'healthz' | 'privacy' | 'root';

export type EndpointName = ForwardedEndpoint | LocalEndpoint;

export interface Endpoint {
  readonly name: EndpointName;
  readonly methods: readonly string[];
  /** Whether the endpoint needs a client key. */
  readonly authenticated: boolean;
  /** The API format callers of this endpoint speak. */
  readonly format: ApiFormat;
  /** What the usage record calls it. */
  readonly recorded: RecordedEndpoint;
}

export interface MatchedEndpoint extends Endpoint {
  /** The id in a path such as /v1/models/{id} or /v1/responses/{id}. */
  readonly id?: string;
}

const GET = ['GET', 'HEAD'];
const POST = ['POST'];

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/chat/completions', { name: 'chat', methods: POST, authenticated: true, format: 'openai', recorded: 'chat' }],
  ['/v1/embeddings', { name: 'embeddings', methods: POST, authenticated: true, format: 'openai', recorded: 'embeddings' }],
  ['/v1/responses', { name: 'responses', methods: POST, authenticated: true, format: 'openai-responses', recorded: 'responses' }],
  ['/v1/responses/compact', { name: 'responses_compact', methods: POST, authenticated: true, format: 'openai', recorded: 'responses_compact' }],
  ['/v1/messages', { name: 'messages', methods: POST, authenticated: true, format: 'anthropic', recorded: 'messages' }],
  ['/v1/messages/count_tokens', { name: 'count_tokens', methods: POST, authenticated: true, format: 'anthropic', recorded: 'count_tokens' }],
  ['/v1/models', { name: 'models', methods: GET, authenticated: true, format: 'openai', recorded: 'models' }],
  ['/healthz', { name: 'healthz', methods: GET, authenticated: false, format: 'openai', recorded: 'other' }],
  ['/v1/privacy', { name: 'privacy', methods: GET, authenticated: false, format: 'openai', recorded: 'other' }],
  ['/', { name: 'root', methods: GET, authenticated: false, format: 'openai', recorded: 'other' }],
]);

const ID = '([A-Za-z0-9][A-Za-z0-9._:@/-]{0,255})';
const WITH_ID: readonly [RegExp, Endpoint][] = [
  [new RegExp(`^/v1/models/${ID}$`), { name: 'model', methods: GET, authenticated: true, format: 'openai', recorded: 'models' }],
  [new RegExp(`^/v1/responses/${ID}$`), { name: 'stored_response', methods: ['GET', 'DELETE'], authenticated: true, format: 'openai', recorded: 'responses' }],
];

/** The public path of each forwarded endpoint (for messages that tell callers where to go). */
export const ENDPOINT_PATHS: Readonly<Record<ForwardedEndpoint, string>> = {
  chat: '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
  count_tokens: '/v1/messages/count_tokens',
  responses: '/v1/responses',
  responses_compact: '/v1/responses/compact',
  stored_response: '/v1/responses/{id}',
};

function normalisePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

const isAnthropicPath = (path: string) => /^(\/v1)*\/messages(\/|$)/.test(path);

/** The format errors are answered in: the endpoint's, and Anthropic's for model listings asked for with anthropic-version. */
export function formatFor(path: string, headers: HeaderMap): ApiFormat {
  const normalised = normalisePath(path);
  if (isAnthropicPath(normalised)) return 'anthropic';
  if ((normalised === '/v1/models' || normalised.startsWith('/v1/models/')) && header(headers, 'anthropic-version') !== undefined) return 'anthropic';
  return ENDPOINTS.get(normalised)?.format ?? (normalised.startsWith('/v1/responses') ? 'openai-responses' : 'openai');
}

/** A 404 for a path a client with a wrong base URL calls, saying what the base URL should be. */
function misdirected(path: string): RelayError | undefined {
  const doubled = path.match(/^\/v1(\/v1)+(\/.*)$/);
  const rest = doubled ? `/v1${doubled[2]}` : `/v1${path}`;
  if (!ENDPOINTS.has(rest) && !WITH_ID.some(([pattern]) => pattern.test(rest))) return undefined;
  const anthropic = isAnthropicPath(rest);
  const advice = doubled
    ? anthropic
      ? 'Your base URL ends in /v1 and the client adds /v1 again: the Anthropic SDK and Claude Code take the base URL without /v1 (https://HOST); the Vercel AI SDK\'s Anthropic provider takes it with /v1 (https://HOST/v1).'
      : 'Your base URL ends in /v1 twice: OpenAI-compatible clients take the base URL ending in a single /v1 (https://HOST/v1).'
    : anthropic
      ? 'Your base URL is missing /v1: the Vercel AI SDK\'s Anthropic provider takes https://HOST/v1 (the Anthropic SDK and Claude Code take https://HOST and add /v1 themselves).'
      : 'Your base URL is missing /v1: OpenAI-compatible clients take https://HOST/v1.';
  return new RelayError(404, 'not_found', `This relay serves ${rest}, not ${path}. ${advice}`);
}

/** Every method the relay serves somewhere; anything else is 405 on every path. */
const SERVED_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'DELETE']);

export function matchEndpoint(method: string, path: string): MatchedEndpoint {
  if (!SERVED_METHODS.has(method)) {
    throw new RelayError(405, 'method_not_allowed', `The relay does not serve ${method.slice(0, 16).replace(/[^A-Z-]/g, '')} requests; it serves GET, HEAD, POST and DELETE.`, { allow: 'GET, HEAD, POST, DELETE' });
  }
  const normalised = normalisePath(path);
  let endpoint: MatchedEndpoint | undefined = ENDPOINTS.get(normalised);
  if (!endpoint) {
    for (const [pattern, spec] of WITH_ID) {
      const match = normalised.match(pattern);
      if (match && !(spec.name === 'stored_response' && match[1] === 'compact')) {
        endpoint = { ...spec, id: match[1] };
        break;
      }
    }
  }
  if (!endpoint) {
    throw misdirected(normalised) ?? new RelayError(404, 'not_found', 'Unknown path. The relay serves /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages, /v1/messages/count_tokens and /v1/models.');
  }
  if (!endpoint.methods.includes(method)) {
    const allow = endpoint.methods.join(', ');
    throw new RelayError(405, 'method_not_allowed', `Use ${allow} for this path.`, { allow });
  }
  return endpoint;
}
