/**
 * Provider-side tools that hand the conversation to a URL the request names (Anthropic MCP servers
 * and web fetch, OpenAI Responses MCP tools) are refused with a 400 naming the tool unless the
 * provider's config lists it in allowServerTools; ordinary client-side tools and provider-hosted
 * web search pass, as do the recorded Claude Code and Codex requests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelay, type TestRelay } from '../../helpers/relay-builder';

let h: TestRelay;
beforeAll(async () => {
  h = await buildRelay({
    config: (url) => ({
      providers: {
        anthropic: { type: 'anthropic', baseUrl: url },
        'anthropic-mcp': { type: 'anthropic', baseUrl: url, allowServerTools: ['mcp'] },
        openai: { type: 'openai', baseUrl: `${url}/v1` },
        'openai-mcp': { type: 'openai', baseUrl: `${url}/v1`, allowServerTools: ['mcp'] },
      },
      models: {
        claude: { provider: 'anthropic' },
        'claude-mcp': { provider: 'anthropic-mcp', model: 'claude' },
        gpt: { provider: 'openai' },
        'gpt-mcp': { provider: 'openai-mcp', model: 'gpt' },
      },
    }),
  });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

const fixtures = join(__dirname, '../../fixtures/clients');
const mcpServer = { type: 'url', url: 'https://mcp.example.com/sse', name: 'example' };
const message = (model: string, extra: Record<string, unknown>) => JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], ...extra });
const responses = (model: string, tools: unknown[]) => JSON.stringify({ model, input: 'hi', tools });

test.each([
  ['Anthropic mcp_servers', '/v1/messages', message('claude', { mcp_servers: [mcpServer] }), 'mcp'],
  ['an Anthropic mcp_toolset tool', '/v1/messages', message('claude', { tools: [{ type: 'mcp_toolset', mcp_server_name: 'example' }] }), 'mcp'],
  ['Anthropic web fetch', '/v1/messages', message('claude', { tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }), 'web_fetch'],
  ['mcp_servers on count_tokens', '/v1/messages/count_tokens', message('claude', { mcp_servers: [mcpServer] }), 'mcp'],
  ['an OpenAI Responses tool of type mcp', '/v1/responses', responses('gpt', [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example.com' }]), 'mcp'],
  ['an OpenAI connector', '/v1/responses', responses('gpt', [{ type: 'mcp', server_label: 'drive', connector_id: 'connector_googledrive' }]), 'mcp'],
])('refuses %s with a 400 naming the tool, sending nothing upstream', async (_name, path, body, tool) => {
  const res = await h.call(path, { body });
  expect(res.status).toBe(400);
  const message = path.startsWith('/v1/messages') ? res.json.error.message : res.json.error.message;
  expect(message).toContain(`"${tool}"`);
  expect(message).toContain('allowServerTools');
  expect(h.upstream.received).toHaveLength(0);
  expect(await h.usageFor(res.requestId)).toMatchObject({ status: 400, errorCode: 'server_tool_not_allowed', outcome: 'client_error' });
});

test('a provider that lists the tool in allowServerTools gets the request as sent', async () => {
  expect((await h.call('/v1/messages', { body: message('claude-mcp', { mcp_servers: [mcpServer] }) })).status).toBe(200);
  expect(h.upstream.received[0].json?.mcp_servers).toEqual([mcpServer]);
  expect((await h.call('/v1/responses', { body: responses('gpt-mcp', [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example.com' }]) })).status).toBe(200);
  // Allowing mcp does not allow web fetch.
  expect((await h.call('/v1/messages', { body: message('claude-mcp', { tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }) })).status).toBe(400);
});

test('client-side tools and provider-hosted web search pass', async () => {
  const custom = { name: 'lookup', description: 'd', input_schema: { type: 'object', properties: {} } };
  expect((await h.call('/v1/messages', { body: message('claude', { tools: [custom, { type: 'web_search_20250305', name: 'web_search' }] }) })).status).toBe(200);
  expect((await h.call('/v1/responses', { body: responses('gpt', [{ type: 'function', name: 'f', parameters: {} }, { type: 'web_search' }]) })).status).toBe(200);
  expect(h.upstream.received).toHaveLength(2);
});

test('the recorded Claude Code and Codex requests pass unchanged', async () => {
  const claude = JSON.parse(readFileSync(join(fixtures, 'claude-code-2.1.197.json'), 'utf8'));
  const codex = JSON.parse(readFileSync(join(fixtures, 'codex-0.171.0.json'), 'utf8'));
  expect((await h.call('/v1/messages', { body: JSON.stringify({ ...claude.messages.body, model: 'claude' }) })).status).toBe(200);
  expect((await h.call('/v1/responses', { body: JSON.stringify({ ...codex.responses.body, model: 'gpt' }) })).status).toBe(200);
});

test('rejects an allowServerTools that is not a list of tool identifiers, naming the field', async () => {
  await expect(buildRelay({ config: (url) => ({ providers: { a: { type: 'anthropic', baseUrl: url, allowServerTools: 'mcp' } } }) })).rejects.toThrow(/providers\.a\.allowServerTools: expected a list/);
});
