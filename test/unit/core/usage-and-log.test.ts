import { createLogger } from '../../../lambda/core/log';
import { buildUsageRecord, isUsageLive, USAGE_FIELDS } from '../../../lambda/core/usage';

test('a usage record has exactly the listed fields and expires 7 days after the request', () => {
  const startedAt = Date.parse('2026-11-29T12:00:00Z');
  const input = {
    keyId: 'key_1', requestId: 'req_1', startedAt, finishedAt: startedAt + 1234, model: 'm', provider: 'p',
    inputTokens: 3, outputTokens: 4, usageSource: 'provider' as const, status: 200, outcome: 'ok' as const, streamed: true, completed: true,
    // Extra properties must not reach the record.
    prompt: 'secret text', ip: '10.0.0.1',
  };
  const record = buildUsageRecord(input);
  expect(Object.keys(record).every((k) => k in USAGE_FIELDS)).toBe(true);
  expect(record).toEqual({
    keyId: 'key_1', requestId: 'req_1', timestamp: '2026-11-29T12:00:00.000Z', model: 'm', provider: 'p', inputTokens: 3, outputTokens: 4,
    usageSource: 'provider', status: 200, outcome: 'ok', streamed: true, completed: true, latencyMs: 1234, expiresAt: startedAt / 1000 + 7 * 86_400,
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
