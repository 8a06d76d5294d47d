/**
 * The `mixroute` command as a user runs it (a child process through bin/mixroute-cli.js): the dev
 * server (`npm start`), keys create, providers set-key, against a dev server on a data dir.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServerRelay, testConfig, type DevServerRelay } from '../../helpers/relay-builder';

const ROOT = join(__dirname, '../../..');
const CLI = join(ROOT, 'bin/mixroute-cli.js');

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('admin commands against a running dev server', () => {
  let h: DevServerRelay;
  let configPath: string;
  beforeAll(async () => {
    h = await startDevServerRelay({ withoutProviderKeys: true });
    configPath = join(h.dataDir, 'mixroute.config.json');
  });
  afterAll(() => h.close());

  test('keys create --json prints the key once; the key works, limited to its models', async () => {
    const result = await run(['keys', 'create', '--name', 'alice', '--models', 'fast', '--json', '--data-dir', h.dataDir]);
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(created).toMatchObject({ id: expect.stringMatching(/^key_/), key: expect.stringMatching(/^mr-/), name: 'alice', models: ['fast'] });
    const models = await fetch(`${h.url}/v1/models`, { headers: { authorization: `Bearer ${created.key}` } });
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(["fast"]);
    const stored = await h.dumpTables();
    expect(stored).not.toContain(created.key);
  });

  test('keys create without --json prints the secret with a warning that it is shown once', async () => {
    const result = await run(['keys', 'create', '--name', 'bob', '--data-dir', h.dataDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/only time the secret is shown/);
    expect(result.stdout).toMatch(/mr-[A-Za-z0-9_-]{43}/);
  });

  test('providers set-key reads the secret from stdin; the relay then uses it upstream', async () => {
    const result = await run(['providers', 'set-key', 'openai', '--data-dir', h.dataDir, '--config', configPath], 'sk-from-stdin-123\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('sha256:');
    expect(result.stdout + result.stderr).not.toContain('sk-from-stdin-123');
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.firstKey.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [] }),
    });
    expect(res.status).toBe(200);
    expect(h.upstream.received.at(-1)?.headers.authorization).toBe('Bearer sk-from-stdin-123');
    expect(await h.dumpTables()).not.toContain('sk-from-stdin-123');
  });

  test('a command given only --data-dir uses the config the dev server runs with', async () => {
    // The server was started with --config <data dir>/mixroute.config.json; the CLI runs elsewhere, with no --config.
    const result = await run(['providers', 'set-key', 'anthropic', '--data-dir', h.dataDir], 'sk-ant-from-stdin\n');
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.not.stringContaining('not configured') });
    const listed = JSON.parse((await run(['providers', 'list', '--json', '--data-dir', h.dataDir])).stdout);
    expect(listed.map((p: { name: string }) => p.name).sort()).toEqual(['anthropic', 'openai']);
  });

  test('rejects a secret given on the command line without echoing it (exit 2)', async () => {
    const result = await run(['providers', 'set-key', 'openai', 'sk-on-argv-999', '--data-dir', h.dataDir, '--config', configPath]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('never from the command line');
    expect(result.stdout + result.stderr).not.toContain('sk-on-argv-999');
  });

  test('rejects an unknown provider and a missing --name as usage errors (exit 2)', async () => {
    expect((await run(['providers', 'set-key', 'nope', '--data-dir', h.dataDir, '--config', configPath], 'x')).code).toBe(2);
    const missing = await run(['keys', 'create', '--data-dir', h.dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--name is required');
  });
});

test('keys create says what to do when no dev server runs on the data dir (exit 1)', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'mixroute-none-'));
  try {
    const result = await run(['keys', 'create', '--name', 'x', '--data-dir', empty]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no dev server is running on data dir .*npm start/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('every command has --help with examples (exit 0)', async () => {
  for (const args of [['--help'], ['dev', '--help'], ['keys', 'create', '--help'], ['providers', 'set-key', '--help']]) {
    const result = await run(args);
    expect({ args, code: result.code }).toEqual({ args, code: 0 });
    expect(result.stdout).toMatch(/Examples?:/);
  }
});

describe('mixroute dev (what npm start runs)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mixroute-dev-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  function startDev(configPath: string): Promise<{ banner: string; stdout: () => string; stop: () => Promise<number> }> {
    const child = spawn(process.execPath, [CLI, 'dev', '--port', '0', '--data-dir', dataDir, '--config', configPath], { cwd: ROOT });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    return new Promise((resolve, reject) => {
      // The banner (and the first key) is for the terminal: stderr. stdout carries the JSON log only.
      child.stderr.on('data', (c) => {
        out += c;
        if (out.includes('\n\n') && /(No provider|Models:)/.test(out)) {
          resolve({
            banner: out,
            stdout: () => stdout,
            stop: () =>
              new Promise((done) => {
                child.once('exit', (code) => done(code ?? 1));
                child.kill('SIGTERM');
              }),
          });
        }
      });
      child.once('exit', (code) => reject(new Error(`dev exited early (${code}): ${out}`)));
    });
  }

  test('first start prints one client key; a restart on the same data dir keeps it and prints none', async () => {
    const first = await startDev(join(dataDir, 'missing.json'));
    expect(first.banner).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(first.banner).toMatch(/No provider is configured yet/);
    const key = first.banner.match(/mr-[A-Za-z0-9_-]{43}/)?.[0] as string;
    expect(key).toBeDefined();
    expect(first.stdout()).not.toContain(key);
    expect(await first.stop()).toBe(0);

    const configPath = join(dataDir, 'mixroute.config.json');
    writeFileSync(configPath, JSON.stringify(testConfig('http://127.0.0.1:9')));
    const second = await startDev(configPath);
    expect(second.banner).not.toMatch(/mr-[A-Za-z0-9_-]{43}/);
    expect(second.banner).toMatch(/openai \(openai, http:\/\/127\.0\.0\.1:9\/v1\): no key yet/);
    const url = second.banner.match(/listening on (\S+)/)?.[1] as string;
    const models = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
    expect(await second.stop()).toBe(0);
  }, 60_000);

  test('refuses an invalid config, naming the bad field (exit 1)', async () => {
    const bad = join(dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ providers: { p: { type: 'openai', baseUrl: 'http://example.com' } } }));
    const result = await run(['dev', '--port', '0', '--data-dir', dataDir, '--config', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('providers.p.baseUrl: expected https');
  });
});
