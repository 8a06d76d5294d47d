/**
 * Every keys command against the running local relay (dev server, embedded store), as a user runs
 * it, plus the rotation guarantees: overlap during the grace period, no failure at the switch.
 */
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';
import { cli } from '../../helpers/cli-runner';

let h: DevServerRelay;
let target: string[];

beforeAll(async () => {
  // A key-cache TTL of 0 makes the relay see every change at once (the default is 30 s).
  h = await startDevServerRelay({ settings: { keyCacheTtlMs: 0 } });
  target = ['--data-dir', h.dataDir, '--config', `${h.dataDir}/mixroute.config.json`];
});
afterAll(() => h.close());

async function chat(secret: string, model = 'gpt-4o-mini'): Promise<number> {
  const res = await fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

test('keys create --json prints the key once with its settings and limits', async () => {
  const result = await cli(['keys', 'create', '--name', 'limited', '--models', 'fast,gpt-4o-mini', '--expires', '30d', '--rpm', '60', '--tokens-per-day', '1000', '--json', ...target]);
  expect(result.code).toBe(0);
  const created = result.json();
  expect(created).toMatchObject({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^mr-/), name: 'limited', models: ['fast', 'gpt-4o-mini'], limits: { requestsPerMinute: 60, tokensPerDay: 1000 }, status: 'active' });
  expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  expect(await chat(created.key)).toBe(200);
});

test('keys list shows id, name, prefix, status, dates, models and limits, never a secret or hash', async () => {
  const { key, id } = (await cli(['keys', 'create', '--name', 'listed', '--json', ...target])).json();
  const table = await cli(['keys', 'list', ...target]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^id\s+name\s+prefix\s+status\s+created\s+expires\s+models\s+limits/);
  expect(table.stdout).toContain(id);
  expect(table.stdout).toContain(`${key.slice(0, 7)}…`);
  const listed = (await cli(['keys', 'list', '--json', ...target])).json();
  const entry = listed.find((k: { id: string }) => k.id === id);
  expect(Object.keys(entry).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'limits', 'models', 'name', 'prefix', 'rotatedAt', 'status']);
  const everything = table.stdout + JSON.stringify(listed);
  expect(everything).not.toContain(key);
  expect(everything).not.toMatch(/[0-9a-f]{64}/);
});

test('keys show prints one key; an unknown id fails with exit 1 and says how to find ids', async () => {
  const { id } = (await cli(['keys', 'create', '--name', 'shown', '--json', ...target])).json();
  const shown = await cli(['keys', 'show', id, '--json', ...target]);
  expect(shown.json()).toMatchObject({ id, name: 'shown', workingSecrets: 1 });
  const missing = await cli(['keys', 'show', 'key_doesnotexist', ...target]);
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim().split('\n')).toEqual(['mixroute: unknown key id "key_doesnotexist" (list them with `mixroute keys list`)']);
});

test('keys revoke: the relay refuses the key (within the cache TTL, here 0)', async () => {
  const { id, key } = (await cli(['keys', 'create', '--name', 'revoked', '--json', ...target])).json();
  expect(await chat(key)).toBe(200);
  const result = await cli(['keys', 'revoke', id, ...target]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/within 30 seconds/);
  expect(await chat(key)).toBe(401);
  expect((await cli(['keys', 'show', id, '--json', ...target])).json().status).toBe('revoked');
  expect((await cli(['keys', 'rotate', id, ...target])).code).toBe(2);
});

test('keys update changes models, expiry and limits; "none"/"all"/"never" clear them', async () => {
  const { id, key } = (await cli(['keys', 'create', '--name', 'upd', '--models', 'fast', '--rpm', '10', '--json', ...target])).json();
  expect(await chat(key, 'gpt-4o-mini')).toBe(403);
  const updated = await cli(['keys', 'update', id, '--models', 'gpt-4o-mini', '--tokens-per-month', '5000', '--name', 'renamed', '--json', ...target]);
  expect(updated.json()).toMatchObject({ name: 'renamed', models: ['gpt-4o-mini'], limits: { requestsPerMinute: 10, tokensPerMonth: 5000 } });
  expect(await chat(key, 'gpt-4o-mini')).toBe(200);
  const cleared = await cli(['keys', 'update', id, '--models', 'all', '--rpm', 'none', '--tokens-per-month', 'none', '--expires', 'never', '--json', ...target]);
  expect(cleared.json()).toMatchObject({ models: null, limits: null, expiresAt: null });
  const past = await cli(['keys', 'update', id, '--expires', '2020-01-01T00:00:00Z', ...target]);
  expect(past.code).toBe(2);
  expect((await cli(['keys', 'update', id, ...target])).code).toBe(2);
});

test('keys rotate: the new key works at once, the old one through the grace period (no request fails at the switch), then stops', async () => {
  const { id, key: oldKey } = (await cli(['keys', 'create', '--name', 'rotating', '--json', ...target])).json();
  // A client keeps calling with the old key while the rotation happens.
  let calling = true;
  const statusesDuringSwitch: number[] = [];
  const caller = (async () => {
    while (calling) statusesDuringSwitch.push(await chat(oldKey));
  })();
  await new Promise((r) => setTimeout(r, 100));
  const rotated = await cli(['keys', 'rotate', id, '--grace', '3s', '--json', ...target]);
  expect(rotated.code).toBe(0);
  const { key: newKey, previousSecretsEndAt } = rotated.json();
  expect(newKey).not.toBe(oldKey);
  expect(rotated.json().id).toBe(id);
  expect(await chat(newKey)).toBe(200);
  await new Promise((r) => setTimeout(r, 200));
  calling = false;
  await caller;
  expect(statusesDuringSwitch.length).toBeGreaterThan(3);
  expect(statusesDuringSwitch.every((s) => s === 200)).toBe(true);
  expect((await cli(['keys', 'show', id, '--json', ...target])).json()).toMatchObject({ workingSecrets: 2, secretsEnding: [previousSecretsEndAt] });
  expect(await chat(oldKey)).toBe(200);

  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(previousSecretsEndAt) - Date.now() + 100)));
  expect(await chat(oldKey)).toBe(401);
  expect(await chat(newKey)).toBe(200);
  expect((await cli(['keys', 'show', id, '--json', ...target])).json().workingSecrets).toBe(1);
  // Usage of both secrets lands on the same key id.
  const ids = new Set((await h.usageItems()).filter((i) => i.keyId === id).map((i) => i.keyId));
  expect([...ids]).toEqual([id]);
}, 20_000);

test('usage errors: wrong flags exit 2 with the command\'s help hint', async () => {
  const bad = await cli(['keys', 'create', '--name', 'x', '--rpm', 'lots', ...target]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--rpm: expected a positive whole number');
  expect(bad.stderr).toContain('mixroute keys create --help');
  expect((await cli(['keys', 'frobnicate'])).code).toBe(2);
  expect((await cli(['keys', 'list', '--nope'])).code).toBe(2);
  expect((await cli(['keys', 'rotate', ...target])).code).toBe(2);
});

test('every keys command has --help with examples', async () => {
  for (const sub of ['create', 'list', 'show', 'rotate', 'revoke', 'update']) {
    const result = await cli(['keys', sub, '--help']);
    expect({ sub, code: result.code }).toEqual({ sub, code: 0 });
    expect(result.stdout).toMatch(/Examples:\n\s+npx mixroute keys/);
  }
});
