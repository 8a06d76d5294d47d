/**
 * Bedrock in local mode: the dev server reaches Bedrock with the developer's own AWS configuration
 * (here: keys and region in its environment, the stand-in as AWS_ENDPOINT_URL_BEDROCK_RUNTIME),
 * `providers set-key` refuses a bedrock provider (it uses IAM), `providers list` says so, and
 * `providers test` proves the route with one cheap call.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { BEDROCK_TEST_CREDENTIALS, BEDROCK_TEST_REGION, startBedrockFake, type BedrockFake } from '../../helpers/bedrock-fake';
import { cli } from '../../helpers/cli-runner';
import { startDevServerRelay, type DevServerRelay } from '../../helpers/relay-builder';

let bedrock: BedrockFake;
let h: DevServerRelay;
let target: string[];

beforeAll(async () => {
  bedrock = await startBedrockFake();
  h = await startDevServerRelay({
    // No region in the config: the developer's (AWS_REGION) is used.
    config: () => ({ providers: { bedrock: { type: 'bedrock' } }, models: { 'claude-bedrock': { provider: 'bedrock', model: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' } } }),
    env: {
      AWS_REGION: BEDROCK_TEST_REGION,
      AWS_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    },
  });
  target = ['--data-dir', h.dataDir, '--config', h.configPath];
});
afterAll(async () => {
  await h.close();
  await bedrock.close();
});

test('the dev server calls Bedrock with the developer\'s credentials and region, signed', async () => {
  const anthropic = new Anthropic({ apiKey: h.firstKey.secret, baseURL: h.url, maxRetries: 0 });
  const message = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 16, messages: [{ role: 'user', content: 'local-bedrock' }] });
  expect(message.content).toEqual([{ type: 'text', text: 'local-bedrock' }]);
  expect(bedrock.refused).toEqual([]);
  expect(bedrock.received.at(-1)).toMatchObject({ action: 'invoke', modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' });
});

test('the banner says a bedrock provider signs with the developer\'s AWS credentials, never to store a key', () => {
  const line = h.banner.find((l) => l.startsWith('  bedrock (bedrock,'));
  expect(line).toMatch(/: IAM: signed with the AWS credentials this dev server runs with .*; no key to store$/);
  expect(h.banner.join('\n')).not.toContain('providers set-key bedrock');
});

test('providers set-key on a bedrock provider exits 2 and says it uses IAM', async () => {
  const result = await cli(['providers', 'set-key', 'bedrock', '--from-env', 'X', ...target], { X: 'some-key' });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/IAM role/);
  expect(result.stdout).toBe('');
});

test('providers list shows the bedrock provider as using the IAM role, with no key', async () => {
  const result = await cli(['providers', 'list', ...target]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/bedrock\s+bedrock\s+\S+\s+IAM role/);
});

test('providers test proves the bedrock route with one one-token call through the relay', async () => {
  bedrock.reset();
  const result = await cli(['providers', 'test', 'bedrock', '--json', ...target]);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ provider: 'bedrock', model: 'claude-bedrock', ok: true, status: 200 });
  expect(bedrock.received).toHaveLength(1);
  expect(bedrock.received[0].json.inferenceConfig).toEqual({ maxTokens: 1 });
});

test('with no region anywhere but the developer\'s AWS config file, that region signs the call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mixroute-aws-config-'));
  writeFileSync(join(dir, 'config'), `[default]\nregion = ${BEDROCK_TEST_REGION}\n`);
  const saved = { file: process.env.AWS_CONFIG_FILE, region: process.env.AWS_REGION, defaultRegion: process.env.AWS_DEFAULT_REGION, profile: process.env.AWS_PROFILE };
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  delete process.env.AWS_PROFILE;
  const fromFile = await startDevServerRelay({
    config: () => ({ providers: { bedrock: { type: 'bedrock' } }, models: { 'claude-bedrock': { provider: 'bedrock', model: 'anthropic.claude-haiku-4-5-20251001-v1:0' } } }),
    env: { AWS_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url },
  });
  try {
    bedrock.reset();
    const anthropic = new Anthropic({ apiKey: fromFile.firstKey.secret, baseURL: fromFile.url, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 16, messages: [{ role: 'user', content: 'region-from-file' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'region-from-file' }]);
    expect(bedrock.received).toHaveLength(1);
    expect(bedrock.refused).toEqual([]);
  } finally {
    await fromFile.close();
    for (const [name, value] of Object.entries({ AWS_CONFIG_FILE: saved.file, AWS_REGION: saved.region, AWS_DEFAULT_REGION: saved.defaultRegion, AWS_PROFILE: saved.profile })) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
