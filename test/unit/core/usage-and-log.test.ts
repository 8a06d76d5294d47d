import { createLogger } from '../../../lambda/core/log';
import { buildUsageRecord, isUsageLive, USAGE_FIELDS } from '../../../lambda/core/usage';

test('a usage record has exactly the listed fields and expires 7 days after the request', () => {
  const startedAt = Date.parse('2026-11-29T12:00:00Z');
  const input = {
    keyId: 'key_1', requestId: 'req_1', startedAt, finishedAt: startedAt + 1234, model: 'm', provider: 'p', endpoint: 'responses' as const,
    inputTokens: 3, outputTokens: 4, cachedInputTokens: 2, cacheWriteTokens: 1, reasoningTokens: 3, usageSource: 'provider' as const, status: 200, outcome: 'ok' as const, streamed: true, completed: true,
    // Extra properties must not reach the record.
    prompt: 'secret text', ip: '10.0.0.1',
  };
  const record = buildUsageRecord(input);
  expect(Object.keys(record).every((k) => k in USAGE_FIELDS)).toBe(true);
  expect(record).toEqual({
    keyId: 'key_1', requestId: 'req_1', timestamp: '2026-11-29T12:00:00.000Z', model: 'm', provider: 'p', endpoint: 'responses', inputTokens: 3, outputTokens: 4,
    cachedInputTokens: 2, cacheWriteTokens: 1, reasoningTokens: 3, usageSource: 'provider', status: 200, outcome: 'ok', streamed: true, completed: true, latencyMs: 1234, expiresAt: startedAt / 1000 + 7 * 86_400,
  });
});

test('a record is live until its expiry and not after', () => {
  expect(isUsageLive({ expiresAt: 100 }, 99_999)).toBe(true);
  expect(isUsageLive({ expiresAt: 100 }, 100_000)).toBe(false);
});

test('the logger keeps only allowlisted fields', () => {
  const lines: string[] = [];
  const logger = createLogger((l) => lines.push(l), () => 0);
  logger.log('request', { requestId: 'req_1', status: 200, ...({ body: 'prompt text', authorization: 'Bearer mr-x', headers: { a: 1 } } as object) });
  expect(JSON.parse(lines[0])).toEqual({ time: '1970-01-01T00:00:00.000Z', event: 'request', requestId: 'req_1', status: 200 });
});

test('the logger redacts string values that are not ids, names or codes', () => {
  const lines: string[] = [];
  createLogger((l) => lines.push(l)).log('request', { model: 'tell me a secret', keyId: 'key_ok-1' });
  expect(JSON.parse(lines[0])).toMatchObject({ model: '[redacted]', keyId: 'key_ok-1' });
});

test('a record without the billing details says 0 for each, and names the endpoint "other" when none was matched', () => {
  const record = buildUsageRecord({ keyId: 'k', requestId: 'r', startedAt: 0, finishedAt: 1, usageSource: 'none', status: 404, outcome: 'client_error', streamed: false, completed: false });
  expect(record).toMatchObject({ endpoint: 'other', cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 });
});

test('the log allowlist is the usage schema plus the retry attempt, so the two cannot drift', () => {
  const { LOG_FIELDS } = require('../../../lambda/core/log') as typeof import('../../../lambda/core/log');
  expect([...LOG_FIELDS].sort()).toEqual([...Object.keys(USAGE_FIELDS), 'attempt'].sort());
});
