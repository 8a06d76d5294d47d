/**
 * Fault injection: a scriptable upstream that hangs, stalls, resets, rate-limits, fails, trickles
 * and truncates, plus failing key store, usage store and cipher. Each test checks what the client
 * got and that exactly one usage record exists for the request.
 */
import { buildRelay, failoverConfig, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => (h = await buildRelay({ host: 'http', echo: true, config: (url) => failoverConfig(url) })));
afterAll(() => h.close());
beforeEach(() => {
  h.upstream.reset();
  Object.assign(h.faults, { keyStoreDown: false, usageStoreDown: false, cipherDown: false });
});

async function send(model: string, options: { stream?: boolean; key?: string; path?: string } = {}) {
  const path = options.path ?? '/v1/chat/completions';
  const started = Date.now();
  const res = await fetch(h.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.key ?? h.key.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, stream: options.stream ?? false, messages: [{ role: 'user', content: 'SENTINEL' }] }),
  });
  const text = await res.text();
  return { status: res.status, text, retryAfter: res.headers.get('retry-after'), requestId: res.headers.get('x-request-id') as string, ms: Date.now() - started };
}

/** The one usage record of a request (fails if there is not exactly one). */
async function recordOf(requestId: string) {
  const records = (await h.usageByRequest()).get(requestId) ?? [];
  expect(records).toHaveLength(1);
  return records[0];
}

const lastEvent = (text: string) => text.trim().split('\n\n').pop() as string;

describe('before the first byte: fail over or answer cleanly', () => {
  test('hang before headers: one candidate → 504 in the caller\'s format', async () => {
    h.upstream.script('a', 'hang');
    const res = await send('solo');
    expect(res.status).toBe(504);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(await recordOf(res.requestId)).toMatchObject({ status: 504, outcome: 'timeout', provider: 'primary', usageSource: 'none' });
  });

  test('hang before headers: the next candidate answers', async () => {
    h.upstream.script('a', 'hang');
    const res = await send('ha', { stream: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('SENTINEL');
    expect(h.upstream.hits).toEqual({ a: 1, b: 1 });
    expect(await recordOf(res.requestId)).toMatchObject({ status: 200, outcome: 'ok', provider: 'backup', usageSource: 'provider' });
  });

  test('connect error (nothing listening): the next candidate answers', async () => {
    const res = await send('dead-first');
    expect(res.status).toBe(200);
    expect(await recordOf(res.requestId)).toMatchObject({ status: 200, provider: 'backup' });
  });

  test('429 then 200 on the same provider: waits for Retry-After (capped), then succeeds', async () => {
    h.upstream.script('a', { status: 429, retryAfter: '1' });
    const res = await send('twice');
    expect(res.status).toBe(200);
    expect(res.ms).toBeGreaterThanOrEqual(950);
    expect(h.upstream.hits.a).toBe(2);
    expect(await recordOf(res.requestId)).toMatchObject({ status: 200, outcome: 'ok' });
  });

  test('a Retry-After beyond the cap is cut to the cap', async () => {
    h.upstream.script('a', { status: 429, retryAfter: '3600' });
    const res = await send('twice');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(3000);
  });

  test('503 then 200: fails over to the next candidate at once', async () => {
    h.upstream.script('a', { status: 503, retryAfter: '30' });
    const res = await send('ha');
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1000);
    expect(await recordOf(res.requestId)).toMatchObject({ provider: 'backup', status: 200 });
  });

  test('every candidate failing: the last error is answered, with Retry-After for 429', async () => {
    h.upstream.script('a', { status: 500 });
    h.upstream.script('b', { status: 429, retryAfter: '7' });
    const res = await send('ha');
    expect(res.status).toBe(429);
    expect(res.retryAfter).toBe('7');
    expect(await recordOf(res.requestId)).toMatchObject({ status: 429, outcome: 'upstream_error', provider: 'backup' });
  });

  test('a 400 from upstream is not retried on another candidate', async () => {
    h.upstream.script('a', { status: 400 });
    const res = await send('ha');
    expect(res.status).toBe(400);
    expect(h.upstream.hits).toEqual({ a: 1, b: 0 });
  });
});

describe('after the first byte: never retried; the stream ends with a well-formed error event', () => {
  test('stall mid-stream: timeout error event, no failover, a timeout record with the tokens seen', async () => {
    h.upstream.script('a', 'stall');
    const res = await send('ha', { stream: true });
    expect(res.status).toBe(200);
    expect(JSON.parse(lastEvent(res.text).replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(h.upstream.hits).toEqual({ a: 1, b: 0 });
    const record = await recordOf(res.requestId);
    expect(record).toMatchObject({ outcome: 'timeout', completed: false, usageSource: 'estimated', streamed: true });
    expect(record.outputTokens).toBeGreaterThan(0);
  });

  test('reset mid-stream: upstream error event and an upstream_error record', async () => {
    h.upstream.script('a', 'reset');
    const res = await send('solo', { stream: true });
    expect(JSON.parse(lastEvent(res.text).replace(/^data: /, ''))).toMatchObject({ error: { code: 'upstream_error' } });
    expect(await recordOf(res.requestId)).toMatchObject({ outcome: 'upstream_error', completed: false });
  });

  test('in-band error event after a 200 (OpenAI and Anthropic): the client is told, recorded as an upstream error', async () => {
    h.upstream.script('a', 'in-band-error', 'in-band-error');
    const openai = await send('solo', { stream: true });
    expect(lastEvent(openai.text)).toMatch(/^data: \{"error":/);
    expect(await recordOf(openai.requestId)).toMatchObject({ outcome: 'upstream_error', errorCode: 'upstream_error' });
    const anthropic = await send('claude', { stream: true, path: '/v1/messages' });
    expect(lastEvent(anthropic.text)).toMatch(/^event: error\ndata: \{"type":"error"/);
    expect(await recordOf(anthropic.requestId)).toMatchObject({ outcome: 'upstream_error' });
  });

  test('truncated stream (ends without its final event): error event and an upstream_error record', async () => {
    h.upstream.script('a', 'truncated');
    const res = await send('solo', { stream: true });
    expect(lastEvent(res.text)).toContain('upstream_bad_response');
    expect(await recordOf(res.requestId)).toMatchObject({ outcome: 'upstream_error', errorCode: 'upstream_bad_response' });
  });

  test('slow trickle within the idle timeout completes normally', async () => {
    h.upstream.script('a', 'trickle');
    const res = await send('solo', { stream: true });
    expect(res.text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(res.ms).toBeGreaterThan(400);
    expect(await recordOf(res.requestId)).toMatchObject({ outcome: 'ok', usageSource: 'provider', completed: true });
  });
});

describe('store and key faults', () => {
  test('key store down: fail closed with 503 and Retry-After, nothing sent upstream', async () => {
    h.faults.keyStoreDown = true;
    const res = await send('solo');
    expect(res.status).toBe(503);
    expect(res.retryAfter).toBe('1');
    expect(h.upstream.hits).toEqual({ a: 0, b: 0 });
  });

  test('cipher (KMS) down: a still-cached secret is used; with none cached, 503', async () => {
    expect((await send('solo')).status).toBe(200);
    h.faults.cipherDown = true;
    await new Promise((r) => setTimeout(r, 250)); // past the 200 ms secret TTL: the stale copy serves
    expect((await send('solo')).status).toBe(200);
    const uncached = await send('claude-spare', { path: '/v1/messages' });
    expect(uncached.status).toBe(503);
    expect(JSON.parse(uncached.text)).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(await recordOf(uncached.requestId)).toMatchObject({ errorCode: 'provider_credential_unavailable' });
  });

  test('usage store down: retried, then the content-free record is logged for replay, nothing lost', async () => {
    h.faults.usageStoreDown = true;
    const res = await send('solo');
    expect(res.status).toBe(200);
    await h.idle();
    const logged = h.logs.map((l) => JSON.parse(l)).filter((l) => l.requestId === res.requestId && l.event === 'usage_write_failed');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ keyId: h.key.id, status: 200, outcome: 'ok', inputTokens: 11, outputTokens: 7, expiresAt: expect.any(Number) });
    expect(h.logs.filter((l) => l.includes(res.requestId) && l.includes('usage_write_retried'))).toHaveLength(2);
    h.faults.usageStoreDown = false;
    expect((await h.usageByRequest()).get(res.requestId)).toBeUndefined();
  });
});
