import { generateClientKey, hashKey, KeyAuthenticator, keyAllowsModel, presentedKey, TWO_KEYS } from '../../../lambda/core/auth';
import { RelayError } from '../../../lambda/core/errors';
import type { ClientKey, KeyLookup, KeyStore } from '../../../lambda/core/ports';

/** Headers as the hosts hand them to the core: lower-case names. */
const headersOf = (init: Record<string, string> = {}): Record<string, string> => init;

const KEY: ClientKey = { id: 'key_1', name: 'alice', status: 'active', createdAt: '2026-01-01T00:00:00Z', prefix: 'mr-abcd' };

function fixture(now = { t: 1_000_000 }) {
  const secret = generateClientKey('key_1').secret;
  const records = new Map<string, KeyLookup>([[hashKey(secret), { key: KEY }]]);
  const store = { calls: 0, fail: false, async findByHash(hash: string) { store.calls++; if (store.fail) throw new Error('down'); return records.get(hash); } } as KeyStore & { calls: number; fail: boolean };
  const auth = new KeyAuthenticator({ store, clock: { now: () => now.t }, ttlMs: 30_000, maxEntries: 3 });
  return { secret, records, store, auth, now };
}

const bearer = (key: string) => headersOf({ authorization: `Bearer ${key}` });

test('generates a 256-bit key with a recognisable prefix and stores only its SHA-256', () => {
  const key = generateClientKey();
  expect(key.secret).toMatch(/^mr-[A-Za-z0-9_-]{43}$/);
  expect(Buffer.from(key.secret.slice(3), 'base64url')).toHaveLength(32);
  expect(key.hash).toBe(hashKey(key.secret));
  expect(key.hash).not.toContain(key.secret);
  expect(key.prefix).toBe(key.secret.slice(0, 7));
});

test('accepts the key from Authorization: Bearer or x-api-key', () => {
  expect(presentedKey(headersOf({ authorization: 'Bearer mr-x' }))).toBe('mr-x');
  expect(presentedKey(headersOf({ authorization: 'bearer mr-x' }))).toBe('mr-x');
  expect(presentedKey(headersOf({ 'x-api-key': 'mr-y' }))).toBe('mr-y');
  expect(presentedKey(headersOf({ authorization: 'Bearer mr-x', 'x-api-key': 'mr-x' }))).toBe('mr-x');
});

test('with two different keys, uses the one shaped like a relay key and ignores the other', () => {
  const relayKey = generateClientKey().secret;
  expect(presentedKey(headersOf({ authorization: `Bearer ${relayKey}`, 'x-api-key': 'sk-ant-some-anthropic-key' }))).toBe(relayKey);
  expect(presentedKey(headersOf({ authorization: 'Bearer sk-other-token', 'x-api-key': relayKey }))).toBe(relayKey);
});

test('rejects two different relay keys in one request, saying so', async () => {
  const { auth } = fixture();
  const [a, b] = [generateClientKey().secret, generateClientKey().secret];
  expect(presentedKey(headersOf({ authorization: `Bearer ${a}`, 'x-api-key': b }))).toBe(TWO_KEYS);
  const error = await auth.authenticate(headersOf({ authorization: `Bearer ${a}`, 'x-api-key': b })).catch((e) => e);
  expect(error).toMatchObject({ status: 401, code: 'invalid_api_key', message: expect.stringContaining('Two different relay keys were sent') });
});

test('authenticates a valid key and serves repeats from the cache', async () => {
  const { secret, store, auth } = fixture();
  await expect(auth.authenticate(bearer(secret))).resolves.toEqual(KEY);
  await auth.authenticate(headersOf({ 'x-api-key': secret }));
  expect(store.calls).toBe(1);
});

test('rejects a wrong key with the same 401 as a malformed or missing one, without hinting', async () => {
  const { auth } = fixture();
  const errors = await Promise.all(
    [bearer(generateClientKey('key_1').secret), bearer('mr-short'), headersOf(), bearer("' OR 1=1 --")].map((h) => auth.authenticate(h).catch((e) => e)),
  );
  for (const error of errors) {
    expect(error).toBeInstanceOf(RelayError);
    expect(error.status).toBe(401);
    expect(error.message).toBe(errors[0].message);
  }
});

test('rejects malformed keys without a store lookup', async () => {
  const { store, auth } = fixture();
  await auth.authenticate(bearer('not-a-key')).catch(() => undefined);
  expect(store.calls).toBe(0);
});

test('a revoked key stops working once the cache TTL has passed, not before it is re-read', async () => {
  const { secret, records, auth, now } = fixture();
  await auth.authenticate(bearer(secret));
  records.set(hashKey(secret), { key: { ...KEY, status: 'revoked' } });
  now.t += 29_000;
  await expect(auth.authenticate(bearer(secret))).resolves.toEqual(KEY);
  now.t += 1_001;
  await expect(auth.authenticate(bearer(secret))).rejects.toMatchObject({ status: 401 });
});

test('rejects an expired key and a rotated-away secret past its end, checked at use time', async () => {
  const { secret, records, auth, now } = fixture();
  records.set(hashKey(secret), { key: { ...KEY, expiresAt: new Date(now.t + 1000).toISOString() } });
  await expect(auth.authenticate(bearer(secret))).resolves.toBeDefined();
  now.t += 1000;
  await expect(auth.authenticate(bearer(secret))).rejects.toMatchObject({ status: 401 });

  const other = fixture();
  other.records.set(hashKey(other.secret), { key: KEY, secretNotAfter: new Date(other.now.t + 500).toISOString() });
  await expect(other.auth.authenticate(bearer(other.secret))).resolves.toBeDefined();
  other.now.t += 500;
  await expect(other.auth.authenticate(bearer(other.secret))).rejects.toMatchObject({ status: 401 });
});

test('fails closed with 503 and Retry-After when the key store cannot be read', async () => {
  const { secret, store, auth } = fixture();
  store.fail = true;
  const error = await auth.authenticate(bearer(secret)).catch((e) => e);
  expect(error).toMatchObject({ status: 503, code: 'key_store_unavailable', headers: { 'retry-after': '1' } });
});

test('keeps at most maxEntries lookups, so a flood of random keys cannot grow memory', async () => {
  const { store, auth, secret } = fixture();
  await auth.authenticate(bearer(secret));
  for (let i = 0; i < 5; i++) await auth.authenticate(bearer(generateClientKey().secret)).catch(() => undefined);
  const before = store.calls;
  await auth.authenticate(bearer(secret));
  expect(store.calls).toBe(before + 1);
});

test('an absent model list allows every model; a list allows only its models', () => {
  expect(keyAllowsModel(KEY, 'anything')).toBe(true);
  expect(keyAllowsModel({ ...KEY, models: ['a'] }, 'a')).toBe(true);
  expect(keyAllowsModel({ ...KEY, models: ['a'] }, 'b')).toBe(false);
});
