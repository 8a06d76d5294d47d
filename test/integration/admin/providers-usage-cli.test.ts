/** providers and usage commands against the running local relay and its embedded store. */
import { buildUsageRecord } from '../../../lambda/core/usage';
import { cli } from '../../helpers/cli-runner';
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';

let h: DevServerRelay;
let target: string[];

beforeAll(async () => {
  // No secret cache, so a removed key is gone at once (the default keeps it up to 5 minutes).
  h = await startDevServerRelay({ withoutProviderKeys: true, settings: { secretCacheTtlMs: 0 } });
  target = ['--data-dir', h.dataDir, '--config', `${h.dataDir}/mixroute.config.json`];
});
afterAll(() => h.close());

describe('providers', () => {
  test('set-key (from an environment variable) stores ciphertext and a fingerprint; list shows it, never the key', async () => {
    const set = await cli(['providers', 'set-key', 'openai', '--from-env', 'TEST_PROVIDER_KEY', '--json', ...target], { TEST_PROVIDER_KEY: 'sk-env-provider-777' });
    expect(set.code).toBe(0);
    expect(set.json()).toMatchObject({ provider: 'openai', fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) });
    const listed = await cli(['providers', 'list', '--json', ...target]);
    expect(listed.json()).toEqual(
      expect.arrayContaining([
        { name: 'openai', type: 'openai', baseUrl: `${h.upstream.url}/v1`, credential: 'stored-secret', endpoints: ['chat', 'embeddings', 'responses', 'responses_compact', 'stored_response'], fingerprint: set.json().fingerprint, updatedAt: expect.any(String) },
        { name: 'anthropic', type: 'anthropic', baseUrl: h.upstream.url, credential: 'stored-secret', endpoints: ['messages', 'count_tokens'], fingerprint: null, updatedAt: null },
      ]),
    );
    const table = await cli(['providers', 'list', ...target]);
    expect(table.stdout).toMatch(/^name\s+type\s+baseUrl\s+fingerprint\s+set/);
    expect(table.stdout).toContain('no key');
    expect(table.stdout + listed.stdout + (await h.dumpTables())).not.toContain('sk-env-provider-777');
  });

  test('test proves the stored key works with one request through the relay, then revokes its throw-away key', async () => {
    const before = (await h.server.stores.keys.listKeys()).length;
    const result = await cli(['providers', 'test', 'openai', '--json', ...target]);
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', ok: true, status: 200 });
    const sent = h.upstream.received.at(-1);
    expect(sent?.headers.authorization).toBe('Bearer sk-env-provider-777');
    expect(sent?.json).toMatchObject({ max_tokens: 1 });
    const keys = await h.server.stores.keys.listKeys();
    expect(keys).toHaveLength(before + 1);
    expect(keys.at(-1)).toMatchObject({ status: 'revoked', name: 'providers-test-openai', models: ['gpt-4o-mini'] });
  });

  test('test reports a rejected key with exit 1 and says what to do', async () => {
    h.upstream.respondWith((_req, res) => void res.writeHead(401).end());
    try {
      const result = await cli(['providers', 'test', 'openai', ...target]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/FAILED: .*HTTP 502 upstream_auth_failed: the provider rejected the stored key; set a new one/);
    } finally {
      h.upstream.reset();
    }
  });

  test('remove deletes the stored key; then requests get 503 and test fails; removing again exits 1', async () => {
    expect((await cli(['providers', 'remove', 'openai', ...target])).code).toBe(0);
    const failed = await cli(['providers', 'test', 'openai', '--json', ...target]);
    expect(failed.code).toBe(1);
    expect(failed.json()).toMatchObject({ ok: false, status: 503, code: 'provider_credential_missing' });
    const again = await cli(['providers', 'remove', 'openai', ...target]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no key is stored for provider "openai"/);
  });

  test('rejects unknown providers and missing names as usage errors; every command has --help', async () => {
    expect((await cli(['providers', 'set-key', 'nope', '--from-env', 'X', ...target], { X: 'y' })).code).toBe(2);
    expect((await cli(['providers', 'test', ...target])).code).toBe(2);
    for (const sub of ['set-key', 'list', 'remove', 'test']) {
      const result = await cli(['providers', sub, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Examples:/);
    }
  });
});

describe('usage', () => {
  beforeAll(async () => {
    const now = Date.now();
    const record = (keyId: string, model: string, minutesAgo: number, latencyMs: number, outcome: 'ok' | 'upstream_error' = 'ok') =>
      buildUsageRecord({
        keyId, requestId: `req_${keyId}_${minutesAgo}_${latencyMs}`, startedAt: now - minutesAgo * 60_000, finishedAt: now - minutesAgo * 60_000 + latencyMs,
        model, provider: 'openai', inputTokens: 10, outputTokens: 5, cachedInputTokens: 4, cacheWriteTokens: 2, reasoningTokens: 3, usageSource: 'provider', status: outcome === 'ok' ? 200 : 502, outcome, streamed: false, completed: true,
      });
    const records = [
      ...Array.from({ length: 100 }, (_, i) => record('key_usage_a', 'gpt-4o-mini', 10, i + 1)),
      record('key_usage_b', 'fast', 30, 50, 'upstream_error'),
      record('key_usage_b', 'fast', 60 * 30, 70), // 30 hours ago: outside --since 24h
      record('key_usage_c', 'fast', 60 * 24 * 8, 70), // 8 days ago: expired, never shown
    ];
    for (const r of records) await h.server.stores.usage.put(r);
  });

  const rowsFor = (json: any, group: string) => json.rows.find((r: any) => r.key === group || r.model === group);

  test('--json per key: requests, tokens, errors and p50/p99 latency over the last 24 h', async () => {
    const result = await cli(['usage', '--json', ...target]);
    expect(result.code).toBe(0);
    const json = result.json();
    expect(json.by).toBe('key');
    expect(rowsFor(json, 'key_usage_a')).toEqual({ key: 'key_usage_a', requests: 100, inputTokens: 1000, outputTokens: 500, cachedInputTokens: 400, cacheWriteTokens: 200, reasoningTokens: 300, errors: 0, estimated: 0, p50LatencyMs: 50, p99LatencyMs: 99 });
    expect(rowsFor(json, 'key_usage_b')).toMatchObject({ requests: 1, errors: 1 });
    expect(rowsFor(json, 'key_usage_c')).toBeUndefined();
  });

  test('--since 7d --by model includes older records but never expired ones', async () => {
    const json = (await cli(['usage', '--since', '7d', '--by', 'model', '--json', ...target])).json();
    expect(rowsFor(json, 'fast')).toMatchObject({ requests: 2, errors: 1 });
    expect(rowsFor(json, 'gpt-4o-mini')).toMatchObject({ requests: expect.any(Number) });
    expect(json.rows.at(-1).model).toBe('(total)');
  });

  test('--csv prints a header and one line per group; the table form lines up', async () => {
    const csv = await cli(['usage', '--csv', '--by', 'model', ...target]);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('model,requests,inputTokens,outputTokens,errors,estimated,p50LatencyMs,p99LatencyMs,cachedInputTokens,cacheWriteTokens,reasoningTokens');
    expect(lines.some((l) => l.startsWith('gpt-4o-mini,'))).toBe(true);
    const table = await cli(['usage', ...target]);
    expect(table.stdout).toMatch(/^key\s+requests\s+inputTokens/);
  });

  test('refuses more than the 7-day retention and unknown groupings (exit 2)', async () => {
    const tooLong = await cli(['usage', '--since', '8d', ...target]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('usage is kept 7 days');
    expect((await cli(['usage', '--by', 'ip', ...target])).code).toBe(2);
    expect((await cli(['usage', '--csv', '--json', ...target])).code).toBe(2);
  });
});
