/**
 * Per-key limits through the pipeline (in process, in-memory counters): requests per minute (atomic counters shared by all
 * instances) and token quotas per day. Over a limit: 429 in the caller's format with Retry-After,
 * and nothing is sent upstream. Other keys are unaffected.
 */
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => (h = await buildRelay({ settings: { keyCacheTtlMs: 0 } })));
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

async function chat(secret: string, path = '/v1/chat/completions') {
  const anthropic = path === '/v1/messages';
  const res = await h.call(path, {
    key: secret,
    body: JSON.stringify({ model: anthropic ? 'claude-sonnet-5-5' : 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: res.json };
}

/** Keeps a per-minute test inside one minute window. */
async function awayFromMinuteEdge(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
}

test('a key at twice its per-minute limit gets 429 for the excess; another key is unaffected', async () => {
  const limited = await h.createKey({ name: 'rpm', limits: { requestsPerMinute: 5 } });
  const other = await h.createKey({ name: 'free' });
  await awayFromMinuteEdge();
  const results = await Promise.all(Array.from({ length: 10 }, () => chat(limited.secret)));
  const statuses = results.map((r) => r.status).sort();
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
  const refused = results.find((r) => r.status === 429)!;
  expect(refused.body).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
  expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
  expect(h.upstream.received).toHaveLength(5);
  const others = await Promise.all(Array.from({ length: 10 }, () => chat(other.secret)));
  expect(others.every((r) => r.status === 200)).toBe(true);
});

test('a daily token quota stops a key once its tokens are used up, in the caller\'s format, without an upstream call', async () => {
  // Each mock answer costs 11 + 7 = 18 tokens (OpenAI) or 13 + 9 = 22 (Anthropic).
  const limited = await h.createKey({ name: 'quota', limits: { tokensPerDay: 30 } });
  expect((await chat(limited.secret)).status).toBe(200);
  await h.idle();
  expect((await chat(limited.secret)).status).toBe(200);
  await h.idle();
  const upstreamCalls = h.upstream.received.length;
  const refused = await chat(limited.secret, '/v1/messages');
  expect(refused.status).toBe(429);
  expect(refused.body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('daily token quota') } });
  const secondsToMidnight = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000;
  expect(Math.abs(Number(refused.retryAfter) - secondsToMidnight)).toBeLessThan(5);
  expect(h.upstream.received).toHaveLength(upstreamCalls);
  const record = (await h.usageItems()).find((i) => i.keyId === limited.id && i.status === 429);
  expect(record).toMatchObject({ errorCode: 'quota_exceeded', outcome: 'client_error', usageSource: 'none' });
});

test('a monthly token quota is enforced the same way', async () => {
  const limited = await h.createKey({ name: 'monthly', limits: { tokensPerMonth: 10 } });
  expect((await chat(limited.secret)).status).toBe(200);
  await h.idle();
  const refused = await chat(limited.secret);
  expect(refused).toMatchObject({ status: 429, body: { error: { code: 'quota_exceeded' } } });
});

test('limits of one key never count another key\'s tokens', async () => {
  const a = await h.createKey({ name: 'a', limits: { tokensPerDay: 20 } });
  const b = await h.createKey({ name: 'b', limits: { tokensPerDay: 20 } });
  expect((await chat(a.secret)).status).toBe(200);
  await h.idle();
  expect((await chat(a.secret)).status).toBe(200);
  await h.idle();
  expect((await chat(a.secret)).status).toBe(429);
  expect((await chat(b.secret)).status).toBe(200);
});
