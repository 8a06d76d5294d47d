/**
 * Canary suite: 50+ scenarios over every code path (success, each 4xx, upstream 4xx/5xx, bad JSON,
 * oversize, errors mid-stream, client abort, timeouts, DynamoDB and KMS faults, admin CLI errors).
 * Each scenario plants a unique canary in prompts, system prompts, tool arguments, client headers
 * (Authorization included), upstream answers and upstream error bodies. Afterwards every log line,
 * every item of every table, every CLI output, every error body and every metric line the alarms
 * are built from is scanned: 0 hits.
 */
import { randomUUID } from 'node:crypto';
import { anthropicMessageJson, anthropicMessageSse, openAiChatJson, openAiChatSse, responsesJson, responsesSse } from '../../helpers/fixtures';
import { cli } from '../../helpers/cli-runner';
import { startBedrockFake, type BedrockFake } from '../../helpers/bedrock-fake';
import { bedrockConfig, buildRelay, failoverConfig, startDevServerRelay, type DevServerRelay, type TestRelay } from '../../helpers/relay-builder';
import type { UpstreamHandler } from '../../helpers/upstream-fake';

let a: DevServerRelay; // the dev server: local host, embedded store, admin CLI
let b: TestRelay; // injected store and KMS faults, EMF metrics, failover
let bedrock: BedrockFake; // the Bedrock stand-in (it echoes the prompt, the canary, in every answer)
let c: TestRelay; // Bedrock routes: InvokeModel, Converse, CountTokens, failover to Bedrock
const canaries: string[] = [];
const errorBodies: string[] = [];
/** Provider 4xx errors passed on to their caller (they must reach it, and nothing else). */
const passedOn: string[] = [];
const cliOutputs: string[] = [];
let scenarios = 0;

beforeAll(async () => {
  a = await startDevServerRelay({ settings: { headersTimeoutMs: 300, idleTimeoutMs: 300, keyCacheTtlMs: 0, maxBodyBytes: 8192 } });
  b = await buildRelay({ host: 'http', echo: true, config: (url) => failoverConfig(url) });
  bedrock = await startBedrockFake();
  c = await buildRelay({ host: 'http', echo: true, bedrockUrl: bedrock.url, config: (url) => bedrockConfig(url) });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await c.close();
  await bedrock.close();
});

function canary(): string {
  const value = `CANARY${randomUUID().replace(/-/g, '')}`;
  canaries.push(value);
  scenarios++;
  return value;
}

/** A chat body with the canary in the prompt, the system prompt, a tool definition and tool-call arguments. */
function openAiBody(c: string, extra: Record<string, unknown> = {}) {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: `system ${c}` },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: c }) } }] },
      { role: 'tool', tool_call_id: 'call_1', content: `tool result ${c}` },
      { role: 'user', content: c },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', description: c, parameters: { type: 'object', properties: { q: { type: 'string', description: c } } } } }],
    ...extra,
  };
}

function anthropicBody(c: string, extra: Record<string, unknown> = {}) {
  return {
    model: 'claude-sonnet-5-5',
    max_tokens: 16,
    system: c,
    tools: [{ name: 'lookup', description: c, input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
    messages: [
      { role: 'user', content: c },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'lookup', input: { q: c } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: c }] },
    ],
    ...extra,
  };
}

const canaryHeaders = (c: string) => ({ 'x-canary': c, 'user-agent': `agent ${c}`, 'openai-organization': c, 'anthropic-beta': c });

interface Sent {
  status: number;
  text: string;
}

/** Sends a request and keeps what the relay itself wrote: whole error answers, and error events of streams. */
async function send(url: string, path: string, body: unknown, headers: Record<string, string>, options: { method?: string; abortAfterFirstChunk?: boolean; abortAfterMs?: number } = {}): Promise<Sent> {
  const controller = new AbortController();
  const timer = options.abortAfterMs ? setTimeout(() => controller.abort(), options.abortAfterMs) : undefined;
  try {
    const res = await fetch(url + path, {
      method: options.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: options.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: controller.signal,
    });
    let text = '';
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (options.abortAfterFirstChunk) {
        controller.abort();
        break;
      }
    }
    if (res.status >= 400) errorBodies.push(text);
    else errorBodies.push(...text.split('\n\n').filter((event) => event.includes('"error"')));
    return { status: res.status, text };
  } catch {
    return { status: 0, text: '' };
  } finally {
    clearTimeout(timer);
  }
}

const echo = (c: string): UpstreamHandler => (req, res) => {
  const body = req.json ?? {};
  const anthropic = req.path === '/v1/messages';
  if (body.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(anthropic ? anthropicMessageSse([c, ' and ', c]) : openAiChatSse([c, ' and ', c], (body.stream_options as { include_usage?: boolean })?.include_usage === true));
    return;
  }
  if (req.path.endsWith('/embeddings')) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model: c, usage: { prompt_tokens: 3, total_tokens: 3 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(anthropic ? anthropicMessageJson(c) : openAiChatJson(c)));
};

const A = (path: string, body: unknown, headers: Record<string, string> = {}, options = {}) =>
  send(a.url, path, body, { authorization: `Bearer ${a.firstKey.secret}`, ...headers }, options);

test('no canary reaches a log, a table, a CLI output, an error body or a metric, on any path', async () => {
  // --- Success paths: the upstream answers with the canary.
  for (const [path, build, extra] of [
    ['/v1/chat/completions', openAiBody, {}],
    ['/v1/chat/completions', openAiBody, { stream: true }],
    ['/v1/chat/completions', openAiBody, { stream: true, stream_options: { include_usage: true } }],
    ['/v1/chat/completions', openAiBody, { model: 'fast' }],
    ['/v1/messages', anthropicBody, {}],
    ['/v1/messages', anthropicBody, { stream: true }],
  ] as const) {
    const c = canary();
    a.upstream.respondWith(echo(c));
    const res = await A(path, build(c, extra), canaryHeaders(c));
    expect(res.status).toBe(200);
    expect(res.text).toContain(c); // the client gets its answer
  }
  {
    const c = canary();
    a.upstream.respondWith(echo(c));
    expect((await A('/v1/embeddings', { model: 'text-embedding-3-small', input: [c, c] }, canaryHeaders(c))).status).toBe(200);
  }
  for (const path of ['/v1/models', '/healthz', '/v1/privacy']) {
    const c = canary();
    expect((await A(path, undefined, canaryHeaders(c), { method: 'GET' })).status).toBe(200);
  }

  // --- Client errors, each carrying canaries.
  a.upstream.respondWith(echo('unused'));
  const limited = await a.createKey({ name: 'limited', models: ['fast'] });
  const rpm = await a.createKey({ name: 'rpm', limits: { requestsPerMinute: 1 } });
  const quota = await a.createKey({ name: 'quota', limits: { tokensPerDay: 1 } });
  const revoked = await a.createKey({ name: 'revoked' });
  await a.server.stores.keys.updateKey(revoked.id, { status: 'revoked' });
  const expiring = await a.createKey({ name: 'expiring', expiresAt: new Date(Date.now() + 300).toISOString() });
  await new Promise((r) => setTimeout(r, 350));
  const clientErrors: [string, (c: string) => Promise<Sent>, number][] = [
    ['invalid JSON', (c) => A('/v1/chat/completions', `{"model":"gpt-4o-mini","messages":[{"content":"${c}"`, canaryHeaders(c)), 400],
    ['JSON array', (c) => A('/v1/chat/completions', `["${c}"]`, canaryHeaders(c)), 400],
    ['missing model', (c) => A('/v1/chat/completions', { messages: [{ role: 'user', content: c }] }, canaryHeaders(c)), 400],
    ['unknown model named like the canary', (c) => A('/v1/chat/completions', { ...openAiBody(c), model: c }, canaryHeaders(c)), 404],
    ['model not allowed', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${limited.secret}`, ...canaryHeaders(c) }), 403],
    ['wrong endpoint for the model', (c) => A('/v1/chat/completions', { ...openAiBody(c), model: 'claude-sonnet-5-5' }, canaryHeaders(c)), 400],
    ['embeddings for a chat-only provider', (c) => A('/v1/embeddings', { model: 'claude-sonnet-5-5', input: c }, canaryHeaders(c)), 400],
    ['wrong method', (c) => A(`/v1/chat/completions?q=${c}`, undefined, canaryHeaders(c), { method: 'GET' }), 405],
    ['unknown path', (c) => A(`/v1/${c}`, openAiBody(c), canaryHeaders(c)), 404],
    ['oversize body', (c) => A('/v1/chat/completions', openAiBody(c, { pad: c.repeat(300) }), canaryHeaders(c)), 413],
    ['missing key', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), canaryHeaders(c)), 401],
    ['wrong key shaped like one', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer mr-${c.padEnd(43, 'x').slice(0, 43)}` }), 401],
    ['the canary as the key', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${c}` }), 401],
    ['the canary in x-api-key', (c) => send(a.url, '/v1/messages', anthropicBody(c), { 'x-api-key': c }), 401],
    ['two different relay keys', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${a.firstKey.secret}`, 'x-api-key': `mr-${c.padEnd(43, 'x').slice(0, 43)}` }), 401],
    ['revoked key', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${revoked.secret}`, ...canaryHeaders(c) }), 401],
    ['expired key', (c) => send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${expiring.secret}`, ...canaryHeaders(c) }), 401],
    ['rate limited', async (c) => {
      await send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${rpm.secret}` });
      return send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${rpm.secret}`, ...canaryHeaders(c) });
    }, 429],
    ['token quota used up', async (c) => {
      await send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${quota.secret}` });
      await a.server.idle();
      return send(a.url, '/v1/chat/completions', openAiBody(c), { authorization: `Bearer ${quota.secret}`, ...canaryHeaders(c) });
    }, 429],
  ];
  for (const [name, run, status] of clientErrors) {
    const res = await run(canary());
    expect({ name, status: res.status }).toEqual({ name, status });
  }

  // --- Upstream failures whose bodies and events carry the canary.
  const upstreamFailures: [string, (c: string) => UpstreamHandler, boolean, number][] = [
    ['upstream 500', (c) => (_q, r) => void r.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: c } })), false, 502],
    ['upstream 400', (c) => (_q, r) => void r.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `bad ${c}`, param: c } })), false, 400],
    ['upstream 401', (c) => (_q, r) => void r.writeHead(401).end(c), false, 502],
    ['upstream 404', (c) => (_q, r) => void r.writeHead(404).end(c), false, 404],
    ['upstream 429', (c) => (_q, r) => void r.writeHead(429, { 'retry-after': '3', 'x-detail': c }).end(c), false, 429],
    ['upstream 503', (c) => (_q, r) => void r.writeHead(503).end(c), false, 503],
    ['upstream redirect', (c) => (_q, r) => void r.writeHead(302, { location: `http://127.0.0.1:1/${c}` }).end(c), false, 502],
    ['upstream 200 with a non-JSON body', (c) => (_q, r) => void r.writeHead(200, { 'content-type': 'text/plain' }).end(`not json ${c}`), false, 200],
    ['in-band error (OpenAI)', (c) => (_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.end(`data: ${JSON.stringify({ error: { message: c, type: 'server_error' } })}\n\n`);
    }, true, 200],
    ['stream truncated', (c) => (_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.end(openAiChatSse([c], true).split('\n\n').slice(0, 2).join('\n\n') + '\n\n');
    }, true, 200],
    ['stream reset', (c) => (_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.write(openAiChatSse([c], true).split('\n\n').slice(0, 2).join('\n\n') + '\n\n');
      setTimeout(() => r.socket?.destroy(), 20);
    }, true, 200],
    ['stream stalls (idle timeout)', (c) => (_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.write(openAiChatSse([c], true).split('\n\n').slice(0, 2).join('\n\n') + '\n\n');
    }, true, 200],
    ['hang before headers (timeout)', () => () => undefined, false, 504],
  ];
  for (const [name, handler, stream, status] of upstreamFailures) {
    const c = canary();
    a.upstream.respondWith(handler(c));
    const res = await A('/v1/chat/completions', openAiBody(c, { stream }), canaryHeaders(c));
    expect({ name, status: res.status }).toEqual({ name, status });
    // A provider's 4xx message is handed to the caller, who sent the prompt it may quote: it is not one of the relay's own error bodies.
    if (name === 'upstream 400') passedOn.push(errorBodies.pop() as string);
  }
  expect(passedOn).toHaveLength(1);
  expect(passedOn[0]).toContain('bad CANARY');
  {
    const c = canary();
    a.upstream.respondWith((_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.end(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: c } })}\n\n`);
    });
    expect((await A('/v1/messages', anthropicBody(c, { stream: true }), canaryHeaders(c))).status).toBe(200);
  }
  for (const abort of ['after the first chunk', 'before the headers'] as const) {
    const c = canary();
    a.upstream.respondWith(abort === 'before the headers' ? () => undefined : (_q, r) => {
      r.writeHead(200, { 'content-type': 'text/event-stream' });
      r.write(openAiChatSse([c, c], true).split('\n\n').slice(0, 3).join('\n\n') + '\n\n');
    });
    await A('/v1/chat/completions', openAiBody(c, { stream: true }), canaryHeaders(c), abort === 'before the headers' ? { abortAfterMs: 100 } : { abortAfterFirstChunk: true });
  }
  // --- The modern endpoints: Responses (JSON, stream, compact) and count_tokens, canaries in prompts, tools and answers.
  const responsesBody = (c: string, extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4o-mini',
    instructions: `instructions ${c}`,
    input: [{ role: 'user', content: c }, { type: 'function_call_output', call_id: 'call_1', output: `tool output ${c}` }],
    tools: [{ type: 'function', name: 'lookup', description: c, parameters: { type: 'object', properties: { q: { type: 'string', description: c } } } }],
    prompt_cache_key: c,
    ...extra,
  });
  const json = (value: unknown, status = 200): UpstreamHandler => (_q, r) => void r.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const stream = (text: string): UpstreamHandler => (_q, r) => void r.writeHead(200, { 'content-type': 'text/event-stream' }).end(text);
  const modern: [string, (c: string) => UpstreamHandler, string, (c: string) => unknown, number, 'passed on'?][] = [
    ['responses JSON', (c) => json(responsesJson(c)), '/v1/responses', (c) => responsesBody(c), 200],
    ['responses stream', (c) => stream(responsesSse([c, ' and ', c])), '/v1/responses', (c) => responsesBody(c, { stream: true }), 200],
    ['responses stream with a function call', (c) => stream(responsesSse(['{"q":', `"${c}"}`], { toolCall: { name: 'lookup', arguments: `{"q":"${c}"}` } })), '/v1/responses', (c) => responsesBody(c, { stream: true }), 200],
    ['responses stream with an error event', (c) => stream(`${responsesSse([c], { terminal: null })}event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: c })}\n\n`), '/v1/responses', (c) => responsesBody(c, { stream: true }), 200],
    ['responses stream without a terminal event', (c) => stream(responsesSse([c], { terminal: null })), '/v1/responses', (c) => responsesBody(c, { stream: true }), 200],
    ['responses stream that failed', (c) => stream(responsesSse([c], { terminal: 'response.failed' })), '/v1/responses', (c) => responsesBody(c, { stream: true }), 200],
    ['responses compact', (c) => json({ object: 'response.compaction', output: [{ type: 'message', content: c }], usage: { input_tokens: 5, output_tokens: 2 } }), '/v1/responses/compact', (c) => responsesBody(c), 200],
    ['count_tokens', () => json({ input_tokens: 7 }), '/v1/messages/count_tokens', (c) => anthropicBody(c), 200],
    ['responses that need stored state', (c) => json(responsesJson(c)), '/v1/responses', (c) => responsesBody(c, { previous_response_id: `resp_${c}` }), 400],
    ['an upstream 400 on /v1/responses', (c) => json({ error: { message: `bad input ${c}`, type: 'invalid_request_error', code: 'invalid_value' } }, 400), '/v1/responses', (c) => responsesBody(c), 400, 'passed on'],
    ['an upstream 400 on count_tokens', (c) => json({ type: 'error', error: { type: 'invalid_request_error', message: `prompt is too long ${c}` } }, 400), '/v1/messages/count_tokens', (c) => anthropicBody(c), 400, 'passed on'],
  ];
  for (const [name, upstream, path, body, status, passed] of modern) {
    const c = canary();
    a.upstream.respondWith(upstream(c));
    const res = await A(path, body(c), canaryHeaders(c));
    expect({ name, status: res.status }).toEqual({ name, status });
    if (passed) {
      const passedBody = errorBodies.pop() as string;
      expect({ name, reachedTheCaller: passedBody.includes(c) }).toEqual({ name, reachedTheCaller: true });
      passedOn.push(passedBody);
    }
  }
  {
    const c = canary();
    const res = await A(`/v1/responses/resp_${c}`, undefined, canaryHeaders(c), { method: 'GET' });
    expect(res.status).toBe(400);
  }

  // Proof the scan could find something: the canaries really travelled to the provider.
  const upstreamSaw = JSON.stringify(a.upstream.received);
  expect(canaries.filter((c) => upstreamSaw.includes(c)).length).toBeGreaterThan(20);
  a.upstream.reset();

  // --- Store and KMS faults, failover (the relay with injected faults, EMF metrics on).
  const B = (model: string, c: string, options: { stream?: boolean; path?: string } = {}) =>
    send(b.url, options.path ?? '/v1/chat/completions', { ...(options.path === '/v1/messages' ? anthropicBody(c) : openAiBody(c)), model, stream: options.stream ?? false }, { authorization: `Bearer ${b.key.secret}`, ...canaryHeaders(c) });
  const faults: [string, (c: string) => Promise<Sent>, number][] = [
    ['success through the fault harness', (c) => B('solo', c, { stream: true }), 200],
    ['key store down', async (c) => {
      b.faults.keyStoreDown = true;
      try {
        return await B('solo', c);
      } finally {
        b.faults.keyStoreDown = false;
      }
    }, 503],
    ['usage store down (record goes to the log)', async (c) => {
      b.faults.usageStoreDown = true;
      try {
        const res = await B('solo', c);
        await b.idle();
        return res;
      } finally {
        b.faults.usageStoreDown = false;
      }
    }, 200],
    ['KMS down, secret still cached', async (c) => {
      await B('solo', c);
      b.faults.cipherDown = true;
      try {
        return await B('solo', c);
      } finally {
        b.faults.cipherDown = false;
      }
    }, 200],
    ['KMS down, nothing cached', async (c) => {
      b.faults.cipherDown = true;
      try {
        return await B('claude-spare', c, { path: '/v1/messages' });
      } finally {
        b.faults.cipherDown = false;
      }
    }, 503],
    ['503 with a canary body, then the backup', (c) => (b.upstream.script('a', { status: 503, body: c }), B('ha', c)), 200],
    ['429 with a canary body, then the same provider', (c) => (b.upstream.script('a', { status: 429, retryAfter: '0', body: c }), B('twice', c)), 200],
    ['every candidate failing with canary bodies', (c) => (b.upstream.script('a', { status: 500, body: c }), b.upstream.script('b', { status: 502, body: c }), B('ha', c)), 502],
    ['connect refused, then the backup', (c) => B('dead-first', c), 200],
    ['in-band error via the fault upstream', (c) => (b.upstream.script('a', 'in-band-error'), B('solo', c, { stream: true })), 200],
  ];
  for (const [name, run, status] of faults) {
    b.upstream.reset();
    const res = await run(canary());
    expect({ name, status: res.status }).toEqual({ name, status });
  }

  // --- Bedrock: Messages (InvokeModel), count_tokens (CountTokens), chat (Converse), its exceptions
  // before the answer and mid-stream (with canary messages), a cut stream, failover to Bedrock.
  const C = (path: string, body: unknown, k: string) => send(c.url, path, body, { authorization: `Bearer ${c.key.secret}`, ...canaryHeaders(k) });
  const onBedrock: [string, (k: string) => Promise<Sent>, number, 'passed on'?][] = [
    ['bedrock messages JSON', (k) => C('/v1/messages', anthropicBody(k, { model: 'claude-bedrock' }), k), 200],
    ['bedrock messages stream', (k) => C('/v1/messages', anthropicBody(k, { model: 'claude-bedrock', stream: true }), k), 200],
    ['bedrock messages with a tool call', (k) => C('/v1/messages', anthropicBody(`please use tool ${k}`, { model: 'claude-bedrock', stream: true }), k), 200],
    ['bedrock count_tokens', (k) => C('/v1/messages/count_tokens', anthropicBody(k, { model: 'claude-bedrock' }), k), 200],
    ['bedrock chat JSON', (k) => C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock' }), k), 200],
    ['bedrock chat stream', (k) => C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock', stream: true, stream_options: { include_usage: true } }), k), 200],
    ['bedrock chat with a tool call', (k) => C('/v1/chat/completions', openAiBody(`please use tool ${k}`, { model: 'llama-bedrock', stream: true }), k), 200],
    ['bedrock chat with a field Converse cannot express', (k) => C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock', seed: 1 }), k), 400],
    ['bedrock validation error quoting the prompt', (k) => (bedrock.script({ exception: 'ValidationException', status: 400, message: `bad input ${k}` }), C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock' }), k)), 400, 'passed on'],
    ['bedrock throttling with a canary message', (k) => (bedrock.script({ exception: 'ThrottlingException', status: 429, message: `slow ${k}` }), C('/v1/messages', anthropicBody(k, { model: 'claude-bedrock' }), k)), 429],
    ['bedrock access denied with a canary message', (k) => (bedrock.script({ exception: 'AccessDeniedException', status: 403, message: `denied ${k}` }), C('/v1/messages', anthropicBody(k, { model: 'claude-bedrock' }), k)), 502],
    ['bedrock exception mid-stream (messages)', (k) => (bedrock.script({ midStream: 'modelStreamErrorException', message: `broke ${k}` }), C('/v1/messages', anthropicBody(k, { model: 'claude-bedrock', stream: true }), k)), 200],
    ['bedrock exception mid-stream (chat)', (k) => (bedrock.script({ midStream: 'throttlingException', message: `broke ${k}` }), C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock', stream: true }), k)), 200],
    ['bedrock stream cut mid-message', (k) => (bedrock.script('cut'), C('/v1/chat/completions', openAiBody(k, { model: 'claude-bedrock', stream: true }), k)), 200],
    ['anthropic 529, then Bedrock', (k) => (c.upstream.script('a', { status: 529, body: k }), C('/v1/messages', anthropicBody(k, { model: 'claude-ha' }), k)), 200],
  ];
  for (const [name, run, status, passed] of onBedrock) {
    const res = await run(canary());
    expect({ name, status: res.status }).toEqual({ name, status });
    if (passed) {
      const passedBody = errorBodies.pop() as string;
      expect({ name, reachedTheCaller: passedBody.includes('bad input CANARY') }).toEqual({ name, reachedTheCaller: true });
      passedOn.push(passedBody);
    }
  }
  expect(bedrock.refused).toEqual([]);
  const bedrockSaw = JSON.stringify(bedrock.received);
  expect(canaries.filter((k) => bedrockSaw.includes(k)).length).toBeGreaterThan(10);

  // --- Admin CLI: what operators see after all that traffic, and its error paths.
  const target = ['--data-dir', a.dataDir, '--config', `${a.dataDir}/mixroute.config.json`];
  for (const args of [
    ['usage', '--json', ...target],
    ['usage', '--by', 'model', '--csv', ...target],
    ['usage', ...target],
    ['keys', 'list', '--json', ...target],
    ['keys', 'list', ...target],
    ['keys', 'show', a.firstKey.id, '--json', ...target],
    ['providers', 'list', '--json', ...target],
    ['keys', 'show', 'key_unknown', ...target],
    ['usage', '--since', '30d', ...target],
    ['keys', 'list', '--data-dir', '/nonexistent-mixroute'],
    ['providers', 'test', 'openai', '--json', ...target],
  ]) {
    canary();
    const result = await cli(args);
    cliOutputs.push(result.stdout, result.stderr);
  }
  await a.server.idle();
  await b.idle();
  await c.idle();

  // --- The scan.
  expect(scenarios).toBeGreaterThanOrEqual(50);
  const corpora: Record<string, string> = {
    'log lines': [...a.logs, ...b.logs, ...c.logs].join('\n'),
    'table items': (await a.dumpTables()) + (await b.dumpTables()) + (await c.dumpTables()),
    'CLI output': cliOutputs.join('\n') + a.banner.join('\n'),
    'error bodies': errorBodies.join('\n'),
    'metric lines (alarm inputs)': [...b.metrics, ...c.metrics].join('\n'),
  };
  // The scan can see: the corpora are not empty, and the canaries did reach the upstream.
  for (const [where, text] of Object.entries(corpora)) expect({ where, empty: text.length < 200 }).toEqual({ where, empty: false });
  const hits = Object.entries(corpora).flatMap(([where, text]) => canaries.filter((c) => text.includes(c)).map((c) => `${where}: ${c}`));
  expect(hits).toEqual([]);
  // And no secret (client keys, provider keys), except the dev server's one-time print of its first key.
  const withoutBanner = { ...corpora, 'CLI output': cliOutputs.join('\n') };
  for (const secret of [a.firstKey.secret, b.key.secret, c.key.secret, 'sk-upstream-openai-secret', 'sk-primary', 'bedrock-test-secret-key']) {
    for (const [where, text] of Object.entries(withoutBanner)) expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
  }
}, 120_000);
