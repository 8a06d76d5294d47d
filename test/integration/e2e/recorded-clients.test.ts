/**
 * Requests recorded from the real Claude Code (2.1.197) and Codex CLI (0.171.0), replayed through
 * the relay: headers and bodies as those programs send them (tools, thinking, context_management,
 * reasoning, include, prompt_cache_key...). The upstream must see what the client sent apart from
 * the key (the provider's instead), `model` rewrites and `store`; the client must get a stream it
 * can read, and each request leaves its exact usage record.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelay, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, type TestRelay } from '../../helpers/relay-builder';

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

const fixtures = join(__dirname, '../../fixtures/clients');
const claudeCode = JSON.parse(readFileSync(join(fixtures, 'claude-code-2.1.197.json'), 'utf8')) as { messages: Recorded; countTokens: Recorded[] };
const codex = JSON.parse(readFileSync(join(fixtures, 'codex-0.171.0.json'), 'utf8')) as { responses: Recorded };

let h: TestRelay;
beforeAll(async () => {
  h = await buildRelay({
    host: 'http',
    store: 'dynalite',
    config: (url) => ({
      providers: { anthropic: { type: 'anthropic', baseUrl: url }, openai: { type: 'openai', baseUrl: `${url}/v1` } },
      models: { 'claude-*': { provider: 'anthropic' }, 'gpt-5*': { provider: 'openai' } },
    }),
  });
});
afterAll(() => h.close());
beforeEach(() => h.upstream.reset());

/** Sends a recorded request as the client did, with this relay's key where the client put its key. */
async function replay(recorded: Recorded) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(recorded.headers)) {
    if (name === 'accept-encoding') continue; // fetch negotiates its own
    headers[name] = value.replace('RELAY_KEY', h.key.secret);
  }
  const body = JSON.stringify(recorded.body);
  const res = await fetch(h.url + recorded.path, { method: recorded.method, headers, body });
  return { status: res.status, text: await res.text(), requestId: res.headers.get('x-request-id') as string, body };
}

function events(text: string): { event?: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((e) => e.includes('data: '))
    .map((e) => ({ event: /^event: (.*)$/m.exec(e)?.[1], data: JSON.parse(/^data: (.*)$/m.exec(e)?.[1] as string) }));
}

test('the recordings are what the real programs send (the shapes this suite depends on)', () => {
  expect(claudeCode.messages.headers['user-agent']).toMatch(/^claude-cli\/2\.1\.197/);
  expect(Object.keys(claudeCode.messages.body)).toEqual(expect.arrayContaining(['model', 'messages', 'system', 'tools', 'thinking', 'context_management', 'max_tokens', 'stream']));
  expect((claudeCode.messages.body.tools as unknown[]).length).toBeGreaterThanOrEqual(20);
  expect(JSON.stringify(claudeCode.messages.body).length).toBeGreaterThan(70_000);
  expect(claudeCode.countTokens.length).toBe(2);
  expect(codex.responses.headers['user-agent']).toMatch(/^codex_exec\/0\.171\.0/);
  expect(Object.keys(codex.responses.body)).toEqual(expect.arrayContaining(['model', 'stream', 'input', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning', 'store', 'include', 'prompt_cache_key', 'client_metadata']));
  expect(new Set((codex.responses.body.tools as { type: string }[]).map((t) => t.type))).toEqual(new Set(['function', 'namespace', 'web_search']));
});

test('Claude Code\'s /v1/messages?beta=true request reaches the upstream as sent, with the provider key; the client gets the stream', async () => {
  const res = await replay(claudeCode.messages);
  expect(res.status).toBe(200);
  const received = events(res.text);
  expect(received[0].event).toBe('message_start');
  expect(received.at(-1)?.event).toBe('message_stop');
  expect(h.upstream.received).toHaveLength(1);
  const sent = h.upstream.received[0];
  expect(sent.path).toBe('/v1/messages');
  // The body is the client's own bytes: nothing needed rewriting.
  expect(sent.body).toBe(res.body);
  expect(sent.headers['anthropic-beta']).toBe(claudeCode.messages.headers['anthropic-beta']);
  expect(sent.headers['anthropic-version']).toBe(claudeCode.messages.headers['anthropic-version']);
  expect(sent.headers['x-api-key']).toBe(UPSTREAM_ANTHROPIC_KEY);
  expect(sent.headers.authorization).toBeUndefined();
  expect(JSON.stringify(sent.headers)).not.toContain(h.key.secret);
  // Client identifiers in headers stay with the relay.
  expect(sent.headers['x-claude-code-session-id']).toBeUndefined();
  expect(await h.usageFor(res.requestId)).toMatchObject({ endpoint: 'messages', model: claudeCode.messages.body.model, provider: 'anthropic', usageSource: 'provider', inputTokens: 13, outputTokens: 9, streamed: true, completed: true, outcome: 'ok' });
});

test('Claude Code\'s count_tokens calls (what /context sends) are answered by the provider and cost 0 tokens', async () => {
  for (const recorded of claudeCode.countTokens) {
    const res = await replay(recorded);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ input_tokens: 4321 });
    const sent = h.upstream.received.at(-1);
    expect(sent?.path).toBe('/v1/messages/count_tokens');
    expect(sent?.body).toBe(res.body);
    expect(sent?.headers['anthropic-beta']).toBe(recorded.headers['anthropic-beta']);
    expect(await h.usageFor(res.requestId)).toMatchObject({ endpoint: 'count_tokens', inputTokens: 0, outputTokens: 0, outcome: 'ok' });
  }
});

test('Codex\'s /v1/responses request reaches the upstream as sent (store already false), and the client gets typed events', async () => {
  const res = await replay(codex.responses);
  expect(res.status).toBe(200);
  const received = events(res.text);
  expect(received[0].event).toBe('response.created');
  expect(received.at(-1)?.event).toBe('response.completed');
  const sent = h.upstream.received[0];
  expect(sent.path).toBe('/v1/responses');
  expect(sent.body).toBe(res.body);
  expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
  expect(sent.headers.accept).toBe('text/event-stream');
  // Codex's own metadata headers (workspace paths, installation ids) are not passed to the provider.
  expect(Object.keys(sent.headers).filter((name) => name.startsWith('x-codex'))).toEqual([]);
  expect(await h.usageFor(res.requestId)).toMatchObject({ endpoint: 'responses', model: 'gpt-5-codex', inputTokens: 2000, cachedInputTokens: 1500, outputTokens: 40, reasoningTokens: 32, streamed: true, outcome: 'ok' });
});

test('a Codex request that leaves store unset or true is sent with store: false, everything else as the client sent it', async () => {
  const rest = Object.fromEntries(Object.entries(codex.responses.body).filter(([name]) => name !== 'store'));
  for (const body of [rest, { ...rest, store: true }]) {
    const res = await replay({ ...codex.responses, body });
    expect(res.status).toBe(200);
    const sent = h.upstream.received.at(-1)?.json as Record<string, unknown>;
    expect(sent).toEqual({ ...rest, store: false });
  }
});
