/**
 * Hundreds of concurrent streamed requests on 127.0.0.1 from two keys, a random share aborted by
 * the client, each carrying its own sentinel: every client receives only its own content, and
 * usage records equal requests (one each, aborted ones included).
 */
import { randomUUID } from 'node:crypto';
import { buildRelay, failoverConfig, type TestRelay } from '../../helpers/relay-builder';

const REQUESTS = 300;
let h: TestRelay;
// Generous timeouts: this test is about isolation and accounting, not deadlines.
beforeAll(async () => (h = await buildRelay({ host: 'http', echo: true, config: (url) => failoverConfig(url, { headersTimeoutMs: 20_000, streamFirstByteTimeoutMs: 20_000, idleTimeoutMs: 20_000, totalTimeoutMs: 60_000 }) })));
afterAll(() => h.close());

interface Outcome {
  sentinel: string;
  keyId: string;
  requestId: string;
  aborted: boolean;
  text: string;
}

async function one(index: number): Promise<Outcome> {
  const useA = index % 2 === 0;
  const sentinel = `SENT${randomUUID().replace(/-/g, '')}`;
  const abort = Math.random() < 0.3;
  const controller = new AbortController();
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${useA ? h.key.secret : h.otherKey.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'solo', stream: true, messages: [{ role: 'user', content: sentinel }] }),
    signal: controller.signal,
  });
  const requestId = res.headers.get('x-request-id') as string;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (abort) {
        controller.abort();
        break;
      }
    }
  } catch {
    // aborted
  }
  return { sentinel, keyId: useA ? h.key.id : h.otherKey.id, requestId, aborted: abort, text };
}

test(`${REQUESTS} concurrent streams: each client gets only its own content; one usage record per request`, async () => {
  const outcomes = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => one(i)));
  const sentinels = new Set(outcomes.map((o) => o.sentinel));
  for (const outcome of outcomes) {
    const seen = outcome.text.match(/SENT[0-9a-f]{32}/g) ?? [];
    // Only its own sentinel, ever.
    expect(seen.every((s) => s === outcome.sentinel)).toBe(true);
    if (!outcome.aborted) {
      const content = outcome.text
        .split('\n\n')
        .filter((e) => e.startsWith('data: {'))
        .map((e) => JSON.parse(e.slice(6)).choices?.[0]?.delta?.content ?? '')
        .join('');
      expect(content).toBe(`${outcome.sentinel} ${outcome.sentinel}`);
    }
  }
  expect(sentinels.size).toBe(REQUESTS);

  // Aborted streams finish asynchronously on the relay: wait until every record is written.
  let records = await h.usageByRequest();
  for (let i = 0; i < 50 && records.size < REQUESTS; i++) {
    await new Promise((r) => setTimeout(r, 100));
    records = await h.usageByRequest();
  }
  expect(records.size).toBe(REQUESTS);
  for (const outcome of outcomes) {
    const mine = records.get(outcome.requestId) ?? [];
    expect(mine).toHaveLength(1);
    expect(mine[0].keyId).toBe(outcome.keyId);
    if (!outcome.aborted) expect(mine[0]).toMatchObject({ outcome: 'ok', usageSource: 'provider' });
  }
  const aborted = outcomes.filter((o) => o.aborted);
  expect(aborted.length).toBeGreaterThan(30);
  expect(aborted.filter((o) => records.get(o.requestId)?.[0].outcome === 'aborted').length).toBeGreaterThan(0);
}, 120_000);
