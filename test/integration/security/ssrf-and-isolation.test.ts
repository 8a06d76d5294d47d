/**
 * SSRF: the upstream URL comes only from operator config, on every route; client fields and headers
 * that look like a base URL or a custom host change nothing; redirects are not followed. Tested
 * through the real request path with a "rogue" server that must never be called.
 * Tenant isolation: one key never sees or affects another key's usage, limits or models.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
let rogue: Server;
let rogueUrl: string;
let rogueHits = 0;

beforeAll(async () => {
  h = await buildRelay({ host: 'http', store: 'dynalite', settings: { keyCacheTtlMs: 0 } });
  rogue = createServer((_req, res) => {
    rogueHits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"stolen":true}');
  });
  await new Promise<void>((r) => rogue.listen(0, '127.0.0.1', () => r()));
  rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => rogue.close(r));
});
beforeEach(() => h.upstream.reset());

async function call(path: string, body: Record<string, unknown>, headers: Record<string, string> = {}, key = h.key.secret) {
  const res = await fetch(h.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

describe('SSRF', () => {
  const baseUrlFields = {
    api_base: rogueUrl, base_url: rogueUrl, baseURL: rogueUrl, api_url: rogueUrl, endpoint: rogueUrl, url: rogueUrl, host: '127.0.0.1', custom_llm_provider: 'openai',
    extra_body: { api_base: rogueUrl }, metadata: { base_url: rogueUrl },
  };
  const hostHeaders = () => ({
    host: new URL(rogueUrl).host, 'x-forwarded-host': new URL(rogueUrl).host, 'x-upstream-url': rogueUrl, 'x-api-base': rogueUrl, 'x-base-url': rogueUrl, 'x-original-url': rogueUrl, forwarded: `host=${new URL(rogueUrl).host}`,
  });

  test.each([
    ['/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }],
    ['/v1/chat/completions', { model: 'fast', messages: [], stream: true }],
    ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }],
    ['/v1/messages', { model: 'claude-sonnet-5-5', max_tokens: 5, messages: [] }],
    ['/v1/messages', { model: 'claude-sonnet-5-5', max_tokens: 5, messages: [], stream: true }],
  ])('%s: base-URL fields and host headers from the client change nothing', async (path, body) => {
    const res = await call(path, { ...body, ...baseUrlFields }, hostHeaders());
    expect(res.status).toBe(200);
    expect(h.upstream.received).toHaveLength(1);
    expect(h.upstream.received[0].path).toMatch(/^\/v1\/(chat\/completions|embeddings|messages)$/);
    expect(rogueHits).toBe(0);
  });

  test('a model name that looks like a URL is just an unknown model', async () => {
    for (const model of [rogueUrl, `${rogueUrl}/v1`, 'http://169.254.169.254/latest/meta-data', '../../etc/passwd', 'openai/../../x']) {
      const res = await call('/v1/chat/completions', { model, messages: [] });
      expect(res.status).toBe(404);
    }
    expect(h.upstream.received).toHaveLength(0);
    expect(rogueHits).toBe(0);
  });

  test('path tricks do not reach another route or host', async () => {
    for (const path of [`//${new URL(rogueUrl).host}/v1/chat/completions`, '/v1/chat/completions/../../admin', '/v1/%2e%2e/chat/completions', `/${rogueUrl}`]) {
      const res = await fetch(h.url + path, { method: 'POST', headers: { authorization: `Bearer ${h.key.secret}` }, body: '{}' });
      expect(res.status).toBeLessThan(500);
      expect([404, 405, 400]).toContain(res.status);
    }
    expect(rogueHits).toBe(0);
    expect(h.upstream.received).toHaveLength(0);
  });

  test('an upstream redirect to another host (or to instance metadata) is not followed', async () => {
    for (const location of [`${rogueUrl}/v1/chat/completions`, 'http://169.254.169.254/latest/meta-data/']) {
      h.upstream.respondWith((_req, res) => void res.writeHead(302, { location }).end());
      const res = await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] });
      expect(res.status).toBe(502);
    }
    expect(rogueHits).toBe(0);
  });
});

describe('tenant isolation', () => {
  test('a key sees only its own models and cannot use another key\'s', async () => {
    const a = await h.createKey({ name: 'tenant-a', models: ['fast'] });
    const b = await h.createKey({ name: 'tenant-b', models: ['gpt-4o-mini'] });
    const list = async (secret: string) => ((await (await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(await list(a.secret)).toEqual(['fast']);
    expect(await list(b.secret)).toEqual(['gpt-4o-mini']);
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, a.secret)).status).toBe(403);
  });

  test('usage is attributed to the calling key only, whatever ids the client claims', async () => {
    const a = await h.createKey({ name: 'usage-a' });
    const b = await h.createKey({ name: 'usage-b' });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.secret}`, 'content-type': 'application/json', 'x-mixroute-key-id': b.id, 'x-key-id': b.id, 'openai-organization': b.id },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [], user: b.id, metadata: { keyId: b.id } }),
    });
    await res.arrayBuffer();
    const items = await h.usageItems();
    expect(items.filter((i) => i.keyId === b.id)).toHaveLength(0);
    expect(items.find((i) => i.requestId === res.headers.get('x-request-id'))?.keyId).toBe(a.id);
  });

  test('no client endpoint exposes usage: clients cannot read anyone\'s usage records', async () => {
    for (const path of ['/v1/usage', '/v1/keys', '/usage', '/v1/dashboard/billing/usage']) {
      const res = await fetch(h.url + path, { headers: { authorization: `Bearer ${h.key.secret}` } });
      expect(res.status).toBe(404);
    }
  });

  test('one key exhausting its limits leaves another key untouched', async () => {
    const a = await h.createKey({ name: 'limit-a', limits: { requestsPerMinute: 1 } });
    const b = await h.createKey({ name: 'limit-b', limits: { requestsPerMinute: 1 } });
    if (Date.now() % 60_000 > 57_000) await new Promise((r) => setTimeout(r, 3_100));
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, a.secret)).status).toBe(200);
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, a.secret)).status).toBe(429);
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, b.secret)).status).toBe(200);
  });

  test('revoking one key does not affect another', async () => {
    const a = await h.createKey({ name: 'rev-a' });
    const b = await h.createKey({ name: 'rev-b' });
    await h.stores.keys.updateKey(a.id, { status: 'revoked' });
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, a.secret)).status).toBe(401);
    expect((await call('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, {}, b.secret)).status).toBe(200);
  });
});
