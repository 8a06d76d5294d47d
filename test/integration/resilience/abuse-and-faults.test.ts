/**
 * Bounded under abuse and faults, written as the probes that found the gaps: parallel requests
 * against a token quota, a key holding many streams, the counter store down, DynamoDB hanging on a
 * key lookup and on a usage write, a key revoked during an open stream, a huge non-streamed answer,
 * oversized and in-band-error stream events, slow-header clients, methods the relay does not serve,
 * HEAD, duplicate JSON keys, and a stream whose first byte never comes.
 */
import { connect } from 'node:net';
import { anthropicMessageSse, openAiChatSse, responsesSse } from '../../helpers/fixtures';
import { buildRelay, failoverConfig, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => {
  h = await buildRelay({
    host: 'http',
    store: 'dynalite',
    echo: true,
    config: (url) => failoverConfig(url, { storeTimeoutMs: 1500, streamKeyRecheckMs: 1000, idleTimeoutMs: 3000, totalTimeoutMs: 20_000, headersTimeoutMs: 3000 }),
  });
});
afterAll(() => h.close());
beforeEach(() => {
  h.upstream.reset();
  Object.assign(h.faults, { keyStoreDown: false, usageStoreDown: false, countersDown: false, cipherDown: false, keyStoreHangs: false, usageStoreHangs: false });
});

async function send(key: string, body: Record<string, unknown>, path = '/v1/chat/completions') {
  const started = Date.now();
  const res = await fetch(h.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: safeJson(text), headers: res.headers, requestId: res.headers.get('x-request-id') as string, ms: Date.now() - started };
}
const safeJson = (text: string) => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const chat = (extra: Record<string, unknown> = {}) => ({ model: 'solo', messages: [{ role: 'user', content: 'SENTINEL' }], ...extra });
const lastEvent = (text: string) => text.trim().split('\n\n').pop() as string;

describe('quotas hold under parallel load', () => {
  test('40 parallel requests against a 100-token daily quota record at most the quota plus one reservation', async () => {
    const key = await h.createKey({ name: 'quota-probe', limits: { tokensPerDay: 100 } });
    // Each answer costs 1,000 tokens, as in the probe (40 admitted: 40,000 recorded).
    h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [], usage: { prompt_tokens: 500, completion_tokens: 500 } })));
    const body = chat({ max_tokens: 1000 });
    const results = await Promise.all(Array.from({ length: 40 }, () => send(key.secret, body)));
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(results.map((r) => r.status).filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.json).toMatchObject({ error: { code: 'quota_exceeded' } });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(h.upstream.received).toHaveLength(admitted.length);
    const recorded = (await h.usageItems()).filter((i) => i.keyId === key.id).reduce((sum, i) => sum + (i.inputTokens as number) + (i.outputTokens as number), 0);
    const reservation = Math.ceil(JSON.stringify(body).length / 4) + 1000;
    expect(recorded).toBeLessThanOrEqual(100 + reservation);
  });

  test('a key with --max-concurrency 3 holds at most 3 streams; the others get 429 with Retry-After, and a finished stream frees its slot', async () => {
    const key = await h.createKey({ name: 'concurrency-probe', limits: { maxConcurrency: 3 } });
    h.upstream.respondWith((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = openAiChatSse(['a', 'b', 'c'], true).split(/(?<=\n\n)/);
      res.write(events.slice(0, 2).join(''));
      setTimeout(() => res.end(events.slice(2).join('')), 800);
      void req;
    });
    const results = await Promise.all(Array.from({ length: 10 }, () => send(key.secret, chat({ stream: true }))));
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.json).toMatchObject({ error: { code: 'concurrency_limited' } });
      expect(r.headers.get('retry-after')).toBe('1');
    }
    expect(h.upstream.received).toHaveLength(3);
    await h.idle();
    expect((await send(key.secret, chat({ stream: true }))).status).toBe(200);
  });
});

describe('fail closed where it matters', () => {
  test('with the counters down, a key with limits gets 503 with Retry-After and a LimitCheckFailures metric; a key without limits is served', async () => {
    const limited = await h.createKey({ name: 'limited', limits: { tokensPerDay: 1_000_000 } });
    h.faults.countersDown = true;
    const before = h.metrics.filter((m) => m.includes('LimitCheckFailures')).length;
    const refused = await send(limited.secret, chat());
    expect(refused.status).toBe(503);
    expect(refused.json).toMatchObject({ error: { code: 'limit_store_unavailable' } });
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(h.upstream.received).toHaveLength(0);
    expect(h.metrics.filter((m) => m.includes('LimitCheckFailures')).length).toBe(before + 1);
    expect((await send(h.key.secret, chat())).status).toBe(200);
  });
});

describe('a deadline on every dependency', () => {
  test('a hung key store answers 503 key_store_unavailable within the store deadline', async () => {
    h.faults.keyStoreHangs = true;
    const res = await send(h.key.secret, chat());
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: { code: 'key_store_unavailable' } });
    expect(res.ms).toBeGreaterThanOrEqual(1400);
    expect(res.ms).toBeLessThan(2500);
  });

  test('a hung usage store: the answer is not held, and the content-free record goes to the replay log line', async () => {
    h.faults.usageStoreHangs = true;
    const res = await send(h.key.secret, chat());
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1000);
    const started = Date.now();
    await h.idle();
    // Three attempts of 1.5 s plus the retry delays: bounded, then logged.
    expect(Date.now() - started).toBeLessThan(6000);
    const replay = h.logs.map((l) => JSON.parse(l)).find((l) => l.event === 'usage_write_failed' && l.requestId === res.requestId);
    expect(replay).toMatchObject({ keyId: h.key.id, status: 200, outcome: 'ok', expiresAt: expect.any(Number) });
    expect(h.metrics.some((m) => m.includes('UsageWriteFailures'))).toBe(true);
  });
});

describe('revocation reaches open streams', () => {
  test('a stream opened before its key is revoked ends with a key_revoked error event within the re-check interval', async () => {
    const key = await h.createKey({ name: 'to-revoke' });
    h.upstream.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const events = openAiChatSse(Array.from({ length: 40 }, (_, i) => `p${i}`), true).split(/(?<=\n\n)/);
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i >= events.length) return void (clearInterval(timer), res.end());
        res.write(events[i++]);
      }, 150);
    });
    setTimeout(() => void h.stores.keys.updateKey(key.id, { status: 'revoked' }), 300);
    const res = await send(key.secret, chat({ stream: true }));
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(4000);
    expect(JSON.parse(lastEvent(res.text).replace(/^data: /, ''))).toMatchObject({ error: { code: 'key_revoked' } });
    expect(await h.usageFor(res.requestId)).toMatchObject({ outcome: 'client_error', errorCode: 'key_revoked', streamed: true });
  });
});

describe('caps', () => {
  test('a 300 MiB non-streamed answer ends in 502 without the relay buffering it', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    h.upstream.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const write = () => {
        while (sent < 300 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      write();
    });
    global.gc?.();
    const before = process.memoryUsage().rss;
    const res = await send(h.key.secret, chat());
    const grown = (process.memoryUsage().rss - before) / (1024 * 1024);
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: { code: 'upstream_response_too_large' } });
    expect(sent).toBeLessThan(300);
    expect(grown).toBeLessThan(200);
    expect(await h.usageFor(res.requestId)).toMatchObject({ status: 502, errorCode: 'upstream_response_too_large' });
  }, 60_000);

  test('a single stream event over the event limit ends the stream with an error event, and is recorded', async () => {
    h.upstream.respondWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(openAiChatSse(['a'], true).split(/(?<=\n\n)/)[0]);
      res.end(`data: {"choices":[{"delta":{"content":"${'x'.repeat(2 * 1024 * 1024)}"}}]}\n\n`);
    });
    const res = await send(h.key.secret, chat({ stream: true }));
    expect(res.text.length).toBeLessThan(1024 * 1024);
    expect(lastEvent(res.text)).toContain('upstream_bad_response');
    expect(await h.usageFor(res.requestId)).toMatchObject({ outcome: 'upstream_error', errorCode: 'upstream_bad_response' });
  });

  const inBand = [
    ['event: error', 'event: error\ndata: {"message":"UPSTREAM-DETAIL"}\n\n'],
    ['{"object":"error"}', 'data: {"object":"error","message":"UPSTREAM-DETAIL"}\n\n'],
    ['{"id":…,"error":…}', 'data: {"id":"chatcmpl-1","error":{"message":"UPSTREAM-DETAIL"}}\n\n'],
    ['{"type":"error"}', 'data: {"type":"error","error":{"message":"UPSTREAM-DETAIL"}}\n\n'],
  ];
  const streams: [string, string, (body: Record<string, unknown>) => Record<string, unknown>, string][] = [
    ['chat', '/v1/chat/completions', (b) => b, openAiChatSse(['a'], true).split(/(?<=\n\n)/).slice(0, 2).join('')],
    ['messages', '/v1/messages', (b) => ({ ...b, model: 'claude', max_tokens: 5 }), anthropicMessageSse(['a']).split(/(?<=\n\n)/).slice(0, 2).join('')],
    ['responses', '/v1/responses', (b) => ({ model: 'solo', input: 'SENTINEL', stream: b.stream }), responsesSse(['a'], { terminal: null })],
  ];
  for (const [shape, event] of inBand) {
    for (const [api, path, bodyFor, prefix] of streams) {
      test(`an in-band error shaped ${shape} on a ${api} stream is replaced and recorded as an upstream error`, async () => {
        h.upstream.respondWith((_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(prefix + event));
        const res = await send(h.key.secret, bodyFor(chat({ stream: true })), path);
        expect(res.text).not.toContain('UPSTREAM-DETAIL');
        expect(res.text).toContain('The upstream provider reported an error during the stream.');
        expect(await h.usageFor(res.requestId)).toMatchObject({ outcome: 'upstream_error' });
      });
    }
  }
});

describe('bad input gets a clear 4xx', () => {
  const raw = (request: string) =>
    new Promise<string>((resolve) => {
      const { port } = new URL(h.url);
      // Written, not ended: a half-closed client would have its pending answer dropped by node:http.
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
      let data = '';
      socket.on('data', (c) => (data += c));
      socket.on('close', () => resolve(data));
    });

  test.each(['TRACE', 'PATCH', 'OPTIONS', 'PUT', 'PROPFIND'])('%s on any path answers 405, never 500', async (method) => {
    for (const path of ['/', '/v1/chat/completions', '/nowhere']) {
      const answer = await raw(`${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.key.secret}\r\nConnection: close\r\n\r\n`);
      expect({ method, path, status: answer.split('\r\n')[0] }).toEqual({ method, path, status: 'HTTP/1.1 405 Method Not Allowed' });
    }
  });

  test('a token that is no HTTP method at all is refused by the HTTP parser with a 4xx, never a 5xx', async () => {
    const answer = await raw('FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 4\d\d /);
  });

  test('HEAD answers carry no body', async () => {
    const answer = await raw(`HEAD /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.key.secret}\r\nConnection: close\r\n\r\n`);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(answer.split('\r\n\r\n')[1]).toBe('');
  });

  test('a JSON body naming a key twice gets 400 invalid_json and nothing goes upstream', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key.secret}`, 'content-type': 'application/json' },
      body: '{"model":"solo","model":"claude","messages":[]}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_json', message: expect.stringContaining('same key twice') } });
    expect(h.upstream.received).toHaveLength(0);
  });
});

describe('streams fail over fast', () => {
  test('a stream whose first byte does not come within streamFirstByteTimeoutMs fails over, even with a long headersTimeoutMs', async () => {
    const fast = await buildRelay({ upstream: h.upstream, echo: true, config: (url) => failoverConfig(url, { headersTimeoutMs: 60_000, streamFirstByteTimeoutMs: 300, totalTimeoutMs: 90_000 }) });
    try {
      // Headers at once, then silence: the first byte never comes.
      h.upstream.respondWith((req, res) => {
        if (req.path.startsWith('/a/')) return void res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(openAiChatSse(['from', ' backup'], true));
      });
      const started = Date.now();
      const res = await fast.call('/v1/chat/completions', { body: JSON.stringify({ model: 'ha', stream: true, messages: [{ role: 'user', content: 'x' }] }) });
      expect(res.status).toBe(200);
      expect(res.text).toContain('backup');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await fast.usageFor(res.requestId)).toMatchObject({ provider: 'backup', outcome: 'ok' });
    } finally {
      await fast.close();
    }
  });
});
