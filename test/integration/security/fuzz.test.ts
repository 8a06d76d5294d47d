/**
 * Fuzz: 1,000+ generated malformed requests (bodies, nesting depth, encodings, headers with CR/LF or
 * NUL, oversized headers, paths, methods, injection strings in the key) against the real local
 * relay. No response 500 or above, no crash, no upstream call for a rejected request, and every
 * key-injection attempt answered 401. Deterministic (seeded) so a failure can be replayed.
 */
import { connect } from 'node:net';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => (h = await buildRelay({ host: 'http', store: 'dynalite', settings: { maxBodyBytes: 64 * 1024 } })));
afterAll(() => h.close());

function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261129);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
const randomString = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789{}[]":,\\ \n\t<>\'$%&*()!@#~`|?/') =>
  Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');

interface Outcome {
  readonly label: string;
  readonly status: number | undefined;
}

const outcomes: Outcome[] = [];

async function viaFetch(label: string, init: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Uint8Array }) {
  try {
    const res = await fetch(h.url + (init.path ?? '/v1/chat/completions'), {
      method: init.method ?? 'POST',
      headers: { authorization: `Bearer ${h.key.secret}`, ...init.headers },
      body: init.method === 'GET' || init.method === 'HEAD' ? undefined : init.body,
    });
    await res.arrayBuffer();
    outcomes.push({ label, status: res.status });
    return res.status;
  } catch {
    outcomes.push({ label, status: undefined });
    return undefined;
  }
}

/** Sends raw bytes (for what fetch refuses to send) and reads the status line. */
function viaSocket(label: string, raw: string | Buffer): Promise<number | undefined> {
  const { hostname, port } = new URL(h.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const done = () => {
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1];
      outcomes.push({ label, status: status ? Number(status) : undefined });
      resolve(status ? Number(status) : undefined);
    };
    // A request the server still waits on (e.g. a body shorter than declared) gets no answer: that is fine.
    socket.setTimeout(400, () => socket.destroy());
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.end(raw);
  });
}

const goodBody = () => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

test('1,000+ malformed requests: no 5xx, no crash, no upstream call for rejected requests, every key injection 401', async () => {
  // Bodies: random bytes, broken JSON, wrong shapes, wrong model types, prototype keys.
  for (let i = 0; i < 180; i++) await viaFetch('random bytes', { body: randomBytes(1 + Math.floor(random() * 400)) });
  for (let i = 0; i < 100; i++) {
    const text = goodBody();
    await viaFetch('truncated JSON', { body: text.slice(0, Math.floor(random() * (text.length - 1))) });
  }
  for (let i = 0; i < 60; i++) await viaFetch('random text', { body: randomString(1 + Math.floor(random() * 300)) });
  const shapes = ['null', 'true', '42', '"str"', '[]', '[{"model":"gpt-4o-mini"}]', '{}', '{"model":null}', '{"model":42}', '{"model":["gpt-4o-mini"]}', '{"model":{"$ne":null}}',
    '{"model":"__proto__"}', '{"model":"constructor"}', '{"model":"toString"}', '{"model":"hasOwnProperty"}', '{"__proto__":{"model":"gpt-4o-mini"}}', '{"model":""}', '{"model":"gpt-4o-mini\\u0000"}'];
  for (const shape of shapes) for (let i = 0; i < 3; i++) await viaFetch(`shape ${shape}`, { body: shape });
  // Nesting depth, inside and outside the model's object.
  for (const depth of [100, 1_000, 10_000, 30_000]) {
    await viaFetch('deep array', { body: '['.repeat(depth) + ']'.repeat(depth) });
    await viaFetch('deep object', { body: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) });
    await viaFetch('deep unclosed', { body: '['.repeat(depth) });
    await viaFetch('deep messages', { body: `{"model":"gpt-4o-mini","messages":${'['.repeat(depth)}${']'.repeat(depth)}}` });
  }
  // Over the size limit, declared and streamed.
  for (let i = 0; i < 10; i++) await viaFetch('oversize', { body: JSON.stringify({ model: 'gpt-4o-mini', pad: 'x'.repeat(70_000 + i * 1000) }) });
  // Encodings.
  for (let i = 0; i < 20; i++) {
    await viaFetch('utf-16', { body: Buffer.from(goodBody(), 'utf16le') });
    await viaFetch('latin1 junk', { body: Buffer.from(`{"model":"gpt-4o-mini","x":"${randomString(10)}\u00ff\u00fe"}`, 'latin1') });
    await viaFetch('overlong utf-8', { body: Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), Buffer.from('"}')]) });
    await viaFetch('gzip claimed', { body: goodBody().slice(0, 10), headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' } });
    await viaFetch('lone surrogate', { body: '{"model":"\\ud800"}' });
  }
  // Methods and paths.
  const methods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'FOO', 'MKCOL', 'SEARCH'];
  const paths = ['/', '/v1', '/v1/', '/v1/chat', '/v1/chat/completions/x', '/v2/chat/completions', '/V1/CHAT/COMPLETIONS', '/v1/chat/completions%00', '/v1/%2e%2e/admin', '/..;/v1/models', `/${'a'.repeat(4000)}`, '/v1/models?x=%ff%fe', '/v1/messages/count_tokens', '/healthz/../v1/models', '/%F0%9F%92%A9'];
  for (let i = 0; i < 120; i++) {
    const method = pick(methods);
    const path = pick(paths);
    // The relay answers GET / itself (clients probe it): never forwarded.
    await viaFetch(path === '/' && method === 'GET' ? 'local' : `method ${method}`, { method, path, body: method === 'GET' ? undefined : goodBody() });
  }
  // Raw HTTP: CR/LF and NUL in headers, oversized headers, smuggling, broken request lines.
  const { host } = new URL(h.url);
  const raws = [
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nX-Evil: a\rb\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\u0000\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nX-Big: ${'x'.repeat(20_000)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nContent-Length: 2\r\nContent-Length: 40\r\nConnection: close\r\n\r\n{}`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\nConnection: close\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\n Folded: header\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nBad Header Name: x\r\nAuthorization: Bearer ${k}\r\nConnection: close\r\n\r\n`,
    () => `GARBAGE\r\n\r\n`,
    () => `POST /v1/chat/completions HTTP/9.9\r\nConnection: close\r\n\r\n`,
    () => `POST ${'/x'.repeat(20_000)} HTTP/1.1\r\nConnection: close\r\n\r\n`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    (k: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${k}\r\nContent-Length: -1\r\nConnection: close\r\n\r\n{}`,
  ];
  for (let i = 0; i < 120; i++) await viaSocket('raw', pick(raws)(h.key.secret));
  for (let i = 0; i < 30; i++) await viaSocket('raw random', Buffer.concat([Buffer.from('POST / HTTP/1.1\r\n'), randomBytes(200), Buffer.from('\r\n\r\n')]));

  // Key injection (valid HTTP, hostile values): every one must be 401.
  const injections = [
    "' OR '1'='1", '" OR ""="', '1; DROP TABLE keys;--', '{"$ne":null}', '{"$gt":""}', '${jndi:ldap://127.0.0.1/a}', '../../../../etc/passwd', '%00', '*', '.*', '\\', 'null', 'undefined',
    '<script>alert(1)</script>', 'mr-', `mr-${'A'.repeat(42)}`, `mr-${'A'.repeat(44)}`, `mr-${"' OR 1=1--".padEnd(43, 'x')}`, `${h.key.secret}x`, h.key.secret.slice(0, -1), h.key.secret.toUpperCase(),
    `${h.key.secret} ${h.key.secret}`, `key#${h.key.id}`, h.key.id, `hash#${'0'.repeat(64)}`, 'a'.repeat(5000), '🔑'.repeat(10),
  ];
  const keyInjection: number[] = [];
  for (let i = 0; i < 240; i++) {
    const value = i < injections.length ? injections[i] : `${pick(['mr-', 'Bearer ', '', 'hash#', 'key_'])}${randomString(1 + Math.floor(random() * 60), 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-\'"$%{}[]:;,.*|')}`;
    const header = pick(['authorization', 'x-api-key']);
    let status: number | undefined;
    try {
      const res = await fetch(h.url + '/v1/chat/completions', {
        method: 'POST',
        headers: header === 'authorization' ? { authorization: `Bearer ${value}` } : { 'x-api-key': value },
        body: goodBody(),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = undefined; // a value fetch itself refuses to send (e.g. non-Latin-1) never reached the relay
      if (!/[^\u0000-\u00ff]/.test(value)) throw new Error(`could not send key ${JSON.stringify(value)}`);
      continue;
    }
    outcomes.push({ label: 'key injection', status });
    keyInjection.push(status as number);
  }

  expect(outcomes.length).toBeGreaterThanOrEqual(1000);
  const serverErrors = outcomes.filter((o) => o.status !== undefined && o.status >= 500);
  expect(serverErrors).toEqual([]);
  expect(keyInjection.length).toBeGreaterThan(200);
  expect(keyInjection.filter((s) => s !== 401)).toEqual([]);
  // Only requests the relay accepted may have gone upstream.
  const accepted = outcomes.filter((o) => o.status !== undefined && o.status >= 200 && o.status < 300 && o.label !== 'raw' && o.label !== 'local');
  expect(h.upstream.received.length).toBe(accepted.length);
  // Still alive and serving.
  const health = await fetch(`${h.url}/healthz`);
  expect(health.status).toBe(200);
  const ok = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${h.key.secret}` }, body: goodBody() });
  expect(ok.status).toBe(200);
}, 120_000);
