import { createEmfMetrics, METRIC_NAMES } from '../../../lambda/hosts/lambda/emf-metrics';
import { buildUsageRecord } from '../../../lambda/core/usage';

test('emits CloudWatch EMF lines for requests, auth failures and failed usage writes, with content-free fields only', () => {
  const lines: string[] = [];
  const metrics = createEmfMetrics('Mixroute/test', (l) => lines.push(l), () => 1_700_000_000_000);
  const record = buildUsageRecord({
    keyId: 'key_1', requestId: 'req_1', startedAt: 0, finishedAt: 42, model: 'gpt-4o-mini', provider: 'openai',
    inputTokens: 10, outputTokens: 5, usageSource: 'provider', status: 200, outcome: 'ok', streamed: true, completed: true,
  });
  metrics.requestFinished?.(record);
  metrics.authFailed?.('unknown');
  metrics.usageWriteFailed?.(record);
  const [request, auth, usage] = lines.map((l) => JSON.parse(l));
  expect(request).toEqual({
    _aws: {
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [{ Namespace: 'Mixroute/test', Dimensions: [[], ['Status'], ['Model']], Metrics: [
        { Name: 'Requests', Unit: 'Count' }, { Name: 'InputTokens', Unit: 'Count' }, { Name: 'OutputTokens', Unit: 'Count' }, { Name: 'Latency', Unit: 'Milliseconds' },
      ] }],
    },
    Status: '200', Model: 'gpt-4o-mini', Requests: 1, InputTokens: 10, OutputTokens: 5, Latency: 42,
  });
  expect(auth[METRIC_NAMES.authFailures]).toBe(1);
  expect(usage[METRIC_NAMES.usageWriteFailures]).toBe(1);
  expect(lines.join('\n')).not.toMatch(/key_1|req_1/);
});
