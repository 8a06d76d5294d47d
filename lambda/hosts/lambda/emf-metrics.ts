/**
 * RelayMetrics as CloudWatch embedded metric format (EMF) lines on stdout: Lambda ships them to
 * CloudWatch Logs, which turns them into metrics for the stack's alarms and dashboard. Lines are
 * built from fixed names and the usage record's content-free fields only.
 */
import type { RelayMetrics } from '../../core/metering';

export const METRIC_NAMES = {
  requests: 'Requests',
  inputTokens: 'InputTokens',
  outputTokens: 'OutputTokens',
  latency: 'Latency',
  authFailures: 'AuthFailures',
  usageWriteFailures: 'UsageWriteFailures',
  limitCheckFailures: 'LimitCheckFailures',
} as const;

export function createEmfMetrics(namespace: string, sink: (line: string) => void, now: () => number = Date.now): RelayMetrics {
  const emit = (dimensions: string[][], metrics: { name: string; unit: string; value: number }[], values: Record<string, string> = {}) => {
    const line: Record<string, unknown> = {
      _aws: {
        Timestamp: now(),
        CloudWatchMetrics: [{ Namespace: namespace, Dimensions: dimensions, Metrics: metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })) }],
      },
      ...values,
    };
    for (const metric of metrics) line[metric.name] = metric.value;
    sink(JSON.stringify(line));
  };
  return {
    requestFinished(record) {
      emit(
        [[], ['Status'], ['Model']],
        [
          { name: METRIC_NAMES.requests, unit: 'Count', value: 1 },
          { name: METRIC_NAMES.inputTokens, unit: 'Count', value: record.inputTokens },
          { name: METRIC_NAMES.outputTokens, unit: 'Count', value: record.outputTokens },
          { name: METRIC_NAMES.latency, unit: 'Milliseconds', value: record.latencyMs },
        ],
        { Status: String(record.status), Model: record.model },
      );
    },
    authFailed() {
      emit([[]], [{ name: METRIC_NAMES.authFailures, unit: 'Count', value: 1 }]);
    },
    usageWriteFailed() {
      emit([[]], [{ name: METRIC_NAMES.usageWriteFailures, unit: 'Count', value: 1 }]);
    },
    limitCheckFailed() {
      emit([[]], [{ name: METRIC_NAMES.limitCheckFailures, unit: 'Count', value: 1 }]);
    },
  };
}
