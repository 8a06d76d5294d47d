import { ConfigError, DEFAULT_SETTINGS, parseRelayConfig as parseWith, parseRelayConfigText as parseTextWith, type RelayMode } from '../../../lambda/core/config';
import { PROVIDERS } from '../../../lambda/providers/registry';
import { findRoute } from '../../../lambda/core/routing';

const parseRelayConfig = (raw: unknown, mode: RelayMode) => parseWith(raw, mode, PROVIDERS);
const parseRelayConfigText = (text: string, mode: RelayMode, source: string) => parseTextWith(text, mode, source, PROVIDERS);

const valid = {
  providers: { openai: { type: 'openai', baseUrl: 'https://api.openai.com/v1/' } },
  models: { 'gpt-4o-mini': { provider: 'openai' }, fast: { provider: 'openai', model: 'gpt-4o-mini' } },
};

function problems(raw: unknown, mode: 'local' | 'lambda' = 'local'): string[] {
  try {
    parseRelayConfig(raw, mode);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('parses the example shape, normalising base URLs and defaulting the upstream model', () => {
  const config = parseRelayConfig(valid, 'lambda');
  expect(config.providers.get('openai')?.baseUrl).toBe('https://api.openai.com/v1');
  expect(config.models.get('gpt-4o-mini')?.candidates).toEqual([{ provider: 'openai', model: 'gpt-4o-mini', priority: 0, weight: 1 }]);
  expect(config.models.get('fast')).toEqual({ name: 'fast', provider: 'openai', endpoints: ['chat', 'embeddings', 'responses', 'responses_compact', 'stored_response'], candidates: [{ provider: 'openai', model: 'gpt-4o-mini', priority: 0, weight: 1 }] });
  expect(config.settings).toEqual(DEFAULT_SETTINGS);
});

test('an empty config is valid: the relay starts with no providers', () => {
  expect(parseRelayConfig({}, 'local').providers.size).toBe(0);
});

test('rejects each bad field by name and says what is expected', () => {
  const found = problems({
    providers: { p: { type: 'gemini', baseUrl: 'https://x.example' }, r: { type: 'anthropic', baseUrl: 'ftp://x' }, q: { type: 'openai' } },
    models: { m: { provider: 'nope' } },
    settings: { keyCacheTtlMs: 600_000 },
    extra: 1,
  });
  expect(found).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^providers\.p\.type: expected one of openai, anthropic, azure-openai, bedrock, got "gemini"/),
      expect.stringMatching(/^providers\.r\.baseUrl: expected an https URL/),
      expect.stringMatching(/^providers\.q\.baseUrl: expected a URL string/),
      expect.stringMatching(/^models\.m\.provider: expected the name of a configured provider/),
      expect.stringMatching(/^settings\.keyCacheTtlMs: expected an integer from 0 to 30000/),
      expect.stringMatching(/^\(top level\)\.extra: unknown field/),
    ]),
  );
});

test('allows plain http only for loopback addresses and only in local mode', () => {
  const http = (url: string) => ({ providers: { p: { type: 'openai', baseUrl: url } } });
  expect(problems(http('http://127.0.0.1:9000/v1'))).toEqual([]);
  expect(problems(http('http://localhost:9000/v1'))).toEqual([]);
  expect(problems(http('http://[::1]:9000/v1'))).toEqual([]);
  expect(problems(http('http://example.com/v1'))).toEqual([expect.stringContaining('expected https')]);
  expect(problems(http('http://127.0.0.1:9000/v1'), 'lambda')).toEqual([expect.stringContaining('expected https')]);
});

test('refuses metadata, link-local and unspecified hosts, whatever their spelling', () => {
  for (const url of [
    'https://169.254.169.254/latest',
    'https://[::ffff:169.254.169.254]/',
    'https://[::ffff:a9fe:a9fe]/',
    'https://0.0.0.0/',
    'https://[::]/',
    'https://[fe80::1]/',
    'https://[fd00:ec2::254]/',
    'https://2852039166/',
    'https://metadata.google.internal/',
  ]) {
    const found = problems({ providers: { p: { type: 'openai', baseUrl: url } } });
    expect({ url, found }).toEqual({ url, found: [expect.stringMatching(/link-local|unspecified|metadata/)] });
  }
});

test('refuses credentials or a query in a base URL', () => {
  expect(problems({ providers: { p: { type: 'openai', baseUrl: 'https://u:p@api.example.com/v1' } } })).toEqual([expect.stringContaining('credentials')]);
  expect(problems({ providers: { p: { type: 'openai', baseUrl: 'https://api.example.com/v1?x=1' } } })).toEqual([expect.stringContaining('query')]);
});

test('refuses apiKeyEnv in Lambda, where provider keys must be KMS-encrypted', () => {
  const raw = { providers: { p: { type: 'openai', baseUrl: 'https://api.example.com/v1', apiKeyEnv: 'OPENAI_API_KEY' } } };
  expect(problems(raw, 'local')).toEqual([]);
  expect(problems(raw, 'lambda')).toEqual([expect.stringMatching(/^providers\.p\.apiKeyEnv: only allowed in local mode/)]);
});

test('reports invalid JSON with its source', () => {
  expect(() => parseRelayConfigText('{nope', 'local', 'mixroute.config.json')).toThrow(/mixroute.config.json: not valid JSON/);
});

test('the committed example config is valid', () => {
  const text = require('node:fs').readFileSync(require('node:path').join(__dirname, '../../../mixroute.config.example.json'), 'utf8');
  const config = parseRelayConfigText(text, 'local', 'example');
  expect(config.models.size).toBeGreaterThan(0);
  // Claude Code's and Codex's own default model names are served with it as it is.
  for (const model of ['claude-opus-4-8', 'claude-haiku-4-5-20251001', 'gpt-5-codex']) expect({ model, route: findRoute(config, model)?.name }).toEqual({ model, route: expect.any(String) });
});
