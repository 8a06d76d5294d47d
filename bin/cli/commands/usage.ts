/** `mixroute usage`: requests, tokens, errors and latency per key or model over the last 7 days at most. */
import { parseDuration } from '../../../lambda/admin/durations';
import { summariseUsage, type UsageGrouping } from '../../../lambda/admin/usage-report';
import { USAGE_RETENTION_DAYS } from '../../../lambda/core/usage';
import { UsageError, type Command } from '../command';
import { csvCell, table } from '../io';

export const usage: Command = {
  name: 'usage',
  summary: 'requests, tokens, errors and latency over the last 7 days at most',
  synopsis: '[--since 24h] [--by key|model] [--json|--csv]',
  description: 'Requests, input/output tokens (with cached, cache-write and reasoning tokens), errors and p50/p99\nlatency per key or model, from the usage table (7 days at most; expired records are excluded).',
  options: { since: { type: 'string', default: '24h' }, by: { type: 'string', default: 'key' }, csv: { type: 'boolean', default: false } },
  target: true,
  extraHelp: '  --csv              comma-separated values with a header line',
  examples: ['npx mixroute usage', 'npx mixroute usage --since 7d --by model --csv > usage.csv', 'npx mixroute usage --stack Mixroute --json'],
  async run({ values, io, withTarget }) {
    const sinceMs = parseDuration(values.since as string);
    if (sinceMs === undefined) throw new UsageError(`--since: expected a duration such as 24h or 7d, got "${values.since}"`);
    if (sinceMs > USAGE_RETENTION_DAYS * 86_400_000) throw new UsageError(`--since: usage is kept ${USAGE_RETENTION_DAYS} days; ask for ${USAGE_RETENTION_DAYS}d or less`);
    if (values.by !== 'key' && values.by !== 'model') throw new UsageError(`--by: expected key or model, got "${values.by}"`);
    if (values.csv && values.json) throw new UsageError('choose one of --json and --csv');
    const by = values.by as UsageGrouping;
    return withTarget('reading usage', async (target) => {
      io.progress(`reading usage from ${target.description}`, values.json === true || values.csv === true);
      const now = Date.now();
      const records = await target.stores.usage.queryUsage({ sinceMs: now - sinceMs, nowMs: now });
      const rows = summariseUsage(records, by);
      // New columns go at the end, so scripts that read the CSV by position keep working.
      const columns = [by, 'requests', 'inputTokens', 'outputTokens', 'errors', 'estimated', 'p50LatencyMs', 'p99LatencyMs', 'cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'];
      const flat = rows.map(({ group, ...rest }) => ({ [by]: group, ...rest }) as Record<string, string | number>);
      if (values.json) io.printJson({ since: new Date(now - sinceMs).toISOString(), until: new Date(now).toISOString(), by, rows: flat });
      else if (values.csv) {
        io.print(columns.join(','));
        for (const row of flat) io.print(columns.map((c) => csvCell(String(row[c]))).join(','));
      } else if (rows.length === 0) io.print(`No usage on ${target.description} in the last ${values.since}.`);
      else table(io, flat, columns);
      return 0;
    });
  },
};
