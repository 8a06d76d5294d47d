import { parseRelayConfig as parseWith, type RelayMode } from '../../../lambda/core/config';
import { matchEndpoint } from '../../../lambda/core/endpoints';
import { orderCandidates } from '../../../lambda/core/routing';
import { PROVIDERS } from '../../../lambda/providers/registry';

const parseRelayConfig = (raw: unknown, mode: RelayMode) => parseWith(raw, mode, PROVIDERS);

const candidate = (provider: string, priority: number, weight = 1) => ({ provider, model: 'm', priority, weight });

test('tries candidates by priority, lowest first', () => {
  const ordered = orderCandidates([candidate('c', 2), candidate('a', 0), candidate('b', 1)], () => 0.5);
  expect(ordered.map((c) => c.provider)).toEqual(['a', 'b', 'c']);
});

test('splits traffic among candidates of one priority by weight', () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const firsts: Record<string, number> = { heavy: 0, light: 0 };
  for (let i = 0; i < 4000; i++) firsts[orderCandidates([candidate('heavy', 0, 3), candidate('light', 0, 1), candidate('fallback', 1)], random)[0].provider]++;
  expect(firsts.heavy / 4000).toBeGreaterThan(0.7);
  expect(firsts.heavy / 4000).toBeLessThan(0.8);
  // The lower priority always comes last, whatever the weights.
  expect(orderCandidates([candidate('heavy', 0, 3), candidate('light', 0, 1), candidate('fallback', 1)], random).at(-1)?.provider).toBe('fallback');
});

test('parses candidate lists, defaulting priority to list order and refusing candidates that serve no endpoint in common', () => {
  const providers = { a: { type: 'openai', baseUrl: 'https://a.example/v1' }, b: { type: 'openai', baseUrl: 'https://b.example/v1' }, c: { type: 'anthropic', baseUrl: 'https://c.example' } };
  const config = parseRelayConfig({ providers, models: { m: { candidates: [{ provider: 'a' }, { provider: 'b', model: 'other', weight: 2 }] } } }, 'lambda');
  expect(config.models.get('m')?.candidates).toEqual([
    { provider: 'a', model: 'm', priority: 0, weight: 1 },
    { provider: 'b', model: 'other', priority: 1, weight: 2 },
  ]);
  expect(() => parseRelayConfig({ providers, models: { m: { candidates: [{ provider: 'a' }, { provider: 'c' }] } } }, 'lambda')).toThrow(/models\.m: the candidates serve no client endpoint in common.*a \(chat, embeddings, responses, responses_compact, stored_response\), c \(messages, count_tokens\)/);
  expect(() => parseRelayConfig({ providers, models: { m: { candidates: [] } } }, 'lambda')).toThrow(/models\.m\.candidates: expected a list of 1 to 10/);
  expect(() => parseRelayConfig({ providers, models: { m: { candidates: [{ provider: 'a', weight: 0 }] } } }, 'lambda')).toThrow(/candidates\[0\]\.weight/);
});

test('matches paths exactly (a trailing slash allowed) and answers 404/405 otherwise', () => {
  expect(matchEndpoint('POST', '/v1/chat/completions/').name).toBe('chat');
  expect(() => matchEndpoint('GET', '/v1/messages')).toThrow(expect.objectContaining({ status: 405, headers: { allow: 'POST' } }));
  expect(() => matchEndpoint('POST', '/v1/completions')).toThrow(expect.objectContaining({ status: 404 }));
  expect(matchEndpoint('GET', '/v1/privacy')).toMatchObject({ name: 'privacy', authenticated: false });
});
