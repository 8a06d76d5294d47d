/**
 * The request pipeline, in process on in-memory ports (the upstream is the fake on 127.0.0.1): bad
 * input is answered in the caller's format with no upstream call and no 500, upstream failures map
 * to our own errors, and every request that passed authentication leaves exactly one usage record,
 * whatever path it took.
 */
import { buildRelay, testConfig, type CallInit, type TestRelay } from '../../helpers/relay-builder';
import { openAiChatSse } from '../../helpers/fixtures';

let h: TestRelay;

beforeAll(async () => {
  h = await buildRelay({ settings: { maxBodyBytes: 4096, headersTimeoutMs: 400, idleTimeoutMs: 400 } });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const call = (path: string, init: CallInit = {}) => h.call(path, init);

const chat = (body: unknown) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...(body as object) });

test('GET /healthz answers without a key and reveals nothing', async () => {
  const res = await call('/healthz', { method: 'GET', key: null });
  expect(res.status).toBe(200);
  expect(res.json).toEqual({ status: 'ok' });
  expect(await h.usageItems()).toHaveLength(0);
});

describe('bad input: API-format errors, no upstream call, no 500', () => {
  const cases: [string, () => Promise<Awaited<ReturnType<typeof call>>>, number, string][] = [
    ['invalid JSON', () => call('/v1/chat/completions', { body: '{"model":' }), 400, 'invalid_json'],
    ['invalid UTF-8', () => call('/v1/chat/completions', { body: new Uint8Array([0x7b, 0xff, 0x7d]) }), 400, 'invalid_json'],
    ['a JSON array body', () => call('/v1/chat/completions', { body: '[1,2]' }), 400, 'invalid_request'],
    ['a body over the limit (declared)', () => call('/v1/chat/completions', { body: chat({ pad: 'x'.repeat(5000) }) }), 413, 'request_too_large'],
    ['a missing model', () => call('/v1/chat/completions', { body: '{"messages":[]}' }), 400, 'model_required'],
    ['an unknown model', () => call('/v1/chat/completions', { body: chat({ model: 'gpt-99' }) }), 404, 'model_not_found'],
    ['a model served by the other API', () => call('/v1/chat/completions', { body: chat({ model: 'claude-sonnet-5-5' }) }), 400, 'wrong_endpoint_for_model'],
    ['embeddings for a chat-only provider', () => call('/v1/embeddings', { body: chat({ model: 'claude-sonnet-5-5' }) }), 400, 'wrong_endpoint_for_model'],
    ['a wrong method', () => call('/v1/chat/completions', { method: 'GET' }), 405, 'method_not_allowed'],
    ['an unknown path', () => call('/v1/completions', { body: chat({}) }), 404, 'not_found'],
    ['no key', () => call('/v1/chat/completions', { body: chat({}), key: null }), 401, 'invalid_api_key'],
    ['a wrong key', () => call('/v1/chat/completions', { body: chat({}), key: 'mr-' + 'A'.repeat(43) }), 401, 'invalid_api_key'],
  ];
  test.each(cases)('rejects %s', async (_name, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    // Final answers: tell the SDKs not to retry them.
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.json).toEqual({ error: { message: expect.any(String), type: expect.any(String), code } });
    expect(h.upstream.received).toHaveLength(0);
  });


  test('answers the Anthropic route in the Anthropic error format', async () => {
    const res = await call('/v1/messages', { body: '{bad' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
    const wrongMethod = await call('/v1/messages', { method: 'GET' });
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  test('records client errors after authentication, without the unknown model name', async () => {
    const res = await call('/v1/chat/completions', { body: chat({ model: 'not-served-model' }) });
    expect(await h.usageFor(res.requestId)).toMatchObject({ status: 404, outcome: 'client_error', errorCode: 'model_not_found', model: '-', usageSource: 'none', inputTokens: 0 });
  });

  test('writes no usage record for a request that failed authentication', async () => {
    const res = await call('/v1/chat/completions', { body: chat({}), key: null });
    expect(await h.usageFor(res.requestId)).toBeUndefined();
  });
});

describe('upstream failures map to the relay\'s own errors', () => {
  test('an upstream 500 becomes 502 without the upstream body', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"UPSTREAM-PRIVATE"}}'));
    const res = await call('/v1/chat/completions', { body: chat({}) });
    expect(res.status).toBe(502);
    expect(res.text).not.toContain('UPSTREAM-PRIVATE');
    expect(await h.usageFor(res.requestId)).toMatchObject({ status: 502, outcome: 'upstream_error', errorCode: 'upstream_error', model: 'gpt-4o-mini', usageSource: 'none' });
  });

  test('an upstream 429 stays 429 with its numeric Retry-After', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(429, { 'retry-after': '7' }).end('slow down'));
    const res = await call('/v1/chat/completions', { body: chat({}) });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
  });

  test('an upstream 401 is the operator\'s credential problem: 502, not a client 401', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(401).end());
    const res = await call('/v1/chat/completions', { body: chat({}) });
    expect(res).toMatchObject({ status: 502, json: { error: { code: 'upstream_auth_failed' } } });
  });

  test('an upstream redirect is not followed', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(307, { location: 'http://169.254.169.254/' }).end());
    const res = await call('/v1/chat/completions', { body: chat({}) });
    expect(res).toMatchObject({ status: 502, json: { error: { code: 'upstream_bad_response' } } });
    expect(h.upstream.received).toHaveLength(1);
  });

  test('an upstream that never answers gets 504 and a timeout record', async () => {
    h.upstream.respondWith(() => undefined);
    const res = await call('/v1/chat/completions', { body: chat({}) });
    expect(res).toMatchObject({ status: 504, json: { error: { code: 'upstream_timeout' } } });
    expect(await h.usageFor(res.requestId)).toMatchObject({ status: 504, outcome: 'timeout' });
  });

  test('a stream that stalls mid-way ends with a well-formed error event and a timeout record', async () => {
    h.upstream.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(openAiChatSse(['a', 'b'], true).split('\n\n').slice(0, 2).join('\n\n') + '\n\n');
    });
    const res = await call('/v1/chat/completions', { body: chat({ stream: true }) });
    expect(res.status).toBe(200);
    const last = res.text.trim().split('\n\n').pop() as string;
    expect(JSON.parse(last.replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(await h.usageFor(res.requestId)).toMatchObject({ outcome: 'timeout', completed: false, usageSource: 'estimated', streamed: true });
  });

  test('a stream that ends without its final event is reported to the client and recorded as an upstream error', async () => {
    h.upstream.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(openAiChatSse(['a', 'b'], true).replace('data: [DONE]\n\n', '').split('data: {"id"').slice(0, 3).join('data: {"id"'));
    });
    const res = await call('/v1/chat/completions', { body: chat({ stream: true }) });
    expect(res.text).toContain('upstream_bad_response');
    const record = await h.usageFor(res.requestId);
    expect(record).toMatchObject({ outcome: 'upstream_error', completed: false, usageSource: 'estimated' });
    expect(record?.outputTokens).toBeGreaterThan(0);
  });

  test('an unreachable upstream gets 502', async () => {
    const closed = await buildRelay({ upstream: h.upstream, config: () => testConfig('http://127.0.0.1:9') });
    try {
      const res = await closed.call('/v1/chat/completions', { body: chat({}) });
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ error: { code: 'upstream_unavailable' } });
    } finally {
      await closed.close();
    }
  });
});

test('a provider with no stored credential answers 503 saying what the operator must do', async () => {
  const bare = await buildRelay({ upstream: h.upstream, withoutProviderKeys: true });
  try {
    const res = await bare.call('/v1/chat/completions', { body: chat({}) });
    expect(res.status).toBe(503);
    const body = res.json as { error: { message: string } };
    expect(body).toMatchObject({ error: { code: 'provider_credential_missing' } });
    expect(body.error.message).toContain('mixroute providers set-key openai');
    expect(h.upstream.received).toHaveLength(0);
  } finally {
    await bare.close();
  }
});

test('a provider credential that cannot be decrypted answers 503 and sends nothing upstream', async () => {
  const bare = await buildRelay({ upstream: h.upstream, withoutProviderKeys: true });
  try {
    await bare.stores.secrets.putProviderSecret('openai', { ciphertext: new Uint8Array([1, 2, 3]), fingerprint: 'x', updatedAt: 'y' });
    const res = await bare.call('/v1/chat/completions', { body: chat({}) });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: { code: 'provider_credential_unavailable' } });
    expect(h.upstream.received).toHaveLength(0);
  } finally {
    await bare.close();
  }
});


test('every request after authentication leaves exactly one usage record', async () => {
  const before = (await h.usageItems()).length;
  const results = await Promise.all([
    call('/v1/chat/completions', { body: chat({}) }),
    call('/v1/chat/completions', { body: chat({ stream: true }) }),
    call('/v1/messages', { body: JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 5, messages: [], stream: true }) }),
    call('/v1/models', { method: 'GET' }),
    call('/v1/chat/completions', { body: '{' }),
  ]);
  const items = await h.usageItems();
  expect(items.length - before).toBe(results.length);
  for (const res of results) expect(items.filter((i) => i.requestId === res.requestId)).toHaveLength(1);
});

test('reuses upstream connections (keep-alive) across requests', async () => {
  for (let i = 0; i < 3; i++) expect((await call('/v1/chat/completions', { body: chat({}) })).status).toBe(200);
  const before = h.upstream.connections();
  for (let i = 0; i < 5; i++) expect((await call('/v1/chat/completions', { body: chat({}) })).status).toBe(200);
  expect(h.upstream.connections()).toBe(before);
});

