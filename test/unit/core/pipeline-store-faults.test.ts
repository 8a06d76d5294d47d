/**
 * The relay with injected store faults: a key store that cannot be read fails closed (503), a
 * usage store that stays down leaves the content-free record in the log and counts it in a metric.
 */
import { composeRelay } from '../../../lambda/hosts/shared/compose';
import { generateClientKey } from '../../../lambda/core/auth';
import { parseRelayConfig } from '../../../lambda/core/config';
import { PROVIDERS } from '../../../lambda/providers/registry';
import { createLogger } from '../../../lambda/core/log';
import type { ClientKey, KeyStore, SecretCipher, SecretStore, UsageStore } from '../../../lambda/core/ports';
import type { UsageRecord } from '../../../lambda/core/usage';

const KEY: ClientKey = { id: 'key_f', name: 'f', status: 'active', createdAt: '2026-01-01T00:00:00Z', prefix: 'mr-xxxx' };
const generated = generateClientKey('key_f');

function setup(options: { keysDown?: boolean; usageDown?: boolean }) {
  const lines: string[] = [];
  const events: string[] = [];
  const keys: KeyStore = {
    async findByHash(hash) {
      if (options.keysDown) throw new Error('DynamoDB unavailable');
      return hash === generated.hash ? { key: KEY } : undefined;
    },
  };
  const usage: UsageStore & { attempts: number } = {
    attempts: 0,
    async put() {
      usage.attempts++;
      if (options.usageDown) throw new Error('ProvisionedThroughputExceeded');
    },
  };
  const secrets: SecretStore = { getProviderSecret: async () => undefined };
  const cipher: SecretCipher = { encrypt: async (p) => p, decrypt: async (c) => c };
  const relay = composeRelay({
    config: parseRelayConfig({ providers: { p: { type: 'openai', baseUrl: 'https://api.example.com/v1' } }, models: { m: { provider: 'p' } } }, 'lambda', PROVIDERS),
    keys,
    usage,
    secrets,
    cipher,
    logger: createLogger((l) => lines.push(l)),
    metrics: {
      authFailed: (reason) => events.push(`auth:${reason}`),
      usageWriteFailed: (r: UsageRecord) => events.push(`usage:${r.requestId}`),
    },
    usageRetryDelaysMs: [1, 1],
  });
  const background: Promise<unknown>[] = [];
  const call = async (key: string) => {
    const response = await relay.handle({ method: 'GET', path: '/v1/models', query: '', headers: { authorization: `Bearer ${key}` } }, { waitUntil: (p) => background.push(p) });
    await Promise.all(background);
    return response;
  };
  return { lines, events, usage, call };
}

test('a key store that cannot be read fails closed with 503 and Retry-After, and is counted', async () => {
  const { call, events } = setup({ keysDown: true });
  const response = await call(generated.secret);
  expect(response.status).toBe(503);
  expect(response.headers['retry-after']).toBe('1');
  expect(events).toEqual(['auth:store']);
});

test('an unknown key is counted as an authentication failure', async () => {
  const { call, events } = setup({});
  expect((await call(generateClientKey().secret)).status).toBe(401);
  expect(events).toEqual(['auth:unknown']);
});

test('a usage write that keeps failing is retried, then logged content-free and counted, not lost', async () => {
  const { call, events, lines, usage } = setup({ usageDown: true });
  const response = await call(generated.secret);
  expect(response.status).toBe(200);
  expect(usage.attempts).toBe(3);
  const failed = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'usage_write_failed');
  expect(failed).toMatchObject({ keyId: 'key_f', requestId: response.headers['x-request-id'], status: 200, outcome: 'ok', expiresAt: expect.any(Number) });
  expect(events).toEqual([`usage:${response.headers['x-request-id']}`]);
});

test('a counter store that fails refuses a limited key (503, Retry-After, fail closed), counts it and logs it', async () => {
  const { LimitEnforcer } = await import('../../../lambda/core/limits');
  const lines: string[] = [];
  let failures = 0;
  const down = async () => Promise.reject(new Error('down'));
  const enforcer = new LimitEnforcer(
    { add: down, read: down, addIfBelow: down, acquireSlot: down },
    { now: () => Date.now() },
    createLogger((l) => lines.push(l)),
    { metrics: { limitCheckFailed: () => failures++ } },
  );
  const error = await enforcer.admit({ ...KEY, limits: { requestsPerMinute: 1, tokensPerDay: 1 } }, 'req_x', {}).catch((e) => e);
  expect(error).toMatchObject({ status: 503, code: 'limit_store_unavailable', headers: { 'retry-after': '2' } });
  expect(JSON.parse(lines[0])).toMatchObject({ event: 'limit_check_failed', keyId: 'key_f', requestId: 'req_x' });
  expect(failures).toBe(1);
  // A key without limits never touches the counters.
  await expect(enforcer.admit(KEY, 'req_y', {})).resolves.toBeUndefined();
  expect(failures).toBe(1);
});
