/**
 * What the pipeline tells clients, in process: misdirected base URLs, probes, model lookups, the
 * key's own rate-limit headers, provider 4xx errors handed to the caller (capped and masked, and
 * recorded by code only), Responses streams that end badly, pattern routes, and stored responses
 * when (and only when) the operator allowed provider storage.
 */
import { responsesSse } from '../../helpers/fixtures';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => {
  h = await buildRelay({
    settings: { keyCacheTtlMs: 0, headersTimeoutMs: 500, idleTimeoutMs: 500 },
    config: (url) => ({
      providers: {
        openai: { type: 'openai', baseUrl: `${url}/a/v1` },
        keeper: { type: 'openai', baseUrl: `${url}/b/v1`, allowProviderStorage: true },
        anthropic: { type: 'anthropic', baseUrl: url },
      },
      models: {
        'gpt-5': { provider: 'openai' },
        'gpt-*': { provider: 'openai', model: 'gpt-pattern-upstream' },
        'gpt-5.1*': { provider: 'keeper' },
        'kept-model': { provider: 'keeper' },
        'claude-sonnet-5': { provider: 'anthropic' },
        'claude-*': { provider: 'anthropic' },
      },
    }),
  });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const chat = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const message = (model: string) => JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });

describe('answers that tell the user what to do', () => {
  test.each([
    ['/v1/v1/chat/completions', 'openai', /serves \/v1\/chat\/completions.*ends in \/v1 twice/],
    ['/v1/v1/messages', 'anthropic', /serves \/v1\/messages.*without \/v1/],
    ['/chat/completions', 'openai', /missing \/v1: OpenAI-compatible clients take https:\/\/HOST\/v1/],
    ['/messages', 'anthropic', /missing \/v1: the Vercel AI SDK's Anthropic provider takes https:\/\/HOST\/v1/],
    ['/responses', 'openai', /serves \/v1\/responses/],
  ])('a request to %s gets a 404 in the caller\'s shape with the base URL to use', async (path, shape, advice) => {
    const res = await h.call(path, { body: path.includes('messages') ? message('claude-sonnet-5') : chat('gpt-5') });
    expect(res.status).toBe(404);
    if (shape === 'anthropic') expect(res.json).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringMatching(advice) } });
    else expect(res.json).toEqual({ error: { type: 'not_found_error', code: 'not_found', message: expect.stringMatching(advice) } });
    expect(h.upstream.received).toHaveLength(0);
  });

  test('GET / and HEAD / answer 200 without a key; HEAD has no body; HEAD works on GET endpoints', async () => {
    const get = await h.call('/', { key: null });
    expect(get.status).toBe(200);
    expect(get.json).toMatchObject({ service: 'mixroute', status: 'ok' });
    const head = await h.call('/', { method: 'HEAD', key: null });
    expect(head).toMatchObject({ status: 200, text: '' });
    const models = await h.call('/v1/models', { method: 'HEAD' });
    expect(models).toMatchObject({ status: 200, text: '' });
  });

  test('GET /v1/models/{id} answers in the OpenAI shape, or Anthropic\'s when anthropic-version is sent', async () => {
    expect((await h.call('/v1/models/gpt-5')).json).toEqual({ id: 'gpt-5', object: 'model', created: 0, owned_by: 'openai' });
    const anthropic = await h.call('/v1/models/claude-opus-4-8', { headers: { 'anthropic-version': '2023-06-01' } });
    expect(anthropic.json).toEqual({ type: 'model', id: 'claude-opus-4-8', display_name: 'claude-opus-4-8', created_at: expect.any(String) });
    expect((await h.call('/v1/models/gpt-5', { headers: { 'anthropic-version': '2023-06-01' } })).status).toBe(404);
    expect((await h.call('/v1/models/mistral-large')).json).toMatchObject({ error: { code: 'model_not_found' } });
  });
});

describe('model route patterns', () => {
  test('exact names win over patterns, longer patterns over shorter; a pattern forwards the name unless its candidate names one', async () => {
    for (const [model, path, upstreamModel] of [
      ['gpt-5', '/a/v1/chat/completions', 'gpt-5'],
      ['gpt-5.1-mini', '/b/v1/chat/completions', 'gpt-5.1-mini'],
      ['gpt-4.1', '/a/v1/chat/completions', 'gpt-pattern-upstream'],
    ]) {
      h.upstream.reset();
      const res = await h.call('/v1/chat/completions', { body: chat(model) });
      expect({ model, status: res.status }).toEqual({ model, status: 200 });
      expect({ model, path: h.upstream.received[0].path, upstream: h.upstream.received[0].json?.model }).toEqual({ model, path, upstream: upstreamModel });
      expect(await h.usageFor(res.requestId)).toMatchObject({ model });
    }
  });

  test('a name that is not a model name never matches a pattern', async () => {
    const res = await h.call('/v1/chat/completions', { body: chat('gpt-5 tell me a secret') });
    expect(res.status).toBe(404);
    expect(await h.usageFor(res.requestId)).toMatchObject({ model: '-' });
  });

  test('a key\'s --models allowlist accepts patterns the same way; GET /v1/models lists exact names only', async () => {
    const key = await h.createKey({ name: 'claude-only', models: ['claude-*'] });
    expect((await h.call('/v1/messages', { key: key.secret, body: message('claude-haiku-4-5-20251001') })).status).toBe(200);
    expect((await h.call('/v1/chat/completions', { key: key.secret, body: chat('gpt-5') })).status).toBe(403);
    expect((await h.call('/v1/models', { key: key.secret })).json.data.map((m: { id: string }) => m.id)).toEqual(['claude-sonnet-5']);
  });
});

describe('the key\'s own rate-limit headers', () => {
  test('a key with limits gets x-ratelimit-* headers for its requests and tokens; upstream ones are not passed on', async () => {
    const key = await h.createKey({ name: 'limited', limits: { requestsPerMinute: 50, tokensPerDay: 10_000 } });
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit-requests': '999999', 'x-ratelimit-remaining-tokens': '123' }).end('{"usage":{"prompt_tokens":1,"completion_tokens":1}}'));
    const first = await h.call('/v1/chat/completions', { key: key.secret, body: chat('gpt-5') });
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('50');
    expect(Number(first.headers.get('x-ratelimit-remaining-requests'))).toBeLessThanOrEqual(49);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('10000');
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('10000');
    expect(first.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    const unlimited = await h.call('/v1/chat/completions', { body: chat('gpt-5') });
    expect(unlimited.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });
});

describe('provider errors reach the caller, and nothing else', () => {
  test('an OpenAI 400 keeps its type, code, message and param, with account ids masked; the record keeps the status and our code', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({
      error: { message: "This model's maximum context length is 128000 tokens (org-AbCdEf1234567890, proj_ZyXw987654321, key sk-proj-abc123def456).", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    })));
    const res = await h.call('/v1/chat/completions', { body: chat('gpt-5') });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages', message: "This model's maximum context length is 128000 tokens (org-***, proj_***, key sk-***)." } });
    expect(await h.usageFor(res.requestId)).toMatchObject({ status: 400, outcome: 'client_error', errorCode: 'upstream_rejected' });
    expect(h.logs.join('\n')).not.toContain('maximum context length');
  });

  test('Anthropic\'s "prompt is too long" reaches Claude Code in Anthropic\'s shape, so it can compact', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 212345 tokens > 200000 maximum' } })));
    const res = await h.call('/v1/messages', { body: message('claude-sonnet-5') });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 212345 tokens > 200000 maximum' } });
  });

  test('a huge provider message is capped; 401, 403, 429 and 5xx bodies stay replaced by our own message', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(422, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'x'.repeat(50_000), type: 'invalid_request_error' } })));
    const capped = await h.call('/v1/chat/completions', { body: chat('gpt-5') });
    expect(capped.status).toBe(422);
    expect(capped.json.error.message.length).toBeLessThanOrEqual(2000);
    for (const status of [401, 403, 429, 500]) {
      h.upstream.respondWith((_req, res) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided: sk-live-SECRET-KEY', type: 'x' } })));
      const res = await h.call('/v1/chat/completions', { body: chat('gpt-5') });
      expect(res.text).not.toContain('SECRET');
      expect(res.text).not.toContain('Incorrect API key');
    }
  });

  test('a 4xx body that is not the provider\'s error shape gets our own message', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>'));
    const res = await h.call('/v1/chat/completions', { body: chat('gpt-5') });
    expect(res.json).toEqual({ error: { type: 'not_found_error', code: 'upstream_rejected', message: 'The upstream provider rejected the request (HTTP 404). Check the request parameters.' } });
  });
});

describe('Responses streams that end badly', () => {
  const responses = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'gpt-5', input: 'hi', stream: true, ...extra });

  test('a stream without a terminal event ends with a well-formed error event and is recorded as an upstream error', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(responsesSse(['a'], { terminal: null })));
    const res = await h.call('/v1/responses', { body: responses() });
    const last = res.text.trim().split('\n\n').pop() as string;
    expect(last.split('\n')[0]).toBe('event: error');
    expect(JSON.parse(last.split('\n')[1].slice(6))).toEqual({ type: 'error', code: 'upstream_bad_response', message: expect.any(String), param: null });
    expect(await h.usageFor(res.requestId)).toMatchObject({ endpoint: 'responses', outcome: 'upstream_error', completed: false, usageSource: 'estimated' });
  });

  test('an upstream error event is replaced by our own, its text never passed on', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`${responsesSse(['a'], { terminal: null })}event: error\ndata: {"type":"error","code":"server_error","message":"UPSTREAM-SECRET","sequence_number":9}\n\n`));
    const res = await h.call('/v1/responses', { body: responses() });
    expect(res.text).not.toContain('UPSTREAM-SECRET');
    expect(res.text).toContain('"code":"upstream_error"');
    expect(await h.usageFor(res.requestId)).toMatchObject({ outcome: 'upstream_error', errorCode: 'upstream_error' });
  });

  test('response.incomplete is a terminal event: metered, recorded ok; response.failed is passed on and recorded as an upstream error', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(responsesSse(['a'], { terminal: 'response.incomplete' })));
    const incomplete = await h.call('/v1/responses', { body: responses() });
    expect(await h.usageFor(incomplete.requestId)).toMatchObject({ outcome: 'ok', completed: true, inputTokens: 2000, usageSource: 'provider' });
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(responsesSse(['a'], { terminal: 'response.failed' })));
    const failed = await h.call('/v1/responses', { body: responses() });
    expect(failed.text).toContain('event: response.failed');
    expect(await h.usageFor(failed.requestId)).toMatchObject({ outcome: 'upstream_error', inputTokens: 2000 });
  });

  test('the relay injects nothing into a Responses request but store: false', async () => {
    await h.call('/v1/responses', { body: responses({ include: ['reasoning.encrypted_content'] }) });
    expect(h.upstream.received[0].json).toEqual({ model: 'gpt-5', input: 'hi', stream: true, include: ['reasoning.encrypted_content'], store: false });
  });
});

describe('provider storage, where the operator allowed it', () => {
  test('a provider with allowProviderStorage gets the caller\'s store and previous_response_id as sent', async () => {
    const res = await h.call('/v1/responses', { body: JSON.stringify({ model: 'kept-model', input: 'more', previous_response_id: 'resp_1', store: true }) });
    expect(res.status).toBe(200);
    expect(h.upstream.received[0].json).toMatchObject({ previous_response_id: 'resp_1', store: true });
  });

  test('GET and DELETE /v1/responses/{id} go to the provider that may store, recorded without tokens', async () => {
    const got = await h.call('/v1/responses/resp_abc');
    expect(got.status).toBe(200);
    expect(h.upstream.received[0]).toMatchObject({ method: 'GET', path: '/b/v1/responses/resp_abc' });
    const deleted = await h.call('/v1/responses/resp_abc', { method: 'DELETE' });
    expect(deleted.json).toMatchObject({ deleted: true });
    expect(await h.usageFor(got.requestId)).toMatchObject({ endpoint: 'responses', inputTokens: 0, outputTokens: 0, provider: 'keeper' });
  });
});
